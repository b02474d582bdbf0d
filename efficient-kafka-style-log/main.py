#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 5c, efficient Kafka-style log: no owners, no KV; every node takes sends for every key.

* Offsets interleave: node i of N (ids sorted) gives a message ``clock * N + i``, where
  ``clock`` is its own counter, raised by one per send. Two nodes never give out the same
  offset, and one node's offsets only rise (its clock is journaled in blocks, so a restart
  resumes above it), so a ``send`` is answered at once, without a message to anyone. Offsets
  need not be contiguous.
* Every node copies its own messages to every peer in ``sync`` batches every ``SYNC_INTERVAL``:
  one one-way message carrying the messages the peer has not acknowledged, the node's *floor*
  (its clock: it will never give out a lower one) and how many of the peer's messages it holds.
  On a sync a node raises its own clock to the sender's floor, so clocks move together.
* A poll shows a message only once no lower offset can still appear: its clock is below the
  *frontier*, the least of the node's own clock and every peer's floor (all of a peer's messages
  below its floor have arrived, in order). So a consumer never skips an offset filled later, and
  a new message becomes visible about one sync after its send.
* Committed offsets are a running max per key, sent to the peers in the same syncs.

A dead or cut-off peer stops its floor: sends and polls still succeed everywhere, and messages
below the frontier are still served, but newer ones stay invisible until the peer is back. No
node can pass it: its last messages before the kill may be acknowledged yet not copied, and a
later offset shown first would make them a skip. (Showing them sooner needs each send copied
before its ``send_ok``, a round trip per send: see README.md.)

Durability: own sends, received copies, commits and clock reservations are journaled
(``common.durable``) before any reply or sync reveals them; a restarted node replays them in
``init``, resends from what each peer acknowledges, and waits for each peer's floor again.

Cost per op: sends, polls and commits cost no server message; each node sends each peer at most
one sync per ``SYNC_INTERVAL`` while anything changes (and one a second when idle), about 0.05
server messages per op at Fly.io's flags.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from typing import Any

from common import ErrorCode, Message, Node, RPCError
from common.durable import Journal
from common.requests import NonNegativeInt, Request, parse
from engines.kafka import COMPACT_RATIO, CommitOffsets, ListCommittedOffsets, Poll, Send, raise_offsets

SYNC_INTERVAL = 0.05  # seconds between syncs to each peer while anything changes
HEARTBEAT = 1.0  # a sync at least this often even when nothing changed (a lost sync is resent)
RESEND_AFTER = 0.5  # seconds without an acknowledgement before resending unacknowledged messages
MAX_POLL = 100  # messages per key per poll
MAX_BATCH = 1000  # messages per sync
RESERVE = 1 << 16  # clock values reserved per journal record


def index(node_id: str) -> int:
    """A node's place in the sorted node ids: the residue of its offsets."""
    return sorted(node.node_ids).index(node_id)


class Sync(Request):
    start: NonNegativeInt  # index in the sender's own messages of the first one in ``entries``
    entries: list[tuple[str, NonNegativeInt, Any]]  # [key, offset, msg]
    floor: NonNegativeInt  # valid once the receiver holds the sender's messages up to start+len
    acked: NonNegativeInt  # how many of the receiver's own messages the sender holds
    committed: dict[str, NonNegativeInt]


