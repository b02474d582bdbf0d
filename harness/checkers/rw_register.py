"""Elle-style anomaly checker for txn-rw-register, as Maelstrom runs it.

Maelstrom (0.2.4+, Elle 0.2.2) checks this workload with Elle's rw-register analysis using only
"writes follow reads" to infer version orders, then strips ``cycle-search-timeout`` and sets
``valid?`` to "no anomaly types left" (so an empty transaction graph is invalid). This module
reimplements that analysis (jepsen-io/maelstrom, src/maelstrom/workload/txn_rw_register.clj;
jepsen-io/elle, src/elle/rw_register.clj):

* per-op anomalies: ``internal``, ``G1a`` (read of a failed txn's write), ``G1b`` (read of another
  txn's intermediate write), ``lost-update``;
* version graphs per key: nil precedes every value; an ok txn's external read precedes its
  external write of the same key; a cycle there is ``cyclic-versions`` (and that source is dropped).
  Maelstrom passes only ``:wfr-keys?`` (jepsen-io/maelstrom src/maelstrom/workload/txn_rw_register.clj
  leaves ``:sequential-keys?`` commented out), so version orders are never inferred from the
  transaction graph: Elle's spurious ``cyclic-versions`` there (fixed in jepsen-io/elle commit
  5cc2eca, ``ext-key-graph``) has no counterpart here;
* a transaction graph over ok txns with wr edges (unique writer of the read value), ww/rw edges
  from the version graphs, and realtime or process edges when the requested models need them;
* per strongly connected component: "cycle exists" checks per consistency model (cheap, exact,
  never time out) and a search for specific cycles (G0, G1c, G-single-item, ...) under a time
  budget, each cycle classified by the explained type of its steps;
* the reportable set for the requested ``--consistency-models``.

Everything else we find that Maelstrom would not report lives under the ``"extra"`` key and never
changes ``valid?``. One finding does, by default: Elle 0.2.7's definite nil reads (an ``internal``
case Maelstrom's Elle 0.2.2 misses), labelled under ``"beyond-maelstrom"`` with Maelstrom's own
verdict beside it; ``--elle 0.2.2`` reproduces Maelstrom's verdict (:mod:`.elle.nil_reads`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from harness.checkers.core import with_invocations
from harness.checkers.elle.cycles import (
    PROCESS_TYPES,
    REALTIME_TYPES,
    UNKNOWN_TYPES,
    cycle_anomalies,
    result_map,
)
from harness.checkers.elle.graph import (
    PROCESS,
    REL_NAMES,
    RW,
    WR,
    WW,
    Graph,
    link_process,
    link_realtime,
    sccs,
)
from harness.checkers.elle.models import anomalies_prohibited_by, friendly_boundary
from harness.checkers.elle.nil_reads import beyond_maelstrom, maelstrom_anomalies
from harness.history import FAIL, INFO, INVOKE, OK, Keyword, Op, ckey, kw
from harness.options import ELLE_VERSIONS, MAELSTROM_ELLE, TestOptions

__all__ = ["INFO", "anomalies_prohibited_by", "check", "elle_check", "extra_findings", "friendly_boundary"]

# --------------------------------------------------------------------------------------------
# Transactions


def _f(mop: Any) -> str:
    f = mop[0]
    return f.name if isinstance(f, Keyword) else str(f)


def ext_reads(txn: list[Any]) -> dict[Any, tuple[Any, Any]]:
    """ckey(k) -> (v, ckey(v)) for each key whose first micro-op in the txn is a read."""
    out: dict[Any, tuple[Any, Any]] = {}
    seen: set[Any] = set()
    for mop in txn:
        k = ckey(mop[1])
        if k in seen:
            continue
        seen.add(k)
        if _f(mop) == "r":
            out[k] = (mop[2], ckey(mop[2]))
    return out


def ext_writes(txn: list[Any]) -> dict[Any, tuple[Any, Any]]:
    """ckey(k) -> (v, ckey(v)) of the txn's final write to each key."""
    out: dict[Any, tuple[Any, Any]] = {}
    for mop in txn:
        if _f(mop) == "w":
            out[ckey(mop[1])] = (mop[2], ckey(mop[2]))
    return out


def _txn(op: Op) -> list[Any]:
    return op.value if isinstance(op.value, list) else []


