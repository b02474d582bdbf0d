#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 5c, efficient Kafka-style log: each key has an owner node; no KV service at all.

* ``owner(key) = node_ids[crc32(key) % len(node_ids)]`` assigns that key's offsets from its local
  log. A ``send`` for a key this node does not own is forwarded to the owner (one round trip).
* Every node keeps a replica of every log. Owners push new entries (and commits) to each peer in
  batches every ``PUSH_INTERVAL``; a replica only ever extends its log contiguously from the
  batch's start offset, so it is always a prefix of the owner's log. Polls are served locally:
  possibly behind, never wrong, never with a gap. (No recency is required, and a client always
  talks to the same node - thread t to node t mod N, even after a crash - so it never sees a
  replica behind one it read before.)
* Committed offsets are kept (as a running max) on the node that received the commit and pushed
  to the peers with the entries; ``list_committed_offsets`` answers locally.

Durability: every node journals its logs (owned appends and replicated extensions) and commits
(``LocalLogs`` with the node), and writes no reply, ``owner_send_ok`` or ``replicate`` before they
are on disk; a restarted node replays them in ``init``. Its push state is memory only, so after a
restart it pushes its logs from offset 0 once (replicas keep what they had and answer their
lengths) and its commits to every peer again.

Cost per op: a forwarded send (about a quarter of all ops with two nodes) is 2 messages, batches
add a few per push interval, so about 0.5-0.6 server messages per op, and no CAS at all.
"""

import zlib
from typing import Any

from common import Node, RPCError, RPCTimeout
from common.requests import NonNegativeInt, Request, parse
from engines.kafka import CommitOffsets, ListCommittedOffsets, LocalLogs, Poll, Send

PUSH_INTERVAL = 0.05  # seconds between replication batches to each peer
MAX_POLL = 100  # messages per key per poll
MAX_BATCH = 1000  # messages per key per replication batch

node = Node()
local = LocalLogs(MAX_POLL, node)
acked: dict[str, dict[str, int]] = {}  # peer -> key -> length of our log the peer holds
dirty_commits: dict[str, set[str]] = {}  # peer -> keys whose commit it has not been sent
pushing: set[str] = set()  # peers with a batch in flight


class Replicate(Request):
    entries: dict[str, tuple[NonNegativeInt, list[Any]]]  # key -> [start offset, messages]
    committed: dict[str, NonNegativeInt]


def owner(key: str) -> str:
    return node.node_ids[zlib.crc32(key.encode()) % len(node.node_ids)]


@node.handler("send")
async def send(msg):
    request = parse(msg, Send)
    key, value = request.key, request.msg
    home = owner(key)
    if home == node.node_id:
        return {"type": "send_ok", "offset": local.append(key, value)}
    reply = await node.rpc(home, {"type": "owner_send", "key": key, "msg": value}, timeout=2.0)
    return {"type": "send_ok", "offset": reply["offset"]}


@node.handler("owner_send")
def owner_send(msg):
    request = parse(msg, Send)
    return {"type": "owner_send_ok", "offset": local.append(request.key, request.msg)}


@node.handler("poll")
def poll(msg):
    return {"type": "poll_ok", "msgs": local.poll(parse(msg, Poll).offsets)}


@node.handler("commit_offsets")
def commit_offsets(msg):
    raised = local.commit(parse(msg, CommitOffsets).offsets)
    for keys in dirty_commits.values():
        keys.update(raised)
    return {"type": "commit_offsets_ok"}


@node.handler("list_committed_offsets")
def list_committed_offsets(msg):
    keys = parse(msg, ListCommittedOffsets).keys
    return {"type": "list_committed_offsets_ok", "offsets": local.committed_offsets(keys)}


@node.handler("replicate")
def replicate(msg):
    request = parse(msg, Replicate)
    lengths = {}
    for key, (start, values) in request.entries.items():
        lengths[key] = local.extend(key, start, values)
    local.commit(request.committed)
    return {"type": "replicate_ok", "lengths": lengths}


async def push(peer: str) -> None:
    """One batch to ``peer``: our owned entries it lacks, and commits it has not seen."""
    mine = acked.setdefault(peer, {})
    entries = {}
    for key, log in local.logs.items():
        have = mine.get(key, 0)
        if have < len(log) and owner(key) == node.node_id:
            entries[key] = [have, log[have : have + MAX_BATCH]]
    commits = dirty_commits.setdefault(peer, set())
    sent_commits = {k: local.committed[k] for k in commits}
    if not entries and not sent_commits:
        return
    commits.clear()
    pushing.add(peer)
    try:
        reply = await node.rpc(
            peer, {"type": "replicate", "entries": entries, "committed": sent_commits}, 1.0
        )
        for key, length in reply["lengths"].items():
            mine[key] = length
    except (RPCTimeout, RPCError):
        commits.update(sent_commits)  # resend next time; entries resend from the acked point
    finally:
        pushing.discard(peer)


def tick() -> None:
    for peer in node.node_ids:
        if peer != node.node_id and peer not in pushing:
            node.spawn(push(peer))


@node.on_init
def init() -> None:
    for peer in node.node_ids:
        if peer != node.node_id:
            dirty_commits[peer] = set(local.committed)  # after a restart: all of them, once
    node.every(PUSH_INTERVAL, tick)


if __name__ == "__main__":
    node.run()
