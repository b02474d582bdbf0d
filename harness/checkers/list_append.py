"""Elle's list-append checker, as Maelstrom's txn-list-append workload runs it (no wrapper).

A txn is a list of micro-ops ``[:r k [elements]]`` / ``[:append k v]``. Reads reveal each key's
whole version order: the longest read of a key (over ``ok`` and ``info`` ops) is its order, and
every other read must be a prefix of it. Facts from Elle's list_append.clj (and
``shared/reference/maelstrom-more.md`` §3):

* per-op anomalies: ``G1a`` (an ok read holds an element a failed txn appended), ``G1b`` (an ok
  read ends at another txn's intermediate append), ``internal`` (a read disagrees with the txn's
  own earlier reads and appends), ``future-read`` (a txn reads what it appends later),
  ``duplicate-elements`` (one read holds an element twice), ``incompatible-order`` (two reads of a
  key where neither is a prefix of the other), ``dirty-update`` (a failed append followed, in a
  key's order, by an ok one), ``lost-update`` (two ok txns read the same state of a key and both
  appended to it);
* dependencies between completions: **wr** (writer of a read's last element -> the reader),
  **ww** (writer of an element's predecessor -> the element's writer), **rw** (every reader that
  ended at an element's predecessor -> the element's writer), plus **realtime** or **process**
  order when a requested model forbids those variants;
* cycles through :mod:`harness.checkers.elle` (G0, G1c, G-single-item, G-nonadjacent-item,
  G2-item and their -process/-realtime forms), and Elle's result map for ``--consistency-models``.

A read element that no txn appended (a phantom) makes Elle's dirty-update check fail an
assertion, so Maelstrom's whole result becomes unknown; we raise :class:`PhantomElementError`,
which the runner's ``check_safe`` turns into an unknown workload result with the message.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from edn_format import Symbol

from harness.checkers.elle.cycles import (
    PROCESS_TYPES,
    REALTIME_TYPES,
    UNKNOWN_TYPES,
    cycle_anomalies,
    result_map,
)
from harness.checkers.elle.graph import REL_NAMES, RW, WR, WW, Graph, link_process, link_realtime
from harness.checkers.elle.models import anomalies_prohibited_by
from harness.history import FAIL, INFO, INVOKE, OK, Keyword, Op, ckey, kw
from harness.options import TestOptions

__all__ = ["PhantomElementError", "check", "elle_check"]

INIT = kw("elle.list-append/init")
ELLIPSIS = Symbol("...")


class PhantomElementError(AssertionError):
    """A read returned an element no transaction ever appended to that key."""


def _f(mop: Any) -> str:
    f = mop[0]
    return f.name if isinstance(f, Keyword) else str(f)


def _txn(op: Op) -> list[Any]:
    return op.value if isinstance(op.value, list) else []


def _elements(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


class _Analysis:
    def __init__(self, history: Iterable[Op], models: list[str], timeout_s: float) -> None:
        self.ops = [op for op in history if op.is_client and op.f == "txn"]
        self.prohibited = anomalies_prohibited_by(models)
        self.reportable = self.prohibited | UNKNOWN_TYPES
        self.timeout_s = timeout_s
        self.anomalies: dict[str, Any] = {}
        self.oks = [i for i, op in enumerate(self.ops) if op.type == OK]
        #: ok and info completions (Elle's history+)
        self.possible = [i for i, op in enumerate(self.ops) if op.type in (OK, INFO)]
        self.raw: dict[Any, Any] = {}
        self.raw_elements: dict[Any, Any] = {}
        #: (ckey k, ckey v) -> position of the ok/info op that appended it
        self.writer: dict[tuple[Any, Any], int] = {}
        #: (ckey k, ckey v) -> (position, mop index) of that append
        self.append_at: dict[tuple[Any, Any], tuple[int, int]] = {}
        for _i, op in enumerate(self.ops):
            for mop in _txn(op):
                if len(mop) == 3:
                    self.raw.setdefault(ckey(mop[1]), mop[1])
        self._type_sanity()

    def _type_sanity(self) -> None:
        for op in self.ops:
            for mop in _txn(op):
                if not isinstance(mop, list) or len(mop) != 3 or _f(mop) not in ("r", "append"):
                    raise ValueError(
                        f"unexpected txn micro-op {mop!r} in op {op.index}: expected [:r k v] or [:append k v]"
                    )
        seen: dict[tuple[Any, Any], int] = {}
        for op in self.ops:
            if op.type == INVOKE:
                continue
            for mop in _txn(op):
                if _f(mop) == "append":
                    kv = (ckey(mop[1]), ckey(mop[2]))
                    if kv in seen and seen[kv] != op.index:
                        raise ValueError(
                            f"duplicate appends: ops {seen[kv]} and {op.index} both append {mop[2]!r} to key {mop[1]!r}"
                        )
                    seen[kv] = op.index

    # ---- per-op anomalies

    def per_op(self) -> None:
        failed: dict[tuple[Any, Any], Op] = {}
        intermediate: dict[tuple[Any, Any], Op] = {}
        for op in self.ops:
            if op.type == INVOKE:
                continue
            last: dict[Any, Any] = {}
            for mop in _txn(op):
                if _f(mop) == "append":
                    k = ckey(mop[1])
                    if k in last:
                        intermediate[(k, last[k])] = op
                    last[k] = ckey(mop[2])
                    if op.type == FAIL:
                        failed[(k, ckey(mop[2]))] = op
        g1a, g1b, internal, future = [], [], [], []
        for i in self.oks:
            op = self.ops[i]
            for mop in _txn(op):
                if _f(mop) != "r":
                    continue
                k = ckey(mop[1])
                vs = _elements(mop[2])
                for e in vs:
                    if (writer := failed.get((k, ckey(e)))) is not None:
                        g1a.append({"op": op, "mop": mop, "writer": writer, "element": e})
                if vs:
                    writer = intermediate.get((k, ckey(vs[-1])))
                    if writer is not None and writer is not op:
                        g1b.append({"op": op, "mop": mop, "writer": writer, "element": vs[-1]})
            if (case := _internal_case(op)) is not None:
                internal.append(case)
            future.extend(_future_reads(op))
        self._put("G1a", g1a)
        self._put("G1b", g1b)
        self._put("internal", internal)
        self._put("future-read", future)
        self._put("lost-update", _lost_updates([self.ops[i] for i in self.oks]))
        dups = []
        for i in self.possible:
            op = self.ops[i]
            for mop in _txn(op):
                if _f(mop) == "r":
                    counts: dict[Any, list[Any]] = {}
                    for e in _elements(mop[2]):
                        counts.setdefault(ckey(e), [e, 0])[1] += 1
                    extra = {e: c for e, c in counts.values() if c > 1}
                    if extra:
                        dups.append({"op": op, "mop": mop, "duplicates": extra})
        self._put("duplicate-elements", dups)

    def _put(self, name: str, cases: list[Any]) -> None:
        if cases:
            self.anomalies[name] = cases

    # ---- version orders

    def version_orders(self) -> dict[Any, list[Any]]:
        """ckey k -> the elements (ckeys) of its longest read, in order; incompatible orders."""
        reads: dict[Any, dict[tuple[Any, ...], list[Any]]] = defaultdict(dict)
        for i in self.possible:
            for mop in _txn(self.ops[i]):
                if _f(mop) == "r" and _elements(mop[2]):
                    vs = _elements(mop[2])
                    reads[ckey(mop[1])].setdefault(tuple(ckey(e) for e in vs), vs)
                    for e in vs:
                        self.raw_elements.setdefault(ckey(e), e)
        orders: dict[Any, list[Any]] = {}
        incompatible = []
        for k, distinct in reads.items():
            by_length = sorted(distinct, key=len)
            for shorter, longer in itertools.pairwise(by_length):
                if longer[: len(shorter)] != shorter:
                    incompatible.append(
                        {"key": self.raw.get(k, k), "values": [distinct[shorter], distinct[longer]]}
                    )
                    break
            longest = by_length[-1]
            seen: set[Any] = set()
            orders[k] = [e for e in longest if not (e in seen or seen.add(e))]
        self._put("incompatible-order", incompatible)
        # a key never read non-empty but appended exactly once has that one element as its order
        appends: dict[Any, list[Any]] = defaultdict(list)
        for i in self.possible:
            for mop in _txn(self.ops[i]):
                if _f(mop) == "append":
                    appends[ckey(mop[1])].append(ckey(mop[2]))
        for k, vs in appends.items():
            if k not in orders and len(vs) == 1:
                orders[k] = vs
        return orders

    def dirty_updates(self, orders: dict[Any, list[Any]]) -> None:
        """A failed txn's append followed, in a key's order, by an ok txn's append."""
        writer_type: dict[tuple[Any, Any], Op] = {}
        raw: dict[Any, Any] = {}
        for op in self.ops:
            if op.type == INVOKE:
                continue
            for mop in _txn(op):
                if _f(mop) == "append":
                    writer_type[(ckey(mop[1]), ckey(mop[2]))] = op
                    raw[ckey(mop[2])] = mop[2]
        cases = []
        for k, order in orders.items():
            failed_at: Op | None = None
            failed_value: Any = None
            for e in order:
                op = writer_type.get((k, e))
                if op is None:
                    raise PhantomElementError(
                        f"key {self.raw.get(k, k)!r} was read with element {self.raw_elements.get(e, e)!r}, "
                        "which no transaction appended"
                    )
                if op.type == FAIL:
                    failed_at, failed_value = op, e
                elif op.type == OK and failed_at is not None:
                    cases.append(
                        {
                            "key": self.raw.get(k, k),
                            "values": [raw[failed_value], raw[e]],
                            "txns": [failed_at, ELLIPSIS, op],
                        }
                    )
                    failed_at = None
        self._put("dirty-update", cases)

    # ---- the dependency graph

    def graph(self, orders: dict[Any, list[Any]]) -> Graph:
        g = Graph()
        self.reasons: dict[tuple[int, int, int], dict[str, Any]] = {}
        for i in self.possible:
            for n, mop in enumerate(_txn(self.ops[i])):
                if _f(mop) == "append":
                    kv = (ckey(mop[1]), ckey(mop[2]))
                    self.writer[kv] = i
                    self.append_at[kv] = (i, n)
        # predecessor of each element in its key's order (INIT for the first)
        pred: dict[tuple[Any, Any], Any] = {}
        for k, order in orders.items():
            prev: Any = INIT
            for e in order:
                pred[(k, e)] = prev
                prev = e
        last_of = {k: (order[-1] if order else INIT) for k, order in orders.items()}
        #: (k, last element or INIT) -> [(reader position, mop index)]
        readers: dict[tuple[Any, Any], list[tuple[int, int]]] = defaultdict(list)
        for i in self.possible:
            op = self.ops[i]
            for n, mop in enumerate(_txn(op)):
                if _f(mop) != "r":
                    continue
                k = ckey(mop[1])
                vs = _elements(mop[2])
                if vs:
                    last = ckey(vs[-1])
                    readers[(k, last)].append((i, n))
                    w = self.writer.get((k, last))
                    if w is not None and w != i:
                        self._link(
                            g,
                            w,
                            i,
                            WR,
                            {
                                "key": mop[1],
                                "value": vs[-1],
                                "a-mop-index": self.append_at[(k, last)][1],
                                "b-mop-index": n,
                            },
                        )
                elif op.type == OK:  # info ops' nil reads say nothing
                    readers[(k, INIT)].append((i, n))
        for (k, e), (i, n) in self.append_at.items():
            p = pred.get((k, e), last_of.get(k, INIT))
            raw_e = self._raw_element(i, n)
            if p is not INIT:
                w = self.writer.get((k, p))
                if w is not None and w != i:
                    self._link(
                        g,
                        w,
                        i,
                        WW,
                        {
                            "key": self.raw.get(k, k),
                            "value": self._raw_element(*self.append_at[(k, p)]),
                            "value'": raw_e,
                            "a-mop-index": self.append_at[(k, p)][1],
                            "b-mop-index": n,
                        },
                    )
            for r, rn in readers.get((k, p), ()):
                if r != i:
                    before = (
                        INIT
                        if p is INIT
                        else self._raw_element(*self.append_at[(k, p)])
                        if (k, p) in self.append_at
                        else p
                    )
                    self._link(
                        g,
                        r,
                        i,
                        RW,
                        {
                            "key": self.raw.get(k, k),
                            "value": before,
                            "value'": raw_e,
                            "a-mop-index": rn,
                            "b-mop-index": n,
                        },
                    )
        if self.reportable & REALTIME_TYPES:
            link_realtime(g, self.ops)
        elif self.reportable & PROCESS_TYPES:
            link_process(g, self.ops, self.oks)
        return g

    def _raw_element(self, i: int, n: int) -> Any:
        return _txn(self.ops[i])[n][2]

    def _link(self, g: Graph, a: int, b: int, rel: int, reason: dict[str, Any]) -> None:
        g.link(a, b, rel)
        self.reasons.setdefault((a, b, rel), reason)

    # ---- what the cycle search asks (harness.checkers.elle.cycles.Explainer)

    def vid(self, v: int) -> int:
        op = self.ops[v]
        return op.index if op.index >= 0 else v

    def op(self, v: int) -> Op:
        return self.ops[v]

    def step(self, a: int, b: int, rel: int) -> dict[str, Any]:
        step: dict[str, Any] = {"type": kw(REL_NAMES[rel])}
        if rel in (WR, WW, RW):
            step.update(self.reasons.get((a, b, rel), {}))
        elif REL_NAMES[rel] == "realtime":
            step.update({"a'": self.ops[a], "b": self._invocation(b)})
        else:
            step["process"] = self.ops[a].process
        return step

    def _invocation(self, v: int) -> Op | None:
        op = self.ops[v]
        for i in range(v - 1, -1, -1):
            if self.ops[i].process == op.process and self.ops[i].type == INVOKE:
                return self.ops[i]
        return None


