"""How a run failed: its failure kinds, read from results.json.

Two runs "fail the same way" when the shrunk one shows the original's primary kind: for lin-kv a
non-linearizable key; for Elle (txn-*) the same anomaly type; for kafka the same bad error type;
for set-full workloads (broadcast, g-set) lost elements; for counters a final read no sum allows;
for a node fault the same fault kind. Other invalid checkers (stats, availability, ...) are kinds
too, ranked after the workload's and the nodes'.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["failure_kinds", "primary_kind"]

#: checkers whose failure says little about the system under test: ranked last
_WEAK = ("stats", "availability", "perf", "timeline", "exceptions", "net")


def _names(values: Any) -> list[str]:
    return [str(v).removeprefix(":") for v in values or ()]


#: Elle's anomalies, the most basic first (a dependency cycle before what follows from it); the
#: rest (realtime and process variants, internal, ...) after these, in Elle's order
_ELLE_RANK = ("G0", "G1c", "G1a", "G1b", "G-single-item", "G-single", "G-nonadjacent-item", "G2-item", "G2")


def _elle_rank(name: str) -> int:
    return _ELLE_RANK.index(name) if name in _ELLE_RANK else len(_ELLE_RANK)


def _workload_kinds(result: Mapping[str, Any]) -> list[str]:
    if result.get("anomaly-types"):  # Elle: txn-list-append, txn-rw-register
        return [f"anomaly {t}" for t in sorted(_names(result["anomaly-types"]), key=_elle_rank)]
    if result.get("bad-error-types"):  # kafka
        return [f"error {t}" for t in _names(result["bad-error-types"])]
    if "failures" in result and result.get("failures"):  # lin-kv (independent keys)
        return ["non-linearizable key"]
    if result.get("lost-count"):  # set-full: broadcast, g-set
        return ["lost elements"]
    if "final-reads" in result and result.get("errors"):  # counters
        return ["final read outside the acceptable sums"]
    return ["workload invalid"]


def failure_kinds(results: Mapping[str, Any]) -> list[str]:
    """Every way ``results`` (results.json's map) is invalid, the most telling first; [] if valid."""
    if results.get("valid?") is True:
        return []
    kinds: list[str] = []
    workload = results.get("workload")
    if isinstance(workload, Mapping) and workload.get("valid?") is False:
        kinds += _workload_kinds(workload)
    nodes = results.get("nodes")
    if isinstance(nodes, Mapping) and nodes.get("valid?") is False:
        kinds += [
            f"node fault {f.get('kind', '?')}" for f in nodes.get("faults") or [] if isinstance(f, Mapping)
        ]
    weak = []
    for name, result in results.items():
        if name in ("workload", "nodes", "valid?") or not isinstance(result, Mapping):
            continue
        if result.get("valid?") is False:
            weak.append(f"{name} invalid")
    kinds += sorted(weak, key=lambda k: (k.split()[0] in _WEAK, k))
    if isinstance(workload, Mapping) and workload.get("valid?") not in (True, False) and not kinds:
        kinds.append("workload unknown")
    return kinds


def primary_kind(results: Mapping[str, Any]) -> str | None:
    kinds = failure_kinds(results)
    return kinds[0] if kinds else None
