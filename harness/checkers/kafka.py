"""Jepsen's kafka checker (``jepsen.tests.kafka/checker``) as Maelstrom's kafka workload runs it.

All analysis is over client ops. Offsets, keys and messages are compared with Clojure equality
(:func:`harness.history.ckey`). The steps, in Jepsen's terms:

* **Version orders.** Per key, a log ``offset -> set of messages`` built from every poll (any
  completion type; only ``ok`` ones carry data) and from the sends of ops that *must have
  committed* (``ok``, or ``info`` with a value some ``ok`` poll read), when the offset is known.
  The *dense index* of an offset skips empty offsets. Two messages at one offset are
  ``inconsistent-offsets``; one message at two offsets of a key is a ``duplicate``.
* **lost-write**: for each key, every message whose last appearance is at or below the highest
  dense index of a message some ``ok`` poll read must itself have been read by an ``ok`` poll.
* **G1a**: an ``ok`` poll read a message whose send ``fail``ed. **precommitted-read**: an op read
  a message it sent itself.
* **int-poll-skip / int-nonmonotonic-poll** (inside one poll), **poll-skip / nonmonotonic-poll**
  (between consecutive ``ok`` polls of one process; an assign keeps only the assigned keys),
  **int-send-skip / int-nonmonotonic-send** and **nonmonotonic-send**: consecutive messages whose
  dense indices differ by more than 1 (skip) or by less than 1 (nonmonotonic).
* **unseen**: messages of ``ok`` sends no ``ok`` poll ever read.
* **Cycles** in the graph of wr edges (send -> a poll that read it) plus realtime edges (an ``ok``
  op -> every op invoked after it completed), as Elle would find them with
  ``strict-serializable``: ``G1c-realtime`` (or ``G1c``) with one shortest cycle per strongly
  connected component, plus the matching ``*-cycle-exists`` entry; a history with no edge at all is
  ``empty-transaction-graph``. Without ww edges (Maelstrom never enables them) no G0 can arise.

``valid?`` is false when any error type outside :data:`ALLOWED_ERROR_TYPES` is present.

Where Jepsen's checker throws, so do we (the caller reports ``valid?`` unknown): a read message
no op ever sent (:class:`NoWriterError`). One place where Jepsen throws by accident we analyse
instead: a key that ``ok`` polls returned only as empty lists makes Jepsen's lost-write pass index
a vector at -1 (``IndexOutOfBoundsException``; Maelstrom reports ``:workload {:valid? :unknown}``).
We treat such a key as "nothing must have been read" and finish the analysis; if it finds a bad
error the verdict is false, otherwise it is ``unknown`` (as Maelstrom's) with an ``error`` naming the
keys, so we are never laxer than Maelstrom.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from typing import Any

from harness.checkers.core import with_invocations
from harness.checkers.elle.cycles import classify
from harness.checkers.elle.graph import REALTIME, WR, sccs
from harness.history import FAIL, INFO, INVOKE, OK, UNKNOWN, Keyword, Op, ckey, kw

__all__ = ["ALLOWED_ERROR_TYPES", "NoWriterError", "analysis", "check"]

#: Error types Maelstrom's kafka test tolerates (``allowed-error-types`` with ``:sub-via #{:assign}``
#: and no ``:ww-deps``).
ALLOWED_ERROR_TYPES = frozenset(
    {"int-send-skip", "G0", "G0-process", "G0-realtime", "PL-1-cycle-exists", "strong-PL-1-cycle-exists"}
)

SEND, POLL, TXN = kw("send"), kw("poll"), kw("txn")
_TXN_FS = frozenset({"send", "poll", "txn"})
_CYCLE_SAMPLED = frozenset({"G0", "G0-process", "G0-realtime", "G1c", "G1c-process", "G1c-realtime"})


class NoWriterError(ValueError):
    """A message was read (or must have been read) that no send op in the history wrote."""


class _Op:
    """The parts of one client completion the checker needs, with keys and messages as ckeys."""

    __slots__ = ("op", "reads", "writes")

    def __init__(self, op: Op, orig: dict[Any, Any]) -> None:
        self.op = op
        # key -> [(offset or None, message)] in mop order
        self.writes: dict[Any, list[tuple[Any, Any]]] = {}
        # key -> [(offset, message)] in mop order
        self.reads: dict[Any, list[tuple[Any, Any]]] = {}
        value = op.value
        if not isinstance(value, list):
            return
        if op.f in ("send", "txn"):
            for mop in value:
                if isinstance(mop, list) and len(mop) >= 3 and mop[0] == SEND:
                    k, v = _remember(orig, mop[1]), mop[2]
                    pair = (v[0], v[1]) if isinstance(v, list) and len(v) == 2 else (None, v)
                    self.writes.setdefault(k, []).append((pair[0], _remember(orig, pair[1])))
        if op.f in ("poll", "txn"):
            for mop in value:
                if isinstance(mop, list) and len(mop) >= 2 and mop[0] == POLL and isinstance(mop[1], dict):
                    for k, pairs in mop[1].items():
                        got = self.reads.setdefault(_remember(orig, k), [])
                        for pair in pairs or ():
                            if isinstance(pair, list) and len(pair) == 2:
                                got.append((pair[0], _remember(orig, pair[1])))

    def read_values(self, k: Any) -> list[Any]:
        return [v for _, v in self.reads.get(k, ())]

    def write_values(self, k: Any) -> list[Any]:
        return [v for _, v in self.writes.get(k, ())]


def _remember(orig: dict[Any, Any], value: Any) -> Any:
    key = ckey(value)
    orig.setdefault(key, value)
    return key


class _Order:
    """One key's version order: the raw log and its dense index."""

    __slots__ = ("by_index", "by_value", "first_index", "last_index_values", "log")

    def __init__(self, log: dict[int, list[Any]]) -> None:
        self.log = log  # offset -> messages in first-seen order
        self.by_index: list[Any] = []
        self.by_value: dict[Any, int] = {}
        self.first_index: dict[Any, int] = {}
        last_index: dict[Any, int] = {}
        for offset in sorted(log):
            values = log[offset]
            i = len(self.by_index)
            self.by_index.append(values[0])
            for v in values:
                self.first_index.setdefault(v, i)
                last_index[v] = i
        # Jepsen's by-value maps each *chosen* (first) message of an offset to its latest index
        for i, v in enumerate(self.by_index):
            self.by_value[v] = i
        self.last_index_values: list[list[Any]] = [[] for _ in self.by_index]
        for v, i in last_index.items():
            self.last_index_values[i].append(v)

    def delta(self, v1: Any, v2: Any) -> tuple[int, int | None, int | None]:
        i1, i2 = self.by_value.get(v1), self.by_value.get(v2)
        return ((i2 - i1) if i1 is not None and i2 is not None else 1), i1, i2


