"""Cycle search over a dependency graph, as Elle's txn.clj does it, and the result map.

Per strongly connected component: first "cycle exists" probes per consistency model (cheap,
exact, never time out; a hit rules out the specs of every stronger model), then a search for one
short concrete cycle per anomaly spec (G0, G1c, G-single-item, ...), visited in Elle's order, each
cycle classified by the relationships of its steps (:func:`classify`). A checker supplies an
:class:`Explainer` that says what each edge means in its own terms.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict, deque
from typing import Any, Protocol

from harness.checkers.elle.graph import (
    PROCESS,
    REALTIME,
    REL_NAMES,
    RW,
    WR,
    WW,
    Graph,
    extension,
    projection,
    sccs,
)
from harness.checkers.elle.models import (
    ANOMALY_DEPTHS,
    all_implied_anomalies,
    all_impossible_models,
    anomalies_prohibited_by,
    anomalies_to_impossible_models,
    friendly,
    friendly_boundary,
)
from harness.history import UNKNOWN, Op, kw


class Explainer(Protocol):
    """What a checker tells the cycle search about its vertices and edges."""

    def vid(self, v: int) -> int:
        """The op index printed for vertex ``v`` (in ``scc`` lists)."""
        ...

    def op(self, v: int) -> Op:
        """The completion op of vertex ``v``."""
        ...

    def step(self, a: int, b: int, rel: int) -> dict[str, Any]:
        """Elle's step map for the edge a -> b explained as ``rel``: ``{"type": :ww, "key": ...}``."""
        ...


#: the order in which Elle's combined explainer asks its parts to explain an edge: rw-register
#: combines wr then ww+rw (then realtime/process); list-append combines ww, wr, rw
RW_REGISTER_LABEL_ORDER: tuple[int, ...] = (WR, WW, RW, REALTIME, PROCESS)
LIST_APPEND_LABEL_ORDER: tuple[int, ...] = (WW, WR, RW, REALTIME, PROCESS)


def explained_label(mask: int, order: tuple[int, ...] = RW_REGISTER_LABEL_ORDER) -> int:
    """The one relationship Elle's combined explainer names for an edge: the first of ``order``."""
    for rel in order:
        if mask & rel:
            return rel
    return 0


def label_order(explainer: Any) -> tuple[int, ...]:
    """An explainer's ``label_order`` attribute, else rw-register's."""
    return getattr(explainer, "label_order", RW_REGISTER_LABEL_ORDER)


class CycleSpec:
    """What a cycle of one anomaly type looks like, over explained edge labels."""

    __slots__ = ("name", "nonadjacent", "predicate", "rels", "required", "rw_count", "type")

    def __init__(
        self,
        name: str,
        rels: int,
        required: tuple[int, ...] = (),
        rw_count: str | None = None,  # None: rw allowed only if in rels; "one"; "many" (2+)
        nonadjacent: bool = False,
        type_: str | None = None,
        predicate: bool = False,
    ) -> None:
        self.name, self.rels, self.required = name, rels, required
        self.rw_count, self.nonadjacent, self.type = rw_count, nonadjacent, type_
        #: a predicate type (G-single, G-nonadjacent, G2): its cycles need a predicate edge
        self.predicate = predicate

    @property
    def allowed(self) -> int:
        return self.rels | (RW if self.rw_count else 0) | sum(set(self.required))


def _cycle_specs() -> list[CycleSpec]:
    # The predicate types (G-single, G-nonadjacent, G2) need predicate edges, which neither
    # registers nor lists have: Elle searches for them, but a cycle found is explained as the -item
    # type, never matches, and is dropped. We keep them in Elle's order only to list them as
    # searched (a timeout's does-not-contain) and never run that search.
    base = [
        CycleSpec("G0", WW),
        CycleSpec("G1c", WW | WR, required=(WR,)),
        CycleSpec("G-single-item", WW | WR, rw_count="one", type_="G-single-item"),
        CycleSpec(
            "G-nonadjacent-item", WW | WR, rw_count="many", nonadjacent=True, type_="G-nonadjacent-item"
        ),
        CycleSpec("G2-item", WW | WR | RW, rw_count="many", type_="G2-item"),
        CycleSpec("G-single", WW | WR, rw_count="one", type_="G-single", predicate=True),
        CycleSpec(
            "G-nonadjacent", WW | WR, rw_count="many", nonadjacent=True, type_="G-nonadjacent", predicate=True
        ),
        CycleSpec("G2", WW | WR | RW, rw_count="many", type_="G2", predicate=True),
    ]
    specs = list(base)
    for variant, rel in (("process", PROCESS), ("realtime", REALTIME)):
        for s in base:
            specs.append(
                CycleSpec(
                    f"{s.name}-{variant}",
                    s.rels | rel,
                    required=(*s.required, rel),
                    rw_count=s.rw_count,
                    nonadjacent=s.nonadjacent,
                    type_=f"{s.name}-{variant}" if s.type else None,
                    predicate=s.predicate,
                )
            )
    specs.sort(key=lambda s: (ANOMALY_DEPTHS.get(s.name, -1), s.name))
    return specs