def internal_case(op: Op, elle: str = ELLE_VERSIONS[0]) -> dict[str, Any] | None:
    """The first read in ``op`` that disagrees with the txn's own earlier read or write of the key.

    Elle 0.2.7 knows a key's state once the txn has read or written it, whatever the value. Elle
    0.2.2 (Maelstrom's) forgets it when that value is nil or false (falsey in Clojure), so
    ``[:r x nil] [:r x 2]`` passes there (jepsen-io/elle commit 8a5e27b, src/elle/rw_register.clj
    ``op-internal-case``).
    """
    state: dict[Any, Any] = {}
    for mop in _txn(op):
        k, v = ckey(mop[1]), ckey(mop[2])
        if _f(mop) == "w":
            state[k] = v
            continue
        if k in state:
            expected = state[k]
            known = elle != MAELSTROM_ELLE or (expected is not None and expected != ckey(False))
            if known and expected != v:
                return {"op": op, "mop": mop, "expected": _raw(op, mop[1], expected)}
        state[k] = v
    return None


def _raw(op: Op, key: Any, value_key: Any) -> Any:
    """The original (uncanonicalised) value in ``op`` whose ckey is ``value_key``."""
    for mop in _txn(op):
        if ckey(mop[1]) == ckey(key) and ckey(mop[2]) == value_key:
            return mop[2]
    return value_key


def lost_update_cases(oks: list[Op]) -> list[dict[str, Any]]:
    """Two+ ok txns that read the same first value of k and then wrote k."""
    by_kv: dict[tuple[Any, Any], list[Op]] = defaultdict(list)
    raw: dict[tuple[Any, Any], tuple[Any, Any]] = {}
    for op in oks:
        first_read: dict[Any, Any] = {}
        written: set[Any] = set()
        for mop in _txn(op):
            k = ckey(mop[1])
            if _f(mop) == "w" and k not in written:
                if k in first_read:
                    kv = (k, ckey(first_read[k]))
                    by_kv[kv].append(op)
                    raw.setdefault(kv, (mop[1], first_read[k]))
                    written.add(k)
            elif k not in first_read and _f(mop) == "r":
                first_read[k] = mop[2]
    return [
        {"key": raw[kv][0], "value": raw[kv][1], "txns": ops} for kv, ops in by_kv.items() if len(ops) >= 2
    ]


# --------------------------------------------------------------------------------------------
# The analysis