def analysis(history: Iterable[Op]) -> dict[str, Any]:
    """Every error the history shows, as ``{type: [entries]}`` plus side results.

    Returns ``{"errors": ..., "worst-realtime-lag": ..., "crashing-keys": [...], "orig": ...}``;
    entries hold ckeys for keys/messages (``orig`` maps them back).
    """
    a = _Analysis(history)
    a.version_orders()
    a.g1a_and_precommitted()
    a.lost_writes()
    a.internal_orders()
    a.process_orders()
    unseen = _unseen(a.completions)
    if unseen is not None and unseen["unseen"]:
        a.errors["unseen"] = unseen
    a.errors.update(_cycles(a.ops, a.completions, a.writer_of, a.readers_of, a.orig))
    return {
        "errors": a.errors,
        "worst-realtime-lag": _worst_realtime_lag(a.ops, a.data_of, a.orig),
        "crashing-keys": a.crashing_keys,
        "orig": a.orig,
    }


class _Analysis:
    """The history's sends and polls, indexed; each method adds one family of errors."""

    def __init__(self, history: Iterable[Op]) -> None:
        self.ops = [op for op in history if op.is_client]
        self.orig: dict[Any, Any] = {}
        self.completions: list[_Op] = []
        self.data_of: dict[int, _Op] = {}  # id(op) -> parsed, for completions of send/poll/txn
        for op in self.ops:
            if op.type != INVOKE and op.f in _TXN_FS:
                d = _Op(op, self.orig)
                self.completions.append(d)
                self.data_of[id(op)] = d
        self.reads_by_type: dict[str, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
        self.writes_by_type: dict[str, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
        self.writer_of: dict[Any, dict[Any, _Op]] = defaultdict(dict)
        self.readers_of: dict[Any, dict[Any, list[_Op]]] = defaultdict(lambda: defaultdict(list))
        for d in self.completions:
            for k, pairs in d.reads.items():
                bucket = self.reads_by_type[d.op.type][k]
                for _, v in pairs:
                    bucket.add(v)
                    self.readers_of[k][v].append(d)
            for k, pairs in d.writes.items():
                for _, v in pairs:
                    self.writes_by_type[d.op.type][k].add(v)
                    self.writer_of[k][v] = d
        self.ok_reads = self.reads_by_type[OK]
        self.errors: dict[str, Any] = {}
        self.orders: dict[Any, _Order] = {}
        self.crashing_keys: list[Any] = []

    def order(self, k: Any) -> _Order:
        return self.orders.get(k, _EMPTY_ORDER)

    def must_have_committed(self, d: _Op) -> bool:
        if d.op.type == OK:
            return True
        if d.op.type != INFO:
            return False
        return any(v in self.ok_reads.get(k, ()) for k, pairs in d.writes.items() for _, v in pairs)

    def version_orders(self) -> None:
        """Per key, offset -> messages from polls and committed sends; inconsistent offsets, duplicates."""
        logs: dict[Any, dict[int, list[Any]]] = defaultdict(dict)

        def log_pair(k: Any, offset: Any, v: Any) -> None:
            if offset is None or offset is False:
                return
            if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
                raise ValueError(
                    f"offset {offset!r} of key {self.orig.get(k)!r} is not a non-negative integer"
                )
            values = logs[k].setdefault(offset, [])
            if v not in values:
                values.append(v)

        for d in self.completions:
            if self.must_have_committed(d):
                for k, pairs in d.writes.items():
                    for offset, v in pairs:
                        log_pair(k, offset, v)
            for k, pairs in d.reads.items():
                for offset, v in pairs:
                    log_pair(k, offset, v)
        self.orders = {k: _Order(log) for k, log in logs.items()}

        inconsistent = []
        for k, order in self.orders.items():
            for index, offset in enumerate(sorted(order.log)):
                values = order.log[offset]
                if len(values) >= 2:
                    inconsistent.append({"key": k, "offset": offset, "index": index, "values": values})
        _put(self.errors, "inconsistent-offsets", inconsistent)

        duplicates = []
        for k, order in self.orders.items():
            offsets_of: dict[Any, list[int]] = defaultdict(list)
            for offset in sorted(order.log):
                for v in order.log[offset]:
                    offsets_of[v].append(offset)
            for v, offsets in offsets_of.items():
                if len(offsets) > 1:
                    duplicates.append({"key": k, "value": v, "count": len(offsets), "offsets": offsets})
        _put(self.errors, "duplicate", duplicates)

    def g1a_and_precommitted(self) -> None:
        """G1a: an ok poll read a failed send's message; precommitted-read: an op read its own send."""
        failed = self.writes_by_type[FAIL]
        g1a = [
            {"key": k, "value": v, "writer": _op_of(self.writer_of[k].get(v)), "reader": d.op}
            for d in self.completions
            if d.op.type == OK
            for k, pairs in d.reads.items()
            for _, v in pairs
            if v in failed.get(k, ())
        ]
        _put(self.errors, "G1a", g1a)
        precommitted = []
        for d in self.completions:
            for k, pairs in d.writes.items():
                bad = {v for _, v in pairs} & set(d.read_values(k))
                if bad:
                    precommitted.append({"op": d.op, "key": k, "value": next(iter(bad))})
                    break
        _put(self.errors, "precommitted-read", precommitted)

    def lost_writes(self) -> None:
        """Every message at or below the highest index an ok poll read must have been read."""
        lost = []
        for k, vs in self.ok_reads.items():
            order = self.order(k)
            bound = max((order.first_index[v] for v in vs if v in order.first_index), default=-1)
            if bound < 0:
                # Jepsen indexes its last-index vector at -1 here and throws; see the module doc.
                self.crashing_keys.append(k)
                continue
            must_read = [v for i in range(bound + 1) for v in order.last_index_values[i]]
            # Jepsen: (first (nth last-index->values bound)), nil when that index holds no last appearance
            at_bound = order.last_index_values[bound]
            readers: Sequence[_Op | None] = (self.readers_of[k].get(at_bound[0]) if at_bound else None) or [
                None
            ]
            for v in must_read:
                if v in vs:
                    continue
                writer = self.writer_of[k].get(v)
                if writer is None:
                    raise NoWriterError(
                        f"no op sent message {self.orig.get(v)!r} to key {self.orig.get(k)!r}"
                    )
                if self.must_have_committed(writer):
                    lost.append(
                        {
                            "key": k,
                            "value": v,
                            "index": order.first_index.get(v),
                            "max-read-index": bound,
                            "writer": writer.op,
                            "max-read": _op_of(readers[0]),
                        }
                    )
        _put(self.errors, "lost-write", lost)

    def internal_orders(self) -> None:
        """Skips and nonmonotonic steps inside one poll or one send op."""
        int_poll: dict[str, list[Any]] = {"skip": [], "nonmonotonic": []}
        for d in self.completions:
            rebalanced = {
                ckey(k) for event in d.op.extra.get("rebalance-log") or () for k in event.get("keys", ())
            }
            for k, pairs in d.reads.items():
                if k not in rebalanced:
                    _internal_pairs(self.order(k), k, [v for _, v in pairs], d.op, int_poll)
        _put(self.errors, "int-poll-skip", int_poll["skip"])
        _put(self.errors, "int-nonmonotonic-poll", int_poll["nonmonotonic"])
        int_send: dict[str, list[Any]] = {"skip": [], "nonmonotonic": []}
        for d in self.completions:
            for k, pairs in d.writes.items():
                _internal_pairs(self.order(k), k, [v for _, v in pairs], d.op, int_send)
        _put(self.errors, "int-send-skip", int_send["skip"])
        _put(self.errors, "int-nonmonotonic-send", int_send["nonmonotonic"])

    def process_orders(self) -> None:
        """Between consecutive ops of one process: poll skips, nonmonotonic polls and sends."""
        by_process: dict[Any, list[Op]] = defaultdict(list)
        for op in self.ops:
            by_process[op.process].append(op)
        found: dict[str, list[Any]] = {"poll-skip": [], "nonmonotonic-poll": [], "nonmonotonic-send": []}
        for process_ops in by_process.values():
            self._process_order(process_ops, found)
        for name, entries in found.items():
            _put(self.errors, name, entries)

    def _process_order(self, process_ops: list[Op], found: dict[str, list[Any]]) -> None:
        last_reads: dict[Any, _Op] = {}
        last_sends: dict[Any, _Op] = {}
        for op in process_ops:
            if op.f in ("assign", "subscribe"):
                if op.type in (OK, INFO):
                    keep = {ckey(k) for k in op.value or ()}
                    last_reads = {k: v for k, v in last_reads.items() if k in keep}
                    last_sends = {k: v for k, v in last_sends.items() if k in keep}
                continue
            d = self.data_of.get(id(op))
            if d is None:
                continue
            if op.f in ("poll", "txn"):
                for k, pairs in d.reads.items():
                    prev = last_reads.get(k)
                    if prev is None:
                        continue
                    before, after = prev.read_values(k), [v for _, v in pairs]
                    v1 = before[-1] if before else None
                    v2 = after[0] if after else None
                    order = self.order(k)
                    delta, i1, i2 = order.delta(v1, v2)
                    if delta > 1:
                        assert i1 is not None  # delta > 1 only between two known values
                        skipped = order.by_index[i1 + 1 : i2]
                        found["poll-skip"].append(
                            {"key": k, "delta": delta, "skipped": skipped, "ops": [prev.op, op]}
                        )
                    elif delta < 1:
                        found["nonmonotonic-poll"].append(
                            {"key": k, "values": [v1, v2], "delta": delta, "ops": [prev.op, op]}
                        )
                if op.type == OK:
                    for k in d.reads:
                        last_reads[k] = d
            if op.f in ("send", "txn") and op.type in (OK, INFO):
                for k, pairs in d.writes.items():
                    prev = last_sends.get(k)
                    if prev is not None:
                        before = prev.write_values(k)
                        v1, v2 = (before[-1] if before else None), pairs[0][1]
                        delta, _, _ = self.order(k).delta(v1, v2)
                        if delta < 1:
                            found["nonmonotonic-send"].append(
                                {"key": k, "values": [v1, v2], "delta": delta, "ops": [prev.op, op]}
                            )
                    last_sends[k] = d


_EMPTY_ORDER = _Order({})


def _op_of(d: _Op | None) -> Op | None:
    return d.op if d is not None else None


def _put(errors: dict[str, Any], name: str, entries: list[Any]) -> None:
    if entries:
        errors[name] = entries


def _internal_pairs(order: _Order, k: Any, values: list[Any], op: Op, out: dict[str, list[Any]]) -> None:
    """Skips and nonmonotonic steps between consecutive values of one key in one op."""
    i1: int | None = None
    v1: Any = None
    for n, v2 in enumerate(values):
        i2 = order.by_value.get(v2)
        delta = (i2 - i1) if n and i1 is not None and i2 is not None else 1
        if delta > 1:
            assert i1 is not None and i2 is not None
            out["skip"].append(
                {
                    "key": k,
                    "values": [v1, v2],
                    "delta": delta,
                    "skipped": order.by_index[i1 + 1 : i2],
                    "op": op,
                }
            )
        elif delta < 1:
            out["nonmonotonic"].append({"key": k, "values": [v1, v2], "delta": delta, "op": op})
        i1, v1 = i2, v2


def _unseen(completions: list[_Op]) -> dict[str, Any] | None:
    """Jepsen's ``unseen`` fold over ok sends/polls, in closed form.

    Jepsen carries ``sent - polled`` from op to op with ``merge-with``, which also keeps keys found
    only in ``polled``: a key first met in a poll holds its polled values for one step. So at the end
    each key holds every ok-sent message minus every ok-polled one, except a key that the *last* ok
    op polls and no earlier ok op touched (and no ok op sent), which holds that poll's messages.
    """
    oks = [d for d in completions if d.op.type == OK]
    if not oks:
        return None
    sent: dict[Any, set[Any]] = defaultdict(set)
    polled: dict[Any, set[Any]] = defaultdict(set)
    touched_before_last: set[Any] = set()
    for d in oks:
        for k, pairs in d.writes.items():
            sent[k].update(v for _, v in pairs)
        for k, pairs in d.reads.items():
            polled[k].update(v for _, v in pairs)
    for d in oks[:-1]:
        touched_before_last.update(d.writes)
        touched_before_last.update(d.reads)
    unseen = {k: vs - polled.get(k, set()) for k, vs in sent.items()}
    last = oks[-1]
    for k, pairs in last.reads.items():
        if k not in sent and k not in touched_before_last:
            unseen[k] = {v for _, v in pairs}
    return {
        "time": last.op.time,
        "unseen": {k: len(vs) for k, vs in unseen.items() if vs},
        "messages": {k: vs for k, vs in unseen.items() if vs},
    }


def _max_offsets(d: _Op) -> dict[Any, int]:
    """``op->max-offsets``: per key the highest offset an ok/info op polled or sent."""
    if d.op.type not in (OK, INFO):
        return {}
    out: dict[Any, int] = {}
    if d.op.f in ("poll", "txn"):
        for k, pairs in d.reads.items():
            top = max((o for o, _ in pairs if o is not None), default=-1)
            out[k] = max(out.get(k, top), top)
    if d.op.f in ("send", "txn"):
        for k, pairs in d.writes.items():
            for o, _ in pairs:
                if isinstance(o, int):
                    out[k] = max(out.get(k, 0), o)
    return out


def _worst_realtime_lag(ops: list[Op], data_of: dict[int, _Op], orig: dict[Any, Any]) -> dict[str, Any]:
    """The poll with the greatest realtime lag (first of equals), Jepsen's ``realtime-lag``."""
    expired: dict[Any, list[int]] = {}
    for op in ops:
        d = data_of.get(id(op))
        if d is None:
            continue
        for k, known in _max_offsets(d).items():
            times = expired.setdefault(k, [])
            i = known
            while i >= 0 and (i >= len(times) or times[i] < 0):
                if i >= len(times):
                    times.extend([-1] * (i + 1 - len(times)))
                times[i] = op.time
                i -= 1
    offsets_of: dict[Any, dict[Any, int]] = {}
    worst: dict[str, Any] | None = None
    for op, invocation in with_invocations(ops):
        if op.type != OK:
            continue
        if op.f == "assign":
            old = offsets_of.get(op.process, {})
            fresh = {_remember(orig, k): -1 for k in op.value or ()}
            fresh.update({k: o for k, o in old.items() if k in fresh})
            offsets_of[op.process] = fresh
        elif op.f == "subscribe":
            offsets_of[op.process] = {}
        elif op.f in ("poll", "txn"):
            d = data_of[id(op)]
            start = op.time if invocation is None else invocation.time
            offsets = dict(offsets_of.get(op.process, {}))
            for k, o in _max_offsets(d).items():
                offsets[k] = max(offsets.get(k, o), o)
            for k, o in offsets.items():
                times = expired.get(k, [])
                at = times[o + 1] if o + 1 < len(times) else math.inf
                lag = max(0, start - at)
                if worst is None or lag > worst["lag"]:
                    worst = {"time": start, "process": op.process, "key": k, "lag": lag}
            offsets_of[op.process] = offsets
    return worst or {"time": 0, "lag": 0}


def _cycles(
    ops: list[Op],
    completions: list[_Op],
    writer_of: dict[Any, dict[Any, _Op]],
    readers_of: dict[Any, dict[Any, list[_Op]]],
    orig: dict[Any, Any],
) -> dict[str, list[Any]]:
    """Cycles over wr edges and realtime edges, one shortest cycle per strongly connected component.

    Realtime precedence (A completed ok before B was invoked) is an interval order with up to n^2
    pairs; a chain of "time" nodes, one per invocation in history order, carries it in O(n) edges:
    an ok completion links to the first chain node after it, chain node j links to node j+1 and to
    the completion of invocation j. Reachability between ops, hence every SCC, is unchanged.
    """
    # completion ops of send/poll/txn get node ids 0..n-1 in history order
    node_of = {id(d.op): i for i, d in enumerate(completions)}
    n = len(completions)
    succ: list[list[tuple[int, Any]]] = [[] for _ in range(n)]
    any_edge = False
    for k, by_value in readers_of.items():
        for v, readers in by_value.items():
            writer = writer_of[k].get(v)
            if writer is None:
                raise NoWriterError(f"no op sent message {orig.get(v)!r} to key {orig.get(k)!r}")
            w = node_of[id(writer.op)]
            for reader in readers:
                if reader is not writer:
                    succ[w].append((node_of[id(reader.op)], (k, v)))
                    any_edge = True

    # pair invocations with completions, per process, in history order
    position = {id(op): pos for pos, op in enumerate(ops)}
    invocations: list[tuple[int, int]] = []  # (history position of invoke, completion node)
    completion_pos: dict[int, int] = {}
    for op, inv in with_invocations(op for op in ops if op.f in ("send", "poll", "txn")):
        if id(op) in node_of:
            node = node_of[id(op)]
            completion_pos[node] = position[id(op)]
            if inv is not None:
                invocations.append((position[id(inv)], node))
    invocations.sort()
    invoke_positions = [p for p, _ in invocations]
    chain0 = n
    total = n + len(invocations)
    succ.extend([] for _ in invocations)
    for j, (_, node) in enumerate(invocations):
        if j + 1 < len(invocations):
            succ[chain0 + j].append((chain0 + j + 1, None))
        succ[chain0 + j].append((node, None))
    for node, pos in completion_pos.items():
        if completions[node].op.type == OK:
            j = bisect_right(invoke_positions, pos)
            if j < len(invocations):
                succ[node].append((chain0 + j, None))
                any_edge = True

    out: dict[str, list[Any]] = defaultdict(list)
    if not any_edge:
        return {"empty-transaction-graph": True}  # type: ignore[dict-item]
    for scc in sccs(range(total), lambda v: [w for w, _ in succ[v]]):
        members = [x for x in scc if x < n]
        if not members:
            continue
        cycle = _shortest_cycle(min(members), set(scc), succ, n)
        steps = []
        rels = []
        for _, _, label in cycle:
            if label is None:
                rels.append(REALTIME)
                steps.append({"type": kw("realtime")})
            else:
                rels.append(WR)
                steps.append({"type": kw("wr"), "key": label[0], "value": label[1]})
        name = classify(rels)
        out[name].append(
            {"type": kw(name), "cycle": [completions[a].op for a, _, _ in cycle], "steps": steps}
        )
        exists = ("strong-PL-2" if REALTIME in rels else "PL-2") + "-cycle-exists"
        out[exists].append(
            {
                "type": kw(exists),
                "scc-size": len(members),
                "scc": sorted(completions[x].op.index for x in members),
            }
        )
    return dict(out)


def _shortest_cycle(
    start: int, scc: set[int], succ: list[list[tuple[int, Any]]], n: int
) -> list[tuple[int, int, Any]]:
    """The shortest cycle through op node ``start`` inside ``scc``, as (op, next op, wr label or None)
    steps; runs of chain nodes collapse into one realtime step."""
    parent: dict[int, tuple[int, Any]] = {}
    queue = deque([start])
    seen = {start}
    found = False
    while queue and not found:
        v = queue.popleft()
        for w, label in succ[v]:
            if w not in scc:
                continue
            if w == start:
                parent[start] = (v, label)
                found = True
                break
            if w not in seen:
                seen.add(w)
                parent[w] = (v, label)
                queue.append(w)
    walked_back: list[tuple[int, int, Any]] = []
    v = start
    while True:
        prev, label = parent[v]
        walked_back.append((prev, v, label))
        if prev == start:
            break
        v = prev
    steps: list[tuple[int, int, Any]] = []
    current, via_chain = start, False
    for _, node, label in reversed(walked_back):
        if node >= n:
            via_chain = True
            continue
        steps.append((current, node, None if via_chain else label))
        current, via_chain = node, False
    return steps


def _sample(name: str, entries: list[dict[str, Any]]) -> list[Any]:
    """``condense-error``'s samples."""
    by_delta = lambda e: e["delta"]  # noqa: E731
    if name == "duplicate":
        return sorted(entries, key=lambda e: e["count"])[:32]
    if name in _CYCLE_SAMPLED:
        return sorted(entries, key=lambda e: len(e["steps"]))[:8]
    if name == "inconsistent-offsets":
        return sorted(entries, key=lambda e: len(e["values"]))[:32]
    if name in ("int-nonmonotonic-poll", "int-nonmonotonic-send", "nonmonotonic-poll", "nonmonotonic-send"):
        return sorted(entries, key=by_delta)[:8]
    if name in ("int-poll-skip", "int-send-skip", "poll-skip"):
        return sorted(entries, key=by_delta)[-8:]
    return entries


def _restore(value: Any, orig: dict[Any, Any]) -> Any:
    """Turn ckeys inside an error entry back into the history's keys and messages."""
    if isinstance(value, (Op, Keyword)) or value is None:
        return value
    if isinstance(value, (str, tuple)) and value in orig:
        return orig[value]
    if isinstance(value, dict):
        return {
            k: (_restore(v, orig) if k in ("key", "value", "values", "skipped") else v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_restore(v, orig) for v in value]
    if isinstance(value, set):
        return sorted((_restore(v, orig) for v in value), key=_sort_key)
    return value


def _sort_key(v: Any) -> tuple[int, Any]:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, v)
    return (1, repr(v)) if not isinstance(v, str) else (1, v)


def _str_keys(d: dict[Any, Any]) -> dict[Any, Any]:
    from harness.edn import StrKeys

    return StrKeys(d)


def check(test: Any, history: list[Op]) -> dict[str, Any]:
    """Maelstrom's ``:workload`` result for a kafka history (see the module doc)."""
    result = analysis(history)
    errors, orig = result["errors"], result["orig"]
    names = sorted(errors)
    bad = [name for name in names if name not in ALLOWED_ERROR_TYPES]
    lag = result["worst-realtime-lag"]
    worst = {"time": lag["time"] / 1e9}
    if "process" in lag:
        worst["process"] = lag["process"]
        worst["key"] = orig.get(lag["key"], lag["key"])
    worst["lag"] = lag["lag"] / 1e9
    info_causes: list[Any] = []
    for op in history:
        if (
            op.is_client
            and op.type == INFO
            and op.f in _TXN_FS
            and ckey(op.error) not in {ckey(c) for c in info_causes}
        ):
            info_causes.append(op.error)
    out: dict[str, Any] = {
        "valid?": not bad,
        "worst-realtime-lag": worst,
        "bad-error-types": [kw(n) for n in bad],
        "error-types": [kw(n) for n in names],
        "info-txn-causes": info_causes,
    }
    for name in names:
        entries = errors[name]
        if name == "unseen":
            messages = {
                orig.get(k, k): sorted((orig.get(v, v) for v in vs), key=_sort_key)[:32]
                for k, vs in sorted(
                    entries["messages"].items(), key=lambda kv: _sort_key(orig.get(kv[0], kv[0]))
                )
            }
            counts = {
                orig.get(k, k): c
                for k, c in sorted(
                    entries["unseen"].items(), key=lambda kv: _sort_key(orig.get(kv[0], kv[0]))
                )
            }
            out[name] = {
                "time": entries["time"],
                "unseen": _str_keys(counts),
                "messages": _str_keys(messages),
            }
        elif entries is True:
            out[name] = {"count": 1, "errs": True}
        else:
            out[name] = {"count": len(entries), "errs": _restore(_sample(name, entries), orig)}
    if result["crashing-keys"] and not bad:
        keys = sorted((orig.get(k, k) for k in result["crashing-keys"]), key=_sort_key)
        out["valid?"] = UNKNOWN
        out["error"] = (
            "ok polls returned these keys only as empty lists: "
            f"{keys[:16]}; Jepsen's lost-write analysis throws IndexOutOfBoundsException on such a "
            "history, so Maelstrom reports :unknown here. Every check passed otherwise."
        )
    return out