CYCLE_SPECS = _cycle_specs()
#: every cycle type Elle can report (including the predicate ones we never find)
CYCLE_TYPES: frozenset[str] = frozenset(
    f"{b}{suffix}"
    for b in (
        "G0",
        "G1c",
        "G-single-item",
        "G-single",
        "G-nonadjacent-item",
        "G-nonadjacent",
        "G2-item",
        "G2",
    )
    for suffix in ("", "-process", "-realtime")
)
PROCESS_TYPES = frozenset(t for t in CYCLE_TYPES if "-process" in t)
REALTIME_TYPES = frozenset(t for t in CYCLE_TYPES if "-realtime" in t)
UNKNOWN_TYPES = frozenset({"empty-transaction-graph", "cycle-search-timeout"})

# Cycle-exists specs: (model, subgraph) where subgraph is a rel mask, or ("ext", A, B) meaning
# A ∪ (A;B): cycles mostly in A that may take single, non-adjacent hops through B.
CYCLE_EXISTS_SPECS: list[tuple[str, Any]] = [
    ("PL-1", WW),
    ("PL-2", WW | WR),
    ("PL-SI", ("ext", WW | WR, RW)),
    ("PL-2.99", WW | WR | RW),
    ("PL-3", WW | WR | RW),
    ("strong-session-PL-1", WW | PROCESS),
    ("strong-session-PL-2", WW | WR | PROCESS),
    ("strong-session-snapshot-isolation", ("ext", WW | WR | PROCESS, RW)),
    ("strong-session-serializable", WW | WR | RW | PROCESS),
    ("strong-PL-1", WW | REALTIME),
    ("strong-PL-2", WW | WR | REALTIME),
    ("strong-snapshot-isolation", ("ext", WW | WR | REALTIME, RW)),
    ("PL-SS", WW | WR | RW | REALTIME),
]


def _friendly_subgraph(sub: Any) -> list[Any]:
    """Elle's printed subgraph, e.g. [:union :ww :wwp] (predicate rels included as Elle lists them)."""

    def union(mask: int) -> list[Any]:
        out: list[Any] = [kw("union")]
        for rel, name, pred in ((WW, "ww", "wwp"), (WR, "wr", "wrp"), (RW, "rw", None)):
            if mask & rel:
                out.append(kw(name))
                if pred:
                    out.append(kw(pred))
        for rel in (PROCESS, REALTIME):
            if mask & rel:
                out.append(kw(REL_NAMES[rel]))
        return out

    if isinstance(sub, tuple):
        return [kw("extension"), union(sub[1]), [kw("union"), kw("rw"), kw("rwp")]]
    out = union(sub)
    if sub & RW:  # serializable-family subgraphs list rwp after rw
        out.insert(out.index(kw("rw")) + 1, kw("rwp"))
    return out


def classify(rels: list[int]) -> str:
    """Elle's name for a cycle whose steps are explained as ``rels`` (in cycle order).

    By the rw steps: exactly one -> G-single-item; several with two adjacent (cyclically) ->
    G2-item; several, none adjacent -> G-nonadjacent-item; none -> G1c with a wr step, else G0.
    Then ``-realtime`` with any realtime step, else ``-process`` with any process step.
    """
    rw = rels.count(RW)
    if rw == 1:
        base = "G-single-item"
    elif rw > 1:
        adjacent = any(x == y == RW for x, y in zip([rels[-1], *rels], rels, strict=False))
        base = "G2-item" if adjacent else "G-nonadjacent-item"
    elif WR in rels:
        base = "G1c"
    else:
        base = "G0"
    return base + ("-realtime" if REALTIME in rels else "-process" if PROCESS in rels else "")


def explain_cycle(g: Graph, explainer: Explainer, cycle: list[int]) -> dict[str, Any]:
    """``{"type": :G1c, "cycle": [ops, first repeated last], "steps": [one map per edge]}``."""
    order = label_order(explainer)
    rels = [explained_label(g.out[a][b], order) for a, b in itertools.pairwise(cycle)]
    steps = [explainer.step(a, b, rel) for (a, b), rel in zip(itertools.pairwise(cycle), rels, strict=True)]
    return {"type": kw(classify(rels)), "cycle": [explainer.op(v) for v in cycle], "steps": steps}


