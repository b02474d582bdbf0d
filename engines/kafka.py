"""Pieces the Kafka-style log programs share: request shapes, slicing a log for ``poll_ok`` and
raising offsets.

``LocalLogs`` is the whole state of a node that keeps its logs itself: offsets are list indices,
so a poll is a slice, and committed offsets only ever rise (a running max). Given the node, it
journals every change (``common.durable``: ``["s", key, msg]``, ``["x", key, start, msgs]``,
``["c", offsets]``) and replays the journal at ``init``, so an acknowledged send or commit survives
a kill: the node writes no reply before the records are on disk. A send's record is some 4 times
the message's bytes, and every commit that raises an offset adds one the state keeps only the last
of, so the journal compacts to a snapshot: one ``"x"`` record per key with its whole log and one
``"c"`` with every offset.

The shapes (``Send``, ``Poll``, ``CommitOffsets``, ``ListCommittedOffsets``) are what every kafka
program checks a client's request against with ``common.requests.parse`` before it acts on any
of it, so a bad offset in a commit gets error 12 and commits nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from common.durable import Journal
from common.requests import NonNegativeInt, Request

if TYPE_CHECKING:
    from common.node import Node

__all__ = [
    "COMPACT_RATIO",
    "CommitOffsets",
    "ListCommittedOffsets",
    "LocalLogs",
    "Poll",
    "Send",
    "entries_from",
    "raise_offsets",
]

#: compact the journal when it is this many times its snapshot. Not durable.COMPACT_RATIO (4): a
#: send's record (8 header bytes + ``["s","key",msg]``) is about 4 times the message's bytes in
#: the snapshot, so at 4 a log of sends alone would never compact, and a restart would decode one
#: record per message (0.1 s a MB here, scripts/bench_snapshots.py) where the snapshot is one per key.
COMPACT_RATIO = 2.0


class Send(Request):
    key: str
    msg: Any  # any JSON value (Maelstrom sends integers); stored and returned as is


class Poll(Request):
    offsets: dict[str, int]  # a negative offset reads from 0


class CommitOffsets(Request):
    offsets: dict[str, NonNegativeInt]


class ListCommittedOffsets(Request):
    keys: list[str]


def entries_from(log: Sequence[Any], start: int, limit: int) -> list[list[Any]]:
    """``[[offset, message], ...]`` for at most ``limit`` messages of ``log`` from ``start`` on
    (a negative ``start`` counts as 0)."""
    start = max(0, start)
    return [[o, log[o]] for o in range(start, min(len(log), start + limit))]


def raise_offsets(committed: dict[str, int], offsets: Mapping[str, int]) -> list[str]:
    """Raise each key of ``committed`` to its offset in ``offsets`` (never lower it).

    Returns the keys that rose, so a caller can tell its peers about exactly those."""
    raised = []
    for key, offset in offsets.items():
        if offset > committed.get(key, -1):
            committed[key] = offset
            raised.append(key)
    return raised


class LocalLogs:
    """Every key's log and committed offset, in memory and, given ``node``, journaled."""

    def __init__(self, max_poll: int, node: Node | None = None) -> None:
        self.max_poll = max_poll  # messages per key per poll: bounds reply size; clients poll again
        self.logs: dict[str, list[Any]] = {}
        self.committed: dict[str, int] = {}
        self.journal = (
            Journal(node, "kafka", self._replay, snapshot=self._snapshot, compact_ratio=COMPACT_RATIO)
            if node is not None
            else None
        )

    def _replay(self, record: list[Any]) -> None:
        kind, *args = record
        if kind == "s":
            self.logs.setdefault(args[0], []).append(args[1])
        elif kind == "x":
            self._extend(*args)
        else:
            raise_offsets(self.committed, args[0])

    def _snapshot(self) -> Iterator[list[Any]]:
        """Records whose replay gives this state: each key's whole log as one extension from
        offset 0 (a key with an empty log too, so the key set matches) and every committed offset
        in one commit record."""
        for key, log in self.logs.items():
            yield ["x", key, 0, log]  # encoded before this turn ends: no copy needed
        if self.committed:
            yield ["c", self.committed]

    def append(self, key: str, message: Any) -> int:
        """Append ``message`` to ``key``'s log; its offset."""
        log = self.logs.setdefault(key, [])
        log.append(message)
        if self.journal is not None:
            self.journal.append(["s", key, message])
        return len(log) - 1

    def extend(self, key: str, start: int, messages: Sequence[Any]) -> int:
        """Copy an owner's ``messages`` from offset ``start`` into ``key``'s log if they continue
        it (a replica stays a prefix of the owner's log); the log's length."""
        before = len(self.logs.get(key, ()))
        after = self._extend(key, start, messages)
        if after > before and self.journal is not None:
            self.journal.append(["x", key, before, list(messages[before - start :])])
        return after

    def _extend(self, key: str, start: int, messages: Sequence[Any]) -> int:
        log = self.logs.setdefault(key, [])
        if start <= len(log) < start + len(messages):
            log.extend(messages[len(log) - start :])
        return len(log)

    def poll(self, offsets: Mapping[str, int]) -> dict[str, list[list[Any]]]:
        """The ``msgs`` of a ``poll_ok``. Keys with nothing at or after the requested offset are
        left out: an empty list for a key nobody ever wrote trips Jepsen's checker."""
        out = {}
        for key, start in offsets.items():
            if entries := entries_from(self.logs.get(key, ()), start, self.max_poll):
                out[key] = entries
        return out

    def commit(self, offsets: Mapping[str, int]) -> list[str]:
        """Raise the committed offsets; the keys that rose."""
        raised = raise_offsets(self.committed, offsets)
        if raised and self.journal is not None:
            self.journal.append(["c", {k: self.committed[k] for k in raised}])
        return raised

    def committed_offsets(self, keys: Iterable[str]) -> dict[str, int]:
        """The ``offsets`` of a ``list_committed_offsets_ok``: keys never committed are left out."""
        return {k: self.committed[k] for k in keys if k in self.committed}
