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
  when none is sent within ``ack_delay``; a value unacked after ``retry_after`` is sent again,
  which carries values across partitions once they heal. An idle cluster sends nothing.

The three constants below are the challenge's configuration; the ack timings follow from them.
``scripts/frontier.py`` sweeps other overlays and intervals through ``BROADCAST_OVERLAY``,
``BROADCAST_HUB_BATCH`` and ``BROADCAST_LEAF_BATCH`` (README: the frontier);
``BROADCAST_ACK_DELAY=none`` turns acks off, for comparison only.
"""

import os

from common import Node
from engines.gossip import Gossip, serve_broadcast

OVERLAY = "star"  # star | tree<K> (root, K inner nodes, leaves) | all (all-to-all) | topology
HUB_BATCH = 0.1  # s between a relaying node's messages to one peer (the star's hub)
LEAF_BATCH = 0.0  # s between the messages of a node that sends only its own clients' values


def _setting(name: str, default: object) -> str:
    return os.environ.get(f"BROADCAST_{name}", str(default))


overlay = _setting("OVERLAY", OVERLAY)
hub_batch = float(_setting("HUB_BATCH", HUB_BATCH))
leaf_batch = float(_setting("LEAF_BATCH", LEAF_BATCH))
# An ack may wait ack_delay for a message to ride on: about two of the link's own messages (0.4 s
# at the hub's 0.1 s; all-to-all links carry ~2 a second each way). Acks are per link, so a retry
# only has to outlast one hop there and back plus that wait (1.0 s at the hub's 0.1 s).
acks = _setting("ACK_DELAY", 2.0 if overlay == "all" else max(0.4, 2 * max(hub_batch, leaf_batch)))
ack_delay = None if acks == "none" else float(acks)  # none: fire and forget (not partition-safe)
retry_after = None if ack_delay is None else max(1.0, ack_delay + 0.6)

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