def _internal_case(op: Op) -> dict[str, Any] | None:
    """A read that disagrees with what the txn itself read and appended before it."""
    known: dict[Any, list[Any]] = {}  # k -> full expected list
    suffix: dict[Any, list[Any]] = {}  # k -> appends with an unknown prefix
    for mop in _txn(op):
        k = ckey(mop[1])
        if _f(mop) == "append":
            if k in known:
                known[k] = [*known[k], mop[2]]
            else:
                suffix[k] = [*suffix.get(k, []), mop[2]]
            continue
        vs = _elements(mop[2])
        got = [ckey(e) for e in vs]
        if k in known:
            if got != [ckey(e) for e in known[k]]:
                return {"op": op, "mop": mop, "expected": known[k]}
        elif k in suffix:
            tail = [ckey(e) for e in suffix[k]]
            if got[len(got) - len(tail) :] != tail or len(got) < len(tail):
                return {"op": op, "mop": mop, "expected": [ELLIPSIS, *suffix[k]]}
        known[k] = list(vs)
        suffix.pop(k, None)
    return None


def _future_reads(op: Op) -> list[dict[str, Any]]:
    txn = _txn(op)
    cases = []
    for n, mop in enumerate(txn):
        if _f(mop) != "r":
            continue
        k = ckey(mop[1])
        later = {ckey(m[2]): m[2] for m in txn[n + 1 :] if _f(m) == "append" and ckey(m[1]) == k}
        for e in _elements(mop[2]):
            if ckey(e) in later:
                cases.append({"op": op, "mop": mop, "element": e})
    return cases