def cycle_anomalies(g: Graph, explainer: Explainer, timeout_s: float = 1.0) -> dict[str, Any]:
    """Every cycle anomaly of ``g``, grouped by type (``{"empty-transaction-graph": True}`` if empty)."""
    if not g.vertices:
        return {"empty-transaction-graph": True}
    found: dict[str, list[Any]] = defaultdict(list)
    for comp in sccs(sorted(g.vertices), lambda v: g.out.get(v, {}).keys()):
        for case in scc_cases(g, set(comp), explainer, timeout_s):
            found[case["type"].name].append(case)
    return dict(found)


def scc_cases(g: Graph, members: set[int], explainer: Explainer, timeout_s: float) -> list[dict[str, Any]]:
    """The cycle-exists cases and concrete cycles of one strongly connected component."""
    projections: dict[int, dict[int, list[int]]] = {}

    def proj(mask: int) -> dict[int, list[int]]:
        if mask not in projections:
            projections[mask] = projection(g.out, members, mask)
        return projections[mask]

    exists_cases: list[dict[str, Any]] = []
    redundant: set[str] = set()
    for model, sub in CYCLE_EXISTS_SPECS:
        if model in redundant:
            continue
        adj = extension(proj(sub[1]), proj(sub[2])) if isinstance(sub, tuple) else proj(sub)
        comps = sccs(sorted(members), lambda v, adj=adj: adj.get(v, ()), singletons_with_loops=True)
        if not comps:
            continue
        smallest = min(comps, key=len)
        exists_cases.append(
            {
                "type": kw(f"{model}-cycle-exists"),
                "not": kw(friendly(model)),
                "subgraph": _friendly_subgraph(sub),
                "scc-size": len(smallest),
                "scc": sorted(explainer.vid(v) for v in smallest),
            }
        )
        redundant |= all_impossible_models([model])
    impossible = all_impossible_models([c["not"].name for c in exists_cases])
    possible = {m for m, _ in CYCLE_EXISTS_SPECS} - impossible
    skip = CYCLE_TYPES & anomalies_prohibited_by(possible)

    cycles: list[dict[str, Any]] = []
    searched: list[str] = []
    deadline = time.monotonic() + timeout_s
    order = label_order(explainer)
    labels = {
        v: {w: explained_label(m, order) for w, m in g.out.get(v, {}).items() if w in members}
        for v in members
    }
    for spec in CYCLE_SPECS:
        if spec.name in skip:
            continue
        searched.append(spec.name)
        if spec.predicate:
            continue
        try:
            cycle = find_cycle(labels, members, spec, deadline)
        except TimeoutError:
            found_types = {c["type"].name for c in cycles}
            timeout_case = {
                "type": kw("cycle-search-timeout"),
                "anomaly-spec-type": kw(spec.name),
                "does-not-contain": [kw(t) for t in searched[:-1] if t not in found_types],
                "scc-size": len(members),
            }
            # as Elle does, some cycle of the SCC anyway, so the timeout still shows one
            fallback = explain_cycle(g, explainer, fallback_cycle(g, members))
            return [timeout_case, fallback, *exists_cases, *cycles]
        if cycle is None:
            continue
        ex = explain_cycle(g, explainer, cycle)
        if spec.type is not None and ex["type"].name != spec.type:
            continue
        cycles.append(ex)
        skip |= all_implied_anomalies([spec.name])
    return [*exists_cases, *cycles]


