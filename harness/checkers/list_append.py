"""Elle's list-append checker, as Maelstrom's txn-list-append workload runs it (no wrapper).

A txn is a list of micro-ops ``[:r k [elements]]`` / ``[:append k v]``. Reads reveal each key's
whole version order: the longest read of a key (over ``ok`` and ``info`` ops) is its order, and
every other read must be a prefix of it. Facts from Elle 0.2.2's list_append.clj (the Elle that
Maelstrom 0.2.4 and 0.2.5-SNAPSHOT use, through Jepsen 0.3.7; jepsen-io/elle, src/elle/list_append.clj):

* per-op anomalies: ``G1a`` (an ok read holds an element a failed txn appended), ``G1b`` (an ok
  read ends at another txn's intermediate append), ``internal`` (a read disagrees with the txn's
  own earlier reads and appends), ``future-read`` (a txn reads what it appends later),
  ``duplicate-elements`` (one read holds an element twice), ``incompatible-order`` (two reads of a
  key where neither is a prefix of the other), ``dirty-update`` (a failed append followed, in a
  key's order, by an ok one), ``lost-update`` (two ok txns read the same state of a key and both
  appended to it);
* dependencies between completions (an edge with several reasons is named ww, else wr, else rw,
  as Elle's explainer asks them): **wr** (writer of a read's last element -> the reader),
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

import dataclasses
import itertools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from edn_format import Symbol

from harness.checkers.elle.cycles import (
    LIST_APPEND_LABEL_ORDER,
    PROCESS_TYPES,
    REALTIME_TYPES,
    UNKNOWN_TYPES,
    cycle_anomalies,
    result_map,
)
from harness.checkers.elle.graph import REL_NAMES, RW, WR, WW, Graph, link_process, link_realtime
from harness.checkers.elle.models import prohibited_anomaly_types
from harness.checkers.elle.nil_reads import beyond_maelstrom, maelstrom_anomalies
from harness.history import FAIL, INFO, INVOKE, OK, Keyword, Op, ckey, kw
from harness.options import ELLE_VERSIONS, MAELSTROM_ELLE, TestOptions

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
    #: Elle's list-append explainer asks ww, then wr, then rw (then realtime/process)
    label_order = LIST_APPEND_LABEL_ORDER

    def __init__(
        self,
        history: Iterable[Op],
        models: list[str],
        anomalies: Iterable[str],
        timeout_s: float,
        elle: str = ELLE_VERSIONS[0],
    ) -> None:
        self.ops = [_padded(op) for op in history if op.is_client and op.f == "txn"]
        self.elle = elle
        #: the internal cases only Elle 0.2.7 finds (see harness.checkers.elle.nil_reads)
        self.nil_read_cases: list[dict[str, Any]] = []
        self.prohibited = prohibited_anomaly_types(models, anomalies)
        self.reportable = self.prohibited | UNKNOWN_TYPES
        self.timeout_s = timeout_s
        self.anomalies: dict[str, Any] = {}
        self.oks = [i for i, op in enumerate(self.ops) if op.type == OK]
        #: ok and info completions (Elle's history+)
        self.possible = [i for i, op in enumerate(self.ops) if op.type in (OK, INFO)]
        self.raw: dict[Any, Any] = {}
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
            if (case := _internal_case(op, self.elle)) is not None:
                internal.append(case)
            if _internal_case(op, MAELSTROM_ELLE) is None and (case := _internal_case(op)) is not None:
                self.nil_read_cases.append(case)
            if (case := _future_read_case(op)) is not None:
                future.append(case)
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
            orders[k] = list(dict.fromkeys(longest))  # first appearances, in order
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

    def dirty_updates(self) -> None:
        """A failed txn's append followed, in a key's order, by an ok txn's append (Elle's
        ``dirty-update-cases``).

        The order here is Elle's: the longest read of each key over *every* client op (failed ones
        too), with no single-append inference. Walking it, an info append neither ends nor starts
        a case (the range keeps growing), a failed one starts one unless a failed one already
        did, and an ok one after a failed one is the case: the values from the failed append to
        the ok one.
        """
        writer_type: dict[tuple[Any, Any], Op] = {}
        raw: dict[Any, Any] = {}
        reads: dict[Any, dict[tuple[Any, ...], None]] = defaultdict(dict)
        for op in self.ops:
            for mop in _txn(op):
                if _f(mop) == "append":
                    if op.type != INVOKE:
                        writer_type[(ckey(mop[1]), ckey(mop[2]))] = op
                        raw[ckey(mop[2])] = mop[2]
                elif vs := _elements(mop[2]):
                    reads[ckey(mop[1])].setdefault(tuple(ckey(e) for e in vs), None)
                    for e in vs:
                        raw.setdefault(ckey(e), e)
        cases = []
        for k, distinct in reads.items():
            longest = sorted(distinct, key=len)[-1]
            order = list(dict.fromkeys(longest))
            t1: Op | None = None  # None: the initial state, which is committed
            values: list[Any] = []
            for e in order:
                t2 = writer_type.get((k, e))
                if t2 is None:
                    raise PhantomElementError(
                        f"key {self.raw.get(k, k)!r} was read with element {raw.get(e, e)!r}, "
                        "which no transaction appended"
                    )
                values.append(raw[e])
                t1_type = OK if t1 is None else t1.type
                if t2.type == INFO or (t1_type == FAIL and t2.type == FAIL):
                    continue  # we can't say yet; keep the range growing
                if t1_type == FAIL and t2.type == OK:
                    cases.append({"key": self.raw.get(k, k), "values": values, "txns": [t1, ELLIPSIS, t2]})
                t1, values = t2, [raw[e]]
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
                elif op.type == OK or mop[2] is not None:  # an info op's nil read says nothing
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


def _padded(op: Op) -> Op:
    """``op`` with two-element micro-ops (``[:r k]``, as Elle's tests write invocations) given a
    nil value, as Elle's ``[f k v]`` destructuring reads them."""
    txn = _txn(op)
    if not any(isinstance(m, list) and len(m) == 2 for m in txn):
        return op
    return dataclasses.replace(
        op, value=[[*m, None] if isinstance(m, list) and len(m) == 2 else m for m in txn]
    )


def _internal_case(op: Op, elle: str = ELLE_VERSIONS[0]) -> dict[str, Any] | None:
    """The first read that disagrees with what the txn itself read and appended before it.

    As Elle's ``op-int-case``: an append with no earlier read of the key expects ``[..., v]``
    (an unknown prefix, then v); after a read, the expected state is that read plus later appends.
    A read of nil after a read of a list (even ``[]``) disagrees, as in Elle. After a read of nil,
    Elle 0.2.2 (Maelstrom's) expects nothing: nil is falsey there. Elle 0.2.7 expects nil again
    (jepsen-io/elle commit 8a5e27b), and so do we, except that we take ``[]`` for the same empty
    state (Elle's version orders do too: both read the initial state) where 0.2.7 would call
    ``[:r x nil] [:r x []]`` internal.
    """
    known: dict[Any, list[Any] | None] = {}  # k -> full expected list (None: read nil)
    suffix: dict[Any, list[Any]] = {}  # k -> appends with an unknown prefix
    for mop in _txn(op):
        k = ckey(mop[1])
        if _f(mop) == "append":
            if k in known:
                known[k] = [*(known[k] or []), mop[2]]
            else:
                suffix[k] = [*suffix.get(k, []), mop[2]]
            continue
        v = mop[2]
        got = [ckey(e) for e in _elements(v)]
        if k in known:
            expected = known[k]
            if expected is None:
                if got and elle != MAELSTROM_ELLE:
                    return {"op": op, "mop": mop, "expected": None}
            elif v is None or got != [ckey(e) for e in expected]:
                return {"op": op, "mop": mop, "expected": expected}
        elif k in suffix:
            tail = [ckey(e) for e in suffix[k]]
            if len(got) < len(tail) or got[len(got) - len(tail) :] != tail:
                return {"op": op, "mop": mop, "expected": [ELLIPSIS, *suffix[k]]}
        known[k] = None if v is None else list(_elements(v))
        suffix.pop(k, None)
    return None


def _future_read_case(op: Op) -> dict[str, Any] | None:
    """The first append of an element the txn had already read (Elle's ``op-future-read-case``).

    The case names the first read that held the element; one case per txn at most.
    """
    first_read: dict[tuple[Any, Any], list[Any]] = {}  # (k, element) -> first read mop holding it
    for mop in _txn(op):
        k = ckey(mop[1])
        if _f(mop) == "append":
            read = first_read.get((k, ckey(mop[2])))
            if read is not None:
                return {"op": op, "mop": read, "element": mop[2]}
        else:
            for e in _elements(mop[2]):
                first_read.setdefault((k, ckey(e)), mop)
    return None


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
    anomalies: Iterable[str] = (),
    elle: str = ELLE_VERSIONS[0],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Elle's list-append result and every anomaly found (reportable or not).

    ``anomalies`` is Elle's ``:anomalies`` option (more anomalies to forbid, with those implying
    them); Maelstrom never passes it, Elle's own tests do.
    """
    a = _analysed(history, consistency_models, cycle_search_timeout, anomalies, elle)
    return result_map(a.anomalies, a.prohibited, a.reportable), a.anomalies


def _analysed(
    history: list[Op],
    consistency_models: Iterable[str],
    cycle_search_timeout: float,
    anomalies: Iterable[str],
    elle: str,
) -> _Analysis:
    a = _Analysis(history, list(consistency_models), anomalies, cycle_search_timeout, elle)
    a.per_op()
    orders = a.version_orders()
    a.dirty_updates()
    a.anomalies.update(cycle_anomalies(a.graph(orders), a, cycle_search_timeout))
    return a


def check(test: TestOptions, history: list[Op], cycle_search_timeout: float = 1.0) -> dict[str, Any]:
    """Maelstrom's txn-list-append workload result: Elle's, unwrapped.

    Anomalies a requested model allows are not in Elle's result; we list their types under
    ``"extra"`` (they never change ``valid?``). With Elle 0.2.7's rules (the default ``--elle``),
    the ``internal`` cases Maelstrom's Elle misses are labelled under ``"beyond-maelstrom"``, with
    Maelstrom's verdict; with ``--elle 0.2.2`` they are listed under ``"extra"``.
    """
    a = _analysed(history, test.consistency_models, cycle_search_timeout, (), test.elle)
    result = result_map(a.anomalies, a.prohibited, a.reportable)
    extra: dict[str, Any] = {}
    unreported = sorted(t for t in a.anomalies if t not in (result.get("anomalies") or {}))
    if unreported:
        extra["unreported-anomaly-types"] = [kw(t) for t in unreported]
    if a.nil_read_cases and test.elle == MAELSTROM_ELLE:
        extra["nil-read-internal"] = a.nil_read_cases  # Elle 0.2.7's finding, not Maelstrom's failure
    elif a.nil_read_cases:
        # Maelstrom's verdict: the same anomalies without the txns only Elle 0.2.7 finds internal
        theirs = maelstrom_anomalies(a.anomalies, a.nil_read_cases)
        maelstrom = result_map(theirs, a.prohibited, a.reportable)
        result = {**result, "beyond-maelstrom": beyond_maelstrom(a.nil_read_cases, maelstrom["valid?"])}
    if extra:
        result = {**result, "extra": extra}
    return result