def _lost_updates(oks: list[Op]) -> list[dict[str, Any]]:
    by_kv: dict[tuple[Any, Any], list[Op]] = defaultdict(list)
    raw: dict[tuple[Any, Any], tuple[Any, Any]] = {}
    for op in oks:
        first_read: dict[Any, Any] = {}
        appended: set[Any] = set()
        for mop in _txn(op):
            k = ckey(mop[1])
            if _f(mop) == "r":
                first_read.setdefault(k, mop[2])
            elif k in first_read and k not in appended:
                appended.add(k)
                kv = (k, ckey(first_read[k] or None))
                by_kv[kv].append(op)
                raw.setdefault(kv, (mop[1], first_read[k]))
    return [
        {"key": raw[kv][0], "value": raw[kv][1], "txns": ops} for kv, ops in by_kv.items() if len(ops) >= 2
    ]


def elle_check(
    history: list[Op],
    consistency_models: Iterable[str] = ("strict-serializable",),
    cycle_search_timeout: float = 1.0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Elle's list-append result and every anomaly found (reportable or not)."""
    a = _Analysis(history, list(consistency_models), cycle_search_timeout)
    a.per_op()
    orders = a.version_orders()
    a.dirty_updates(orders)
    a.anomalies.update(cycle_anomalies(a.graph(orders), a, cycle_search_timeout))
    return result_map(a.anomalies, a.prohibited, a.reportable), a.anomalies


def check(test: TestOptions, history: list[Op], cycle_search_timeout: float = 1.0) -> dict[str, Any]:
    """Maelstrom's txn-list-append workload result: Elle's, unwrapped.

    Anomalies a requested model allows are not in Elle's result; we list their types under
    ``"extra"`` (they never change ``valid?``).
    """
    result, anomalies = elle_check(history, test.consistency_models, cycle_search_timeout)
    unreported = sorted(t for t in anomalies if t not in (result.get("anomalies") or {}))
    if unreported:
        result = {**result, "extra": {"unreported-anomaly-types": [kw(t) for t in unreported]}}
    return result