def find_cycle(
    labels: dict[int, dict[int, int]], members: set[int], spec: CycleSpec, deadline: float
) -> list[int] | None:
    """A short cycle whose explained labels satisfy ``spec``, or None; TimeoutError past deadline.

    Candidates are narrowed first: the cycle lies in one SCC of the subgraph of allowed labels, and
    (when the spec needs a label) passes through an edge with that label, so the search starts at
    such an edge's target and only inside that SCC. Each start is a BFS over states
    (vertex, rw count, last edge rw?, first edge rw?, required labels seen).
    """
    allowed = spec.allowed
    adj = {v: [(w, lab) for w, lab in row.items() if lab & allowed] for v, row in labels.items()}
    comp_of: dict[int, int] = {}
    for ci, comp in enumerate(sccs(sorted(members), lambda v: [w for w, _ in adj[v]])):
        for v in comp:
            comp_of[v] = ci
    if not comp_of:
        return None
    anchor = RW if spec.rw_count else (spec.required[0] if spec.required else 0)
    if anchor:
        starts = sorted(
            {w for v in comp_of for w, lab in adj[v] if lab == anchor and comp_of.get(w) == comp_of[v]}
        )
    else:
        starts = sorted(comp_of)
    need = len(spec.required)
    req_bit = {rel: 1 << i for i, rel in enumerate(spec.required)}
    full = (1 << need) - 1
    for n, start in enumerate(starts):
        if n % 16 == 0 and time.monotonic() > deadline:
            raise TimeoutError
        ci = comp_of[start]
        init = (start, 0, False, False, 0)
        parent: dict[tuple[int, int, bool, bool, int], Any] = {init: None}
        queue = deque([init])
        while queue:
            state = queue.popleft()
            v, rwc, last_rw, first_rw, seen = state
            depth_first = state == init
            for w, lab in adj[v]:
                if comp_of.get(w) != ci:
                    continue
                is_rw = lab == RW
                if not (lab & spec.rels or (is_rw and spec.rw_count) or lab in req_bit):
                    continue
                nrwc = min(rwc + is_rw, 2)
                if spec.rw_count == "one" and nrwc > 1:
                    continue
                if spec.nonadjacent and is_rw and last_rw:
                    continue
                nfirst = is_rw if depth_first else first_rw
                nseen = seen | req_bit.get(lab, 0)
                if w == start:
                    if (spec.rw_count == "one" and nrwc != 1) or (spec.rw_count == "many" and nrwc < 2):
                        continue
                    if spec.nonadjacent and is_rw and nfirst:
                        continue
                    if nseen != full:
                        continue
                    path = [start]
                    s: Any = state
                    while s is not None:
                        path.append(s[0])
                        s = parent[s]
                    path.reverse()  # start ... v, start
                    return _rotate_to(path, labels, anchor)
                nxt = (w, nrwc, is_rw, nfirst, nseen)
                if nxt not in parent:
                    parent[nxt] = state
                    queue.append(nxt)
    return None


def fallback_cycle(g: Graph, members: set[int]) -> list[int]:
    """Any cycle inside the strongly connected component ``members``, by Elle's depth-first walk:
    close the loop as soon as a successor is already on the path, else step to a new one."""
    start = min(members)
    path = [start]
    on_path = {start: 0}
    while True:
        succ = sorted(w for w in g.out.get(path[-1], {}) if w in members)
        back = [on_path[w] for w in succ if w in on_path]
        if back:
            return [*path[back[0] :], path[back[0]]]
        v = succ[0]
        on_path[v] = len(path)
        path.append(v)


def _rotate_to(path: list[int], labels: dict[int, dict[int, int]], anchor: int) -> list[int]:
    """The cycle ``path`` (first vertex repeated last) rotated to begin with an ``anchor`` edge.

    Elle's BFS takes the edge it must have (an rw edge, else a required one) as its first step,
    so its cycles read from there: ``[T1 -rw-> T2 ... T1]``.
    """
    if not anchor:
        return path
    ring = path[:-1]
    for i, (a, b) in enumerate(itertools.pairwise(path)):
        if labels[a][b] == anchor:
            rotated = ring[i:] + ring[:i]
            return [*rotated, rotated[0]]
    return path


def remove_redundant_cycle_exists(anomalies: dict[str, Any]) -> dict[str, Any]:
    """Drop "cycle exists" anomalies for models that a specific anomaly already rules out."""
    others = [t for t in anomalies if not t.endswith("-cycle-exists")]
    impossible = anomalies_to_impossible_models(others)
    omit = {f"{m}-cycle-exists" for m, _ in CYCLE_EXISTS_SPECS if m in impossible}
    return {t: v for t, v in anomalies.items() if t not in omit}


def result_map(anomalies: dict[str, Any], prohibited: set[str], reportable: set[str]) -> dict[str, Any]:
    """Elle's result: ``{"valid?": True}`` with nothing reportable, else ``valid?`` (false with a
    prohibited type, else unknown), ``anomaly-types``, ``anomalies``, ``not`` and ``also-not``
    (those two computed from every type found, reportable or not)."""
    bad = {t for t in anomalies if t in prohibited}
    kept = remove_redundant_cycle_exists({t: v for t, v in anomalies.items() if t in reportable})
    if not kept:
        return {"valid?": True}
    result: dict[str, Any] = {
        "valid?": False if bad else UNKNOWN,
        "anomaly-types": [kw(t) for t in sorted(kept)],
        "anomalies": kept,
    }
    result.update(friendly_boundary(anomalies))
    return result
