#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 4: a grow-only counter, exact under partitions, with seq-kv as the store of record.

Design (see README.md):

* Each node owns one seq-kv key, ``count-<node id>``, that only it writes: the sum of the adds it
  acknowledged. Adds are acknowledged from memory and written behind, coalesced, at most once per
  sync round. Since a node's own value only grows, each such write changes seq-kv's state and so
  lands on its newest state.
* Reads are answered from memory: own count + the largest count seen for every other node (counts
  only grow, so the cache keeps the max and a stale read can never move it backwards).
* One background sync round: first a write that is sure to create a new seq-kv state (the node's
  own count when it changed, else a fresh token to ``sync-<node id>``). seq-kv then serves this
  node's later requests from that state or newer ones, so the reads of the other nodes' keys that
  follow see every write seq-kv applied before it. Without that write a node that is k states
  behind reaches the newest only by chance (probability 1/(k+1) per request), so a peer's last
  write could still be missing from its cache when the final reads come.
* Rounds run every ``--interval`` (2 s) while anything changes and back off to ``--idle-max``
  (4 s) when nothing does: about 0.12 server messages per client op (every seq-kv request and
  reply is one). Only final reads are judged, and a peer's last flush comes at most one interval
  after its last add, so the 10 s quiet window still holds a forcing round of every node after
  every peer's last flush (``forcing_sim.py`` checks this schedule). The partition nemesis never
  cuts nodes off seq-kv.

* Durable: an add is acknowledged before seq-kv holds it, so the node journals its own running
  count (``common.durable``) and writes no ``add_ok`` before the record is on disk. A node killed
  and restarted replays it in ``init``, then the first round reads its seq-kv key too and keeps
  the larger (the key only ever holds counts the journal had first). Acknowledging only after the
  seq-kv write instead would cost a round trip per add, about 0.7 messages per op on its own; the
  journal costs no message.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from common import ErrorCode, Message, Node, RPCError, SeqKV
from common.durable import Journal
from common.requests import NonNegativeInt, Request, parse

#: seconds between sync rounds while something changes, and the most they back off to when idle
INTERVAL = 2.0
IDLE_MAX = 4.0


class GrowOnlyCounter:
    def __init__(self, node: Node, kv: SeqKV, interval: float, idle_max: float) -> None:
        self.node = node
        self.kv = kv
        self.interval = interval
        self.idle_max = idle_max
        #: own count seq-kv held when this process started (None until read)
        self.base: int | None = None
        #: sum of the deltas this node acknowledged, in this process and before a restart (journaled)
        self.added = 0
        # every record is the running total, so the last one is the whole state: compacted to
        # one record once the journal is large (never in a run at the official parameters)
        self.journal = Journal(node, "counter", self._replay, snapshot=lambda: [self.added])
        #: the own count seq-kv last acknowledged
        self.flushed: int | None = None
        #: the largest count seen for every other node
        self.peers: dict[str, int] = {}
        # A value for the sentinel key no earlier state can hold, even from a previous run.
        self.token = f"{node.random.getrandbits(64):016x}"
        self.nonce = 0

    @property
    def own_key(self) -> str:
        return f"count-{self.node.node_id}"

    def _replay(self, added: int) -> None:
        self.added = max(self.added, added)

    def own_count(self) -> int:
        return self.added

    def value(self) -> int:
        return self.own_count() + sum(self.peers.values())

    def add(self, delta: Any) -> None:
        if type(delta) is not int or delta < 0:
            raise RPCError(
                ErrorCode.MALFORMED_REQUEST, f"delta must be a non-negative integer, got {delta!r}"
            )
        if delta:
            self.added += delta
            self.journal.append(self.added)

    async def advance_view(self) -> bool:
        """One write that creates a new seq-kv state; True if it was the own count (changed)."""
        total = self.own_count()
        if self.base is not None and total != self.flushed:
            await self.kv.write(self.own_key, total)
            self.flushed = total
            return True
        self.nonce += 1
        await self.kv.write(f"sync-{self.node.node_id}", f"{self.token}-{self.nonce}")
        return False

    async def sync_round(self) -> bool:
        """Publish the own count and refresh the others'; True if anything changed."""
        changed = await self.advance_view()
        if self.base is None:  # first round: what seq-kv holds for us (a journal lost elsewhere)
            self.base = await self.kv.read(self.own_key, default=0)
            self.flushed = self.base
            if self.base > self.added:  # seq-kv knew more than the journal: count on from there
                self.added = self.base
                self.journal.append(self.added)
            changed = True
        peers = [n for n in self.node.node_ids if n != self.node.node_id]
        counts = await asyncio.gather(*(self.kv.read(f"count-{n}", default=0) for n in peers))
        for peer, count in zip(peers, counts, strict=True):
            if count > self.peers.get(peer, 0):
                self.peers[peer] = count
                changed = True
        return changed

    async def run(self) -> None:
        delay = self.interval
        while True:
            try:
                changed = await self.sync_round()
            except RPCError as e:  # a seq-kv timeout or error: try again next round
                self.node.log(f"sync round failed: {e}")
                changed = True
            except Exception as e:  # e.g. a garbage value under a count key: log, keep syncing
                self.node.log(f"sync round failed unexpectedly: {e!r}")
                changed = True
            delay = self.interval if changed else min(delay * 2, self.idle_max)
            await asyncio.sleep(delay)


class Add(Request):
    delta: NonNegativeInt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--interval", type=float, default=float(os.environ.get("COUNTER_SYNC_INTERVAL", INTERVAL))
    )
    parser.add_argument(
        "--idle-max", type=float, default=float(os.environ.get("COUNTER_SYNC_IDLE_MAX", IDLE_MAX))
    )
    args = parser.parse_args(argv)

    node = Node()
    counter = GrowOnlyCounter(node, SeqKV(node), args.interval, args.idle_max)

    @node.on_init
    def init() -> None:
        node.spawn(counter.run())

    @node.handler("add")
    def add(msg: Message) -> dict[str, Any]:
        delta = parse(msg, Add).delta  # the whole request, before any state changes (else 12)
        counter.add(delta)
        return {"type": "add_ok"}

    @node.handler("read")
    def read(msg: Message) -> dict[str, Any]:
        return {"type": "read_ok", "value": counter.value()}

    node.run()


if __name__ == "__main__":
    main()
