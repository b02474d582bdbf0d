#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenges 3d and 3e, efficient broadcast: one configuration meeting both, partition-safe.

Overlay: a star. The first node is the hub; every other node (a leaf) talks only to the hub, so
any value crosses at most two hops (about 200 ms at 100 ms per hop). Maelstrom's grid would take
up to 8.

* A leaf sends each client value to the hub at once (about 2 per second per leaf, so batching
  would save almost nothing and cost latency).
* The hub batches: at most one message per leaf every ``HUB_BATCH`` seconds, carrying every value
  that leaf lacks. That message is the bulk of the traffic: 24 leaves x 1/HUB_BATCH per second.
* Reliability costs little: acks ride on the next message to the same peer, and go alone only
  when none is sent within ``ACK_DELAY``; a value unacked after ``RETRY_AFTER`` is sent again,
  which carries values across partitions once they heal. An idle cluster sends nothing.

The constants below are the challenge's configuration. ``scripts/frontier.py`` sweeps other
overlays and intervals through the ``BROADCAST_*`` environment variables (README: the frontier).
"""

import os

from common import Node
from common.gossip import Gossip, serve_broadcast

OVERLAY = "star"  # star | tree<K> (root, K inner nodes, leaves) | all (all-to-all) | topology
HUB_BATCH = 0.1  # s between a relaying node's messages to one peer (the star's hub)
LEAF_BATCH = 0.0  # s between the messages of a node that sends only its own clients' values
ACK_DELAY = 0.4  # s an ack may wait for a message to ride on
RETRY_AFTER = 1.0  # s; above 2 hops' latency + ACK_DELAY + HUB_BATCH, so retries mean real loss


def _setting(name: str, default: str) -> str:
    return os.environ.get(f"BROADCAST_{name}", default)


overlay = _setting("OVERLAY", OVERLAY)
hub_batch = float(_setting("HUB_BATCH", str(HUB_BATCH)))
leaf_batch = float(_setting("LEAF_BATCH", str(LEAF_BATCH)))
acks = _setting("ACK_DELAY", str(ACK_DELAY))  # "none": fire and forget (not partition-safe)
ack_delay = None if acks == "none" else float(acks)
retry_after = None if ack_delay is None else float(_setting("RETRY_AFTER", str(RETRY_AFTER)))

node = Node()
# all-to-all: a value's origin sends it to every node itself, so nobody passes on what it receives
gossip = Gossip(node, ack_delay=ack_delay, retry_after=retry_after, relay=overlay != "all")
serve_broadcast(node, gossip, use_topology=overlay == "topology")


def two_level_tree(ids: list[str], inner: int) -> dict[str, list[str]]:
    """The root ids[0], ``inner`` nodes under it, every other node a leaf of one of those."""
    root, mids, leaves = ids[0], ids[1 : inner + 1], ids[inner + 1 :]
    tree: dict[str, list[str]] = {root: list(mids), **{m: [root] for m in mids}}
    for i, leaf in enumerate(leaves):
        tree[mids[i % inner]].append(leaf)
        tree[leaf] = [mids[i % inner]]
    return tree


@node.on_init
def choose_overlay() -> None:
    ids = node.node_ids
    if overlay == "topology":  # Maelstrom's --topology, flooded with the hub's interval
        gossip.batch_interval = hub_batch
        return
    if overlay == "all":
        peers = [i for i in ids if i != node.node_id]
    elif overlay == "star":
        peers = ids[1:] if node.node_id == ids[0] else ids[:1]
    elif overlay.startswith("tree"):
        peers = two_level_tree(ids, int(overlay[4:]))[node.node_id]
    else:
        raise SystemExit(f"efficient-broadcast: unknown BROADCAST_OVERLAY {overlay!r}")
    gossip.set_peers(peers)
    gossip.batch_interval = hub_batch if len(peers) > 1 and overlay != "all" else leaf_batch


if __name__ == "__main__":
    node.run()