class Logs:
    """One node's copy of every log, keyed by offset, with its clock and its peers' floors."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.offsets: dict[str, list[int]] = {}  # key -> sorted offsets
        self.msgs: dict[str, dict[int, Any]] = {}  # key -> offset -> message
        self.committed: dict[str, int] = {}
        self.clock = 0  # the next clock value this node gives a message
        self.reserved = 0  # the journal holds a clock at least this high
        self.own: list[tuple[str, int, Any]] = []  # this node's messages, in the order given
        self.received: dict[str, int] = {}  # peer -> how many of its own messages we hold
        self.floor: dict[str, int] = {}  # peer -> its floor, as far as we know (memory only)
        # a commit record is kept only as the running max: commits are what compaction drops
        self.journal = Journal(
            node, "kafka-5c", self._replay, snapshot=self._snapshot, compact_ratio=COMPACT_RATIO
        )

    # -- journal ---------------------------------------------------------------------------------

    def _replay(self, record: list[Any]) -> None:
        kind, *args = record
        if kind == "s":
            self._store(*args)
            self.own.append((args[0], args[1], args[2]))
        elif kind == "r":
            peer, key, offset, msg = args
            self._store(key, offset, msg)
            self.received[peer] = self.received.get(peer, 0) + 1
        elif kind == "c":
            raise_offsets(self.committed, args[0])
        else:  # "k": a clock reservation
            self.reserved = max(self.reserved, args[0])
            self.clock = self.reserved

    def _snapshot(self) -> Iterator[list[Any]]:
        yield ["k", self.reserved]
        for key, offset, msg in self.own:
            yield ["s", key, offset, msg]
        for key, offsets in self.offsets.items():
            for offset in offsets:
                peer = sorted(self.node.node_ids)[offset % len(self.node.node_ids)]
                if peer != self.node.node_id:
                    yield ["r", peer, key, offset, self.msgs[key][offset]]
        if self.committed:
            yield ["c", self.committed]

    def _reach(self, clock: int) -> None:
        self.clock = max(self.clock, clock)
        if self.clock > self.reserved:
            self.reserved = self.clock + RESERVE
            self.journal.append(["k", self.reserved])

    def _store(self, key: str, offset: int, msg: Any) -> None:
        self.msgs.setdefault(key, {})[offset] = msg
        insort(self.offsets.setdefault(key, []), offset)

    # -- what a node does ------------------------------------------------------------------------

    def send(self, key: str, msg: Any) -> int:
        offset = self.clock * len(self.node.node_ids) + index(self.node.node_id)
        self._reach(self.clock + 1)
        self._store(key, offset, msg)
        self.own.append((key, offset, msg))
        self.journal.append(["s", key, offset, msg])
        return offset

    def frontier(self) -> int:
        """Every message with a clock below this is here, and no lower one can still be given."""
        peers = [p for p in self.node.node_ids if p != self.node.node_id]
        return min([self.clock, *(self.floor.get(p, 0) for p in peers)])

    def poll(self, starts: dict[str, int]) -> dict[str, list[list[Any]]]:
        limit = self.frontier() * len(self.node.node_ids)  # offsets below this are settled
        out = {}
        for key, start in starts.items():
            offsets = self.offsets.get(key, [])
            i = bisect_left(offsets, max(0, start))
            entries = []
            while i < len(offsets) and offsets[i] < limit and len(entries) < MAX_POLL:
                entries.append([offsets[i], self.msgs[key][offsets[i]]])
                i += 1
            if entries:  # an empty list for a key nobody wrote trips Jepsen's checker
                out[key] = entries
        return out

    def commit(self, offsets: dict[str, int]) -> list[str]:
        raised = raise_offsets(self.committed, offsets)
        if raised:
            self.journal.append(["c", {k: self.committed[k] for k in raised}])
        return raised

    def apply_sync(self, peer: str, sync: Sync) -> None:
        have = self.received.get(peer, 0)
        if sync.start > have:  # an earlier sync was lost: wait for the resend
            return
        for key, offset, msg in sync.entries[have - sync.start :]:
            self._store(key, offset, msg)
            self.journal.append(["r", peer, key, offset, msg])
        self.received[peer] = max(have, sync.start + len(sync.entries))
        if self.received[peer] == sync.start + len(sync.entries):
            self.floor[peer] = max(self.floor.get(peer, 0), sync.floor)
            self._reach(self.floor[peer])  # our next offsets come after everything we hold
        self.commit(sync.committed)

    def floor_for(self, end: int) -> int:
        """The floor a sync carrying our own messages up to ``end`` may promise."""
        if end == len(self.own):
            return self.clock
        return self.own[end][1] // len(self.node.node_ids)  # the first message not sent


node = Node()
logs = Logs(node)
acked: dict[str, int] = {}  # peer -> how many of our own messages it holds
sent: dict[str, int] = {}  # peer -> how many of our own messages we have sent it
last_sent: dict[str, tuple[Any, ...]] = {}  # peer -> (floor, received, time) of our last sync
progress: dict[str, float] = {}  # peer -> when its acknowledgement last rose (or we resent)
dirty_commits: dict[str, set[str]] = {}  # peer -> keys whose commit it has not been sent


@node.handler("send")
def send(msg: Message) -> dict[str, Any]:
    request = parse(msg, Send)
    return {"type": "send_ok", "offset": logs.send(request.key, request.msg)}


@node.handler("poll")
def poll(msg: Message) -> dict[str, Any]:
    return {"type": "poll_ok", "msgs": logs.poll(parse(msg, Poll).offsets)}


@node.handler("commit_offsets")
def commit_offsets(msg: Message) -> dict[str, Any]:
    raised = logs.commit(parse(msg, CommitOffsets).offsets)
    for keys in dirty_commits.values():
        keys.update(raised)
    return {"type": "commit_offsets_ok"}


@node.handler("list_committed_offsets")
def list_committed_offsets(msg: Message) -> dict[str, Any]:
    keys = parse(msg, ListCommittedOffsets).keys
    return {
        "type": "list_committed_offsets_ok",
        "offsets": {k: logs.committed[k] for k in keys if k in logs.committed},
    }


@node.handler("sync")
def sync(msg: Message) -> None:
    request = parse(msg, Sync)
    peer = msg.src
    if peer not in acked:  # only peers sync
        return
    n = len(node.node_ids)
    for _, offset, _ in request.entries:  # the whole request checked before anything changes
        if offset % n != index(peer) or offset // n >= request.floor:
            raise RPCError(ErrorCode.MALFORMED_REQUEST, f"offset {offset} is not {peer}'s below its floor")
    logs.apply_sync(peer, request)
    if request.acked > acked[peer]:
        progress[peer] = node.now()
    acked[peer] = request.acked
    sent[peer] = max(sent[peer], acked[peer])


def sync_to(peer: str) -> None:
    now = node.now()
    if sent[peer] > acked[peer] and now - progress[peer] > RESEND_AFTER:
        sent[peer] = acked[peer]  # a sync was lost (or its acknowledgement was): resend
        progress[peer] = now
    start = sent[peer]
    end = min(len(logs.own), start + MAX_BATCH)
    floor, received = logs.floor_for(end), logs.received.get(peer, 0)
    commits = dirty_commits[peer]
    previous = last_sent.get(peer)
    idle = end == start and not commits and previous is not None and previous[:2] == (floor, received)
    if idle and previous is not None and now - previous[2] < HEARTBEAT:
        return
    if idle:  # a heartbeat also repeats every commit, in case a sync carrying one was lost
        commits.update(logs.committed)
    node.send(
        peer,
        {
            "type": "sync",
            "start": start,
            "entries": logs.own[start:end],
            "floor": floor,
            "acked": received,
            "committed": {k: logs.committed[k] for k in commits},
        },
    )
    commits.clear()
    sent[peer] = end
    last_sent[peer] = (floor, received, now)


def tick() -> None:
    for peer in acked:
        sync_to(peer)


@node.on_init
def init() -> None:
    for peer in node.node_ids:
        if peer != node.node_id:
            acked[peer] = sent[peer] = 0
            progress[peer] = node.now()
            dirty_commits[peer] = set(logs.committed)  # after a restart: all of them, once
    node.every(SYNC_INTERVAL, tick)


if __name__ == "__main__":
    node.run()
