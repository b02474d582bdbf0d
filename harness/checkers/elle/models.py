"""Elle's consistency models and anomalies, as data (facts from Elle's consistency_model.clj).

* :data:`IMPLIED_ANOMALIES`: an anomaly -> the anomalies it implies (a G0 cycle is also a G1c one);
* :data:`MODELS`: a model -> the weaker models it implies; :data:`DIRECT_PROSCRIBED`: a model ->
  the anomalies it forbids directly (a model forbids those and what every weaker model forbids);
* :func:`anomalies_prohibited_by` (models -> forbidden anomalies) and :func:`friendly_boundary`
  (anomalies found -> Elle's ``:not`` / ``:also-not``: the weakest models ruled out, and the rest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from harness.history import Keyword, kw

# Consistency models and anomalies (facts from Elle's consistency_model.clj, as data)

#: anomaly -> anomalies it implies (e.g. G0 implies G1c: a ww cycle is also a G1c candidate)
IMPLIED_ANOMALIES: dict[str, tuple[str, ...]] = {
    "G0": ("G1c", "G0-process"),
    "G0-process": ("G1c-process", "G0-realtime"),
    "G0-realtime": ("G1c-realtime",),
    "G1a": ("G1",),
    "G1b": ("G1",),
    "G1c": ("G1", "G1c-process"),
    "G1c-process": ("G1c-realtime", "G1-process"),
    "G1c-realtime": ("G1-realtime",),
    "G1": ("G1-process",),
    "G1-process": ("G1-realtime",),
    "G-single-item": ("G-single", "G-single-item-process", "G-nonadjacent-item"),
    "G-single-item-process": ("G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"),
    "G-single-item-realtime": ("G-single-realtime", "G-nonadjacent-item-realtime"),
    "G-single": ("G-nonadjacent", "GSIb", "G-single-process"),
    "G-single-process": ("G-nonadjacent-process", "G-single-realtime"),
    "G-single-realtime": ("G-nonadjacent-realtime",),
    "G-nonadjacent-item": ("G-nonadjacent", "G2-item", "G-nonadjacent-item-process"),
    "G-nonadjacent-item-process": ("G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"),
    "G-nonadjacent-item-realtime": ("G2-item-realtime", "G-nonadjacent-realtime"),
    "G-nonadjacent": ("G2", "G-nonadjacent-process"),
    "G-nonadjacent-process": ("G2-process", "G-nonadjacent-realtime"),
    "G-nonadjacent-realtime": ("G2-realtime",),
    "G2": ("G2-process",),
    "G2-item": ("G2", "G2-item-process"),
    "G2-item-process": ("G2-process", "G2-item-realtime"),
    "G2-item-realtime": ("G2-realtime",),
    "G2-process": ("G2-realtime",),
    "GSIa": ("GSI",),
    "GSIb": ("GSI",),
    "incompatible-order": ("G1a",),
    "future-read": ("G1c",),
    "dirty-update": ("G1a",),
    "lost-update": ("write-skew", "G2-item"),
    "write-skew": ("G2",),
}

#: extra "worse than" order Elle uses only to sort its cycle searches
SEVERITY: dict[str, tuple[str, ...]] = {
    "G0": ("G1c",),
    "G0-process": ("G1c-process",),
    "G0-realtime": ("G1c-realtime",),
    "G1c": ("G-single", "G2-item"),
    "G1c-process": ("G-single-process", "G2-item-process"),
    "G1c-realtime": ("G-single-realtime", "G2-item-realtime"),
    "G2": ("G0-process",),
    "G2-process": ("G0-realtime",),
}

CANONICAL_MODEL: dict[str, str] = {
    "consistent-view": "PL-2+",
    "conflict-serializable": "PL-3",
    "cursor-stability": "PL-CS",
    "forward-consistent-view": "PL-FCV",
    "monotonic-snapshot-read": "PL-MSR",
    "monotonic-view": "PL-2L",
    "read-committed": "PL-2",
    "read-uncommitted": "PL-1",
    "repeatable-read": "PL-2.99",
    "serializable": "PL-3",
    "snapshot-isolation": "PL-SI",
    "strict-serializable": "PL-SS",
    "strong-serializable": "PL-SS",
    "update-serializable": "PL-3U",
    "strong-session-read-uncommitted": "strong-session-PL-1",
    "strong-session-read-committed": "strong-session-PL-2",
    "strong-read-uncommitted": "strong-PL-1",
    "strong-read-committed": "strong-PL-2",
}

#: canonical -> friendly; where two friendly names share a canonical one, Elle's map inversion
#: keeps one (the corpus shows :strong-serializable for PL-SS) and PL-3 is pinned to serializable
FRIENDLY_MODEL: dict[str, str] = {v: k for k, v in CANONICAL_MODEL.items() if k != "strict-serializable"}
FRIENDLY_MODEL["PL-3"] = "serializable"


def canonical(model: str) -> str:
    return CANONICAL_MODEL.get(model, model)


def friendly(model: str) -> str:
    return FRIENDLY_MODEL.get(model, model)


#: model -> weaker models it implies (friendly names here; canonicalised below)
_MODELS_FRIENDLY: dict[str, tuple[str, ...]] = {
    "causal-cerone": ("read-atomic",),
    "consistent-view": ("cursor-stability", "monotonic-view"),
    "conflict-serializable": ("view-serializable",),
    "cursor-stability": ("read-committed", "PL-2"),
    "forward-consistent-view": ("consistent-view",),
    "PL-2": ("PL-1",),
    "PL-3": ("repeatable-read", "update-serializable"),
    "update-serializable": ("forward-consistent-view",),
    "monotonic-atomic-view": ("read-committed",),
    "monotonic-view": ("PL-2",),
    "monotonic-snapshot-read": ("PL-2",),
    "parallel-snapshot-isolation": ("causal-cerone", "update-atomic"),
    "prefix": ("causal-cerone",),
    "read-atomic": ("monotonic-atomic-view",),
    "read-committed": ("read-uncommitted",),
    "repeatable-read": ("cursor-stability", "monotonic-atomic-view"),
    "update-atomic": ("read-atomic",),
    "serializable": ("repeatable-read", "snapshot-isolation", "view-serializable"),
    "session-serializable": ("1SR",),
    "snapshot-isolation": (
        "forward-consistent-view",
        "monotonic-atomic-view",
        "monotonic-snapshot-read",
        "parallel-snapshot-isolation",
        "prefix",
    ),
    "strict-serializable": (
        "PL-3",
        "serializable",
        "linearizable",
        "snapshot-isolation",
        "strong-snapshot-isolation",
        "strong-session-serializable",
    ),
    "strong-session-PL-1": ("PL-1",),
    "strong-session-PL-2": ("PL-2", "strong-session-PL-1"),
    "strong-PL-1": ("strong-session-PL-1",),
    "strong-PL-2": ("strong-session-PL-2", "strong-PL-1"),
    "strong-session-serializable": ("serializable", "strong-session-snapshot-isolation"),
    "strong-session-snapshot-isolation": ("snapshot-isolation", "strong-session-PL-2"),
    "strong-serializable": ("session-serializable",),
    "strong-snapshot-isolation": ("strong-session-snapshot-isolation", "strong-PL-2"),
    "linearizable": ("sequential",),
    "sequential": ("causal",),
    "causal": ("writes-follow-reads", "PRAM"),
    "PRAM": ("monotonic-reads", "monotonic-writes", "read-your-writes"),
}

#: canonical model -> weaker canonical models
MODELS: dict[str, set[str]] = defaultdict(set)
for _m, _weaker in _MODELS_FRIENDLY.items():
    MODELS[canonical(_m)].update(canonical(w) for w in _weaker)
MODELS_IN: dict[str, set[str]] = defaultdict(set)
for _m, _weaker_set in list(MODELS.items()):
    for _w in _weaker_set:
        MODELS_IN[_w].add(_m)

#: model -> anomalies it directly proscribes (friendly or canonical names, as Elle lists them)
_DIRECT_PROSCRIBED_NAMED: dict[str, tuple[str, ...]] = {
    "causal-cerone": ("internal", "G1a"),
    "cursor-stability": ("G1", "G-cursor", "lost-update"),
    "monotonic-view": ("G1", "G-monotonic"),
    "monotonic-snapshot-read": ("G1", "G-MSR"),
    "consistent-view": ("G1", "G-single"),
    "forward-consistent-view": ("G1", "G-SIb"),
    "parallel-snapshot-isolation": ("internal", "G1a"),
    "PL-3": ("G1", "G2", "predicate-read-miss", "PL-3-cycle-exists"),
    "PL-2": ("G1", "PL-2-cycle-exists"),
    "PL-1": ("G0", "duplicate-elements", "cyclic-versions", "PL-1-cycle-exists"),
    "prefix": ("internal", "G1a"),
    "serializable": ("internal",),
    "snapshot-isolation": ("internal", "G1", "G-SI", "G-nonadjacent", "PL-SI-cycle-exists"),
    "read-atomic": ("internal", "G1a", "future-read"),
    "repeatable-read": ("G1", "G2-item", "PL-2.99-cycle-exists", "lost-update"),
    "update-atomic": ("lost-update",),
    "strict-serializable": ("G1", "G1c-realtime", "G2-realtime", "PL-SS-cycle-exists"),
    "strong-session-PL-1": ("strong-session-PL-1-cycle-exists", "G0-process"),
    "strong-session-PL-2": ("strong-session-PL-2-cycle-exists", "G1c-process"),
    "strong-PL-1": ("strong-PL-1-cycle-exists", "G0-realtime"),
    "strong-PL-2": ("strong-PL-2-cycle-exists", "G1c-realtime"),
    "strong-session-snapshot-isolation": (
        "internal",
        "G1-process",
        "G-nonadjacent-process",
        "strong-session-snapshot-isolation-cycle-exists",
    ),
    "strong-snapshot-isolation": (
        "internal",
        "G1-realtime",
        "G-nonadjacent-realtime",
        "strong-snapshot-isolation-cycle-exists",
    ),
    "strong-session-serializable": (
        "G1-process",
        "G2-process",
        "strong-session-serializable-cycle-exists",
    ),
    "update-serializable": ("G1", "G-update"),
}
#: canonical model -> anomalies it directly proscribes (on top of what weaker models proscribe).
#: Elle builds this as a graph, so two names of one model (serializable and PL-3) add up.
DIRECT_PROSCRIBED: dict[str, tuple[str, ...]] = {}
for _m, _as in _DIRECT_PROSCRIBED_NAMED.items():
    _c = canonical(_m)
    DIRECT_PROSCRIBED[_c] = tuple(dict.fromkeys((*DIRECT_PROSCRIBED.get(_c, ()), *_as)))
PROSCRIBED_BY: dict[str, set[str]] = defaultdict(set)
for _m, _as in DIRECT_PROSCRIBED.items():
    for _a in _as:
        PROSCRIBED_BY[_a].add(_m)

IMPLIED_BY: dict[str, set[str]] = defaultdict(set)
for _a, _bs in IMPLIED_ANOMALIES.items():
    for _b in _bs:
        IMPLIED_BY[_b].add(_a)

ALL_MODELS: frozenset[str] = frozenset(
    set(MODELS)
    | {w for ws in MODELS.values() for w in ws}
    | set(CANONICAL_MODEL)
    | set(CANONICAL_MODEL.values())
)


def _closure(start: Iterable[str], step: dict[str, Any]) -> set[str]:
    """Every vertex reachable from ``start`` (inclusive) following ``step``."""
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in step.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _validate_models(models: Iterable[str]) -> list[str]:
    models = list(models)
    unknown = [m for m in models if m not in ALL_MODELS]
    if unknown:
        raise ValueError(f"Unknown consistency model {unknown}; known models are: {sorted(ALL_MODELS)}")
    return [canonical(m) for m in models]


def all_implied_anomalies(anomalies: Iterable[str]) -> set[str]:
    return _closure(anomalies, IMPLIED_ANOMALIES)


def all_anomalies_implying(anomalies: Iterable[str]) -> set[str]:
    return _closure(anomalies, IMPLIED_BY)


def all_impossible_models(impossible: Iterable[str]) -> set[str]:
    """Models that cannot hold when ``impossible`` cannot: they and every stronger model."""
    return _closure(_validate_models(impossible), MODELS_IN)


def anomalies_prohibited_by(models: Iterable[str]) -> set[str]:
    implied = _closure(_validate_models(models), MODELS)
    direct = {a for m in implied for a in DIRECT_PROSCRIBED.get(m, ())}
    return all_anomalies_implying(direct)


def prohibited_anomaly_types(models: Iterable[str], anomalies: Iterable[str] = ()) -> set[str]:
    """What makes a history invalid: the anomalies ``models`` forbid, plus ``anomalies`` and every
    anomaly implying one of them (Elle's ``prohibited-anomaly-types``)."""
    return all_anomalies_implying(anomalies) | anomalies_prohibited_by(models)


def anomalies_to_impossible_models(anomalies: Iterable[str]) -> set[str]:
    direct = {m for a in all_implied_anomalies(anomalies) for m in PROSCRIBED_BY.get(a, ())}
    return all_impossible_models(direct)


def weakest_models(models: Iterable[str]) -> set[str]:
    """The members of ``models`` that no other member is weaker than."""
    ms = {canonical(m) for m in models}
    return {m for m in ms if not (_closure([m], MODELS) - {m}) & ms}


def friendly_boundary(anomalies: Iterable[str]) -> dict[str, frozenset[Keyword]]:
    """``{"not": weakest ruled-out models, "also-not": the other ruled-out models}``."""
    impossible = anomalies_to_impossible_models(anomalies)
    is_not = weakest_models(impossible)
    return {
        "not": frozenset(kw(friendly(m)) for m in is_not),
        "also-not": frozenset(kw(friendly(m)) for m in impossible - is_not),
    }


def _topo_depths() -> dict[str, int]:
    """Depth of each anomaly in implied+severity (roots 0), as Elle orders its cycle searches."""
    edges: dict[str, set[str]] = defaultdict(set)
    for graph in (IMPLIED_ANOMALIES, SEVERITY):
        for a, bs in graph.items():
            edges[a].update(bs)
    vertices = set(edges) | {b for bs in edges.values() for b in bs}
    indegree = {v: 0 for v in vertices}
    for targets in edges.values():
        for b in targets:
            indegree[b] += 1
    depths: dict[str, int] = {}
    layer = [v for v in vertices if indegree[v] == 0]
    depth = 0
    while layer:
        nxt = []
        for v in layer:
            depths[v] = depth
            for b in edges.get(v, ()):
                indegree[b] -= 1
                if indegree[b] == 0:
                    nxt.append(b)
        layer, depth = nxt, depth + 1
    for anomalies in DIRECT_PROSCRIBED.values():
        for a in anomalies:
            depths[a] = max(depths.get(a, 0), 0)
    return depths


ANOMALY_DEPTHS = _topo_depths()