class _Analysis:
    def __init__(self, history: list[Op], models: list[str], timeout_s: float, elle: str) -> None:
        self.ops = [op for op in history if op.is_client]
        self.elle = elle
        #: the internal cases only Elle 0.2.7 finds (see harness.checkers.elle.nil_reads)
        self.nil_read_cases: list[dict[str, Any]] = []
        self.models = models
        self.timeout_s = timeout_s
        self.prohibited = anomalies_prohibited_by(models)
        self.reportable = self.prohibited | UNKNOWN_TYPES
        self.oks = [i for i, op in enumerate(self.ops) if op.type == OK]
        self.ext_r = {i: ext_reads(_txn(self.ops[i])) for i in self.oks}
        self.ext_w = {i: ext_writes(_txn(self.ops[i])) for i in self.oks}
        self.anomalies: dict[str, Any] = {}
        #: ckey -> an original key/value, to print cases with the history's own values
        self.raw: dict[Any, Any] = {}
        for op in self.ops:
            for mop in _txn(op):
                self.raw.setdefault(ckey(mop[1]), mop[1])
                self.raw.setdefault(ckey(mop[2]), mop[2])

    def vid(self, i: int) -> int:
        op = self.ops[i]
        return op.index if op.index >= 0 else i

    # ---- per-op anomalies

    def per_op(self) -> None:
        ok_ops = [self.ops[i] for i in self.oks]
        internal = [c for op in ok_ops if (c := internal_case(op, self.elle))]
        self.nil_read_cases = [
            c for op in ok_ops if internal_case(op, MAELSTROM_ELLE) is None and (c := internal_case(op))
        ]
        failed: dict[tuple[Any, Any], Op] = {}
        intermediate: dict[tuple[Any, Any], Op] = {}
        for op in self.ops:
            txn = _txn(op)
            if op.type == FAIL:
                for mop in txn:
                    if _f(mop) == "w":
                        failed[(ckey(mop[1]), ckey(mop[2]))] = op
            final: dict[Any, Any] = {}
            for mop in txn:
                if _f(mop) == "w":
                    k = ckey(mop[1])
                    if k in final:
                        intermediate[(k, final[k])] = op
                    final[k] = ckey(mop[2])
        g1a, g1b = [], []
        for op in ok_ops:
            for mop in _txn(op):
                if _f(mop) != "r":
                    continue
                kv = (ckey(mop[1]), ckey(mop[2]))
                if (writer := failed.get(kv)) is not None:
                    g1a.append({"op": op, "mop": mop, "writer": writer})
                writer = intermediate.get(kv)
                if writer is not None and writer is not op:  # reading your own is not G1b
                    g1b.append({"op": op, "mop": mop, "writer": writer})
        for name, cases in (
            ("internal", internal),
            ("G1a", g1a),
            ("G1b", g1b),
            ("lost-update", lost_update_cases(ok_ops)),
        ):
            if cases:
                self.anomalies[name] = cases

    def type_sanity(self) -> None:
        key_types = {type(mop[1]) for op in self.ops for mop in _txn(op)}
        if len(key_types) > 1:
            raise AssertionError(
                "History includes a mix of different types for transaction keys: "
                + str(sorted(t.__name__ for t in key_types))
            )

    # ---- version graphs

    def version_graphs(self) -> dict[Any, dict[Any, set[Any]]]:
        initial: dict[Any, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
        for i, op in enumerate(self.ops):
            if op.type in (INVOKE, FAIL):
                continue
            writes = self.ext_w[i] if op.type == OK else ext_writes(_txn(op))
            kvs = list(writes.items()) + (list(self.ext_r[i].items()) if op.type == OK else [])
            for k, (_v, vk) in kvs:
                if vk is not None:
                    initial[k][None].add(vk)
        wfr: dict[Any, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
        for i in self.oks:
            writes = self.ext_w[i]
            for k, (_v, vk) in self.ext_r[i].items():
                if vk is not None and k in writes:
                    wfr[k][vk].add(writes[k][1])
        merged: dict[Any, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
        for source in (initial, wfr):
            for k, g in source.items():
                for v, ws in g.items():
                    merged[k][v] |= ws
        cases = []
        for k, g in merged.items():
            vertices = set(g) | {w for ws in g.values() for w in ws}
            for comp in sccs(vertices, lambda v, g=g: g.get(v, ())):
                cases.append(
                    {
                        "key": self.raw.get(k, k),
                        "scc": frozenset(self.raw.get(v) for v in comp),
                        "sources": [kw("initial-state"), kw("wfr-keys")],
                    }
                )
        if cases:
            self.anomalies["cyclic-versions"] = cases
            return initial
        return merged

    # ---- transaction graph

    def transaction_graph(self, version_graphs: dict[Any, dict[Any, set[Any]]]) -> Graph:
        g = Graph()
        read_index: dict[Any, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(list))
        write_index: dict[Any, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i in self.oks:
            for k, (_v, vk) in self.ext_r[i].items():
                read_index[k][vk].append(i)
            for k, (_v, vk) in self.ext_w[i].items():
                write_index[k][vk].append(i)
        # wr: the unique ok writer of k=v precedes every ok txn that externally read k=v
        for k, by_value in read_index.items():
            for vk, readers in by_value.items():
                writers = write_index.get(k, {}).get(vk, [])
                if len(writers) > 1:
                    raise ValueError(
                        f"Key {k!r} had value {vk!r} written by more than one op: "
                        f"{[self.ops[w].index for w in writers]}"
                    )
                for w in writers:
                    for r in readers:
                        g.link(w, r, WR)
        # ww and rw from each direct edge of the version graphs
        for k, vg in version_graphs.items():
            k_writes, k_reads = write_index.get(k, {}), read_index.get(k, {})
            for v1, v2s in vg.items():
                v1_writes, v1_reads = k_writes.get(v1, []), k_reads.get(v1, [])
                for v2 in v2s:
                    v2_writes = k_writes.get(v2, [])
                    for b in v2_writes:
                        for a in v1_writes:
                            g.link(a, b, WW)
                        for a in v1_reads:
                            g.link(a, b, RW)
                    for a in (*v1_reads, *v1_writes, *v2_writes):
                        g.unlink_self(a)
        # Realtime (which also covers process order) or process edges, when a model needs them
        if self.reportable & REALTIME_TYPES:
            link_realtime(g, self.ops)
        elif self.reportable & PROCESS_TYPES:
            link_process(g, self.ops, self.oks)
        return g

    # ---- what the cycle search asks (harness.checkers.elle.cycles.Explainer)

    def op(self, v: int) -> Op:
        return self.ops[v]

    def step(self, a: int, b: int, rel: int) -> dict[str, Any]:
        step: dict[str, Any] = {"type": kw(REL_NAMES[rel])}
        if rel == WR:
            for k, (v, vk) in self.ext_w[a].items():
                if k in self.ext_r[b] and self.ext_r[b][k][1] == vk:
                    step.update(key=_raw_key(self.ops[a], k), value=v)
                    break
        elif rel in (WW, RW):
            src = self.ext_w[a] if rel == WW else self.ext_r[a]
            for k, (v, _vk) in src.items():
                if k in self.ext_w[b]:
                    step.update({"key": _raw_key(self.ops[a], k), "value": v, "value'": self.ext_w[b][k][0]})
                    break
        elif rel == PROCESS:
            step["process"] = self.ops[a].process
        return step


def _raw_key(op: Op, k: Any) -> Any:
    for mop in _txn(op):
        if ckey(mop[1]) == k:
            return mop[1]
    return k


def elle_check(
    history: list[Op],
    consistency_models: Iterable[str] = ("strict-serializable",),
    cycle_search_timeout: float = 1.0,
    elle: str = ELLE_VERSIONS[0],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Elle's rw-register result (before Maelstrom's wrapper) and every anomaly found."""
    a = _analysed(history, consistency_models, cycle_search_timeout, elle)
    return result_map(a.anomalies, a.prohibited, a.reportable), a.anomalies


def _analysed(
    history: list[Op], consistency_models: Iterable[str], cycle_search_timeout: float, elle: str
) -> _Analysis:
    a = _Analysis(history, list(consistency_models), cycle_search_timeout, elle)
    a.type_sanity()
    a.per_op()
    vgs = a.version_graphs()
    a.anomalies.update(cycle_anomalies(a.transaction_graph(vgs), a, cycle_search_timeout))
    return a


def maelstrom_result(result: dict[str, Any]) -> dict[str, Any]:
    """Maelstrom's wrapper: cycle-search timeouts are expected (G2 searches) and not failures, so
    they are dropped and ``valid?`` is "no anomaly type left" (an empty graph is invalid)."""
    types = [t for t in result.get("anomaly-types") or [] if t.name != "cycle-search-timeout"]
    reported = result.get("anomalies")
    if reported is not None:
        reported = {t: v for t, v in reported.items() if t != "cycle-search-timeout"}
    return {**result, "anomaly-types": types, "anomalies": reported, "valid?": not types}


def check(test: TestOptions, history: list[Op], cycle_search_timeout: float = 1.0) -> dict[str, Any]:
    """Maelstrom's txn-rw-register workload result, plus our own findings under ``"extra"`` and,
    where Elle 0.2.7 (the default ``--elle``) is stricter than Maelstrom's Elle, under
    ``"beyond-maelstrom"``."""
    a = _analysed(history, test.consistency_models, cycle_search_timeout, test.elle)
    out = maelstrom_result(result_map(a.anomalies, a.prohibited, a.reportable))
    extra = extra_findings(history, a.anomalies, set(out["anomalies"] or ()))
    if a.nil_read_cases and test.elle == MAELSTROM_ELLE:
        extra["nil-read-internal"] = a.nil_read_cases  # Elle 0.2.7's finding, not Maelstrom's failure
    elif a.nil_read_cases:
        # Maelstrom's verdict: the same anomalies without the txns only Elle 0.2.7 finds internal
        theirs = maelstrom_anomalies(a.anomalies, a.nil_read_cases)
        maelstrom = maelstrom_result(result_map(theirs, a.prohibited, a.reportable))
        out["beyond-maelstrom"] = beyond_maelstrom(a.nil_read_cases, maelstrom["valid?"])
    if extra:
        out["extra"] = extra
    return out


def extra_findings(history: list[Op], anomalies: dict[str, Any], reported: set[str]) -> dict[str, Any]:
    """What Maelstrom does not report: unreported anomaly types, garbage reads, altered txns.

    These never change ``valid?``: Maelstrom would pass such a history, and by the brief our
    verdict must be Maelstrom's.
    """
    extra: dict[str, Any] = {}
    unreported = sorted(t for t in anomalies if t not in reported and t != "cycle-search-timeout")
    if unreported:
        extra["unreported-anomaly-types"] = [kw(t) for t in unreported]
    written: set[tuple[Any, Any]] = set()
    mismatched, garbage = [], []
    for op, inv in with_invocations(history):
        for mop in _txn(op):
            if _f(mop) == "w":
                written.add((ckey(mop[1]), ckey(mop[2])))
        if op.type == OK and inv is not None and not _same_shape(_txn(inv), _txn(op)):
            mismatched.append({"invoke": inv, "ok": op})
    for op in history:
        if op.is_client and op.type == OK:
            for mop in _txn(op):
                if _f(mop) == "r" and mop[2] is not None and (ckey(mop[1]), ckey(mop[2])) not in written:
                    garbage.append({"op": op, "mop": mop})
    if garbage:
        # a read of a value no transaction ever wrote (maelstrom issue: garbage reads pass)
        extra["garbage-reads"] = garbage
    if mismatched:
        # the reply's micro-ops differ from the request's (maelstrom issue #57: not checked)
        extra["txn-mismatch"] = mismatched
    return extra


def _same_shape(request: list[Any], reply: list[Any]) -> bool:
    if len(request) != len(reply):
        return False
    for q, r in zip(request, reply, strict=True):
        if _f(q) != _f(r) or ckey(q[1]) != ckey(r[1]):
            return False
        if _f(q) == "w" and ckey(q[2]) != ckey(r[2]):
            return False
    return True
