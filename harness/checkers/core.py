"""Checkers every test runs, and how results are composed (Jepsen's ``compose``/``check-safe``).

Results use Maelstrom's field names without the colon (see "Checker results" in
docs/architecture.md). The top-level map is ordered like Maelstrom's:
``perf timeline exceptions stats availability net workload valid?``.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from harness.history import FAIL, INFO, INVOKE, OK, UNKNOWN, Keyword, Op
from harness.options import TestOptions

__all__ = [
    "QUANTILES",
    "availability",
    "check_all",
    "check_safe",
    "compose",
    "exceptions",
    "merge_valid",
    "pairs",
    "perf",
    "quantile",
    "stats",
    "timeline",
]

#: Quantiles of the latency report, as Jepsen's perf graphs use them (1 is the maximum).
QUANTILES: tuple[float | int, ...] = (0.5, 0.95, 0.99, 1)

#: fs whose lack of an ok op does not fail :stats (Maelstrom wraps Jepsen's stats for every workload).
_STATS_IGNORED_FS = frozenset(("crash", "debug-topic-partitions"))


def merge_valid(*values: Any) -> Any:
    """The worst validity: ``False`` beats ``UNKNOWN`` beats ``True``; anything else is unknown."""
    result: Any = True
    for v in values:
        if v is False:
            return False
        if v is not True:
            result = UNKNOWN
    return result


def check_safe(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``fn(*args)``, or ``{"valid?": UNKNOWN, "error": <traceback>}`` if it raises."""
    try:
        return fn(*args)
    except Exception:
        return {"valid?": UNKNOWN, "error": traceback.format_exc()}


def compose(results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The named results in order, then ``"valid?"``: the worst of theirs."""
    out: dict[str, Any] = dict(results)
    out["valid?"] = merge_valid(
        *(r.get("valid?") if isinstance(r, Mapping) else None for r in results.values())
    )
    return out


def pairs(history: Iterable[Op]) -> Iterator[tuple[Op, Op | None]]:
    """Each client invocation with its completion (``None`` if it never completed), by process.

    Yields in completion order, then the never-completed invocations in invocation order.
    """
    open_: dict[Any, Op] = {}
    for op in history:
        if not isinstance(op.process, int):
            continue
        if op.type == INVOKE:
            open_[op.process] = op
        else:
            inv = open_.pop(op.process, None)
            if inv is not None:
                yield inv, op
    for inv in open_.values():
        yield inv, None


def _stats_entry(counts: Counter[str]) -> dict[str, Any]:
    return {
        "valid?": counts[OK] > 0,
        "count": counts[OK] + counts[FAIL] + counts[INFO],
        "ok-count": counts[OK],
        "fail-count": counts[FAIL],
        "info-count": counts[INFO],
    }


def stats(history: Iterable[Op]) -> dict[str, Any]:
    """Jepsen's stats over client completions, with Maelstrom's rule that ignores :crash."""
    total: Counter[str] = Counter()
    by_f: dict[Any, Counter[str]] = {}
    for op in history:
        if op.type == INVOKE or not isinstance(op.process, int):
            continue
        total[op.type] += 1
        by_f.setdefault(op.f, Counter())[op.type] += 1
    per_f = {f: _stats_entry(by_f[f]) for f in sorted(by_f, key=str)}
    result = _stats_entry(total)
    if all(e["valid?"] for f, e in per_f.items() if f not in _STATS_IGNORED_FS):
        result["valid?"] = True
    else:
        result["valid?"] = merge_valid(*(e["valid?"] for e in per_f.values()))
    result["by-f"] = per_f
    return result


def availability(test: TestOptions, history: Iterable[Op]) -> dict[str, Any]:
    """Maelstrom's availability: ok ops / invocations, checked against ``--availability``."""
    invokes = oks = 0
    for op in history:
        if op.type == INVOKE:
            invokes += 1
        elif op.type == OK:
            oks += 1
    fraction = oks / invokes if invokes else 1.0
    expected = test.availability
    if expected is None:
        valid = True
    elif expected == "total":
        valid = fraction == 1
    else:
        valid = fraction >= float(expected)
    return {"valid?": valid, "ok-fraction": float(fraction)}


def _get(m: Any, key: str) -> Any:
    """``m[key]`` for a map read from EDN (keyword keys) or recorded by us (str keys)."""
    if not isinstance(m, Mapping):
        return None
    v = m.get(key)
    return m.get(Keyword(key)) if v is None else v


def exceptions(history: Iterable[Op]) -> dict[str, Any]:
    """Jepsen's unhandled-exceptions: :info ops with an exception, grouped by the first :via type."""
    groups: dict[Any, list[Op]] = {}
    for op in history:
        if op.type != INFO or op.extra.get("exception") is None:
            continue
        via = _get(op.extra["exception"], "via")
        cls = _get(via[0], "type") if isinstance(via, list) and via else None
        groups.setdefault(cls, []).append(op)
    if not groups:
        return {"valid?": True}
    ordered = sorted(groups.items(), key=lambda kv: len(kv[1]), reverse=True)
    return {
        "valid?": True,
        "exceptions": [{"count": len(ops), "class": cls, "example": ops[0]} for cls, ops in ordered],
    }


def quantile(sorted_values: list[float], q: float) -> float:
    """Jepsen's quantile: element ``min(n - 1, floor(n * q))`` of the sorted values."""
    n = len(sorted_values)
    return sorted_values[min(n - 1, int(n * q))]


def latencies_by_f(history: Iterable[Op]) -> dict[Any, list[float]]:
    """Sorted latencies in ms of ok client ops, per f."""
    out: dict[Any, list[float]] = {}
    for inv, comp in pairs(history):
        if comp is not None and comp.type == OK:
            out.setdefault(inv.f, []).append((comp.time - inv.time) / 1e6)
    for values in out.values():
        values.sort()
    return out


def perf(history: Iterable[Op]) -> dict[str, Any]:
    """Maelstrom's perf result plus ``latencies``: per f, latency quantiles (ms) of ok ops."""
    lat = latencies_by_f(history)
    return {
        "latency-graph": {"valid?": True},
        "rate-graph": {"valid?": True},
        "valid?": True,
        "latencies": {
            f: {q: quantile(v, q) for q in QUANTILES}
            for f, v in sorted(lat.items(), key=lambda kv: str(kv[0]))
        },
    }


def timeline() -> dict[str, Any]:
    return {"valid?": True}


def check_all(
    test: TestOptions,
    history: list[Op],
    workload_result: dict[str, Any],
    net: dict[str, Any] | None = None,
    extra: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The top-level results map: ``perf timeline exceptions stats availability [net] [extra...]
    workload valid?``. ``workload_result`` is the workload checker's result (wrap the call in
    :func:`check_safe`); ``net`` the network's :net result; ``extra`` more named results (e.g. nodes).
    """
    results: dict[str, dict[str, Any]] = {
        "perf": check_safe(perf, history),
        "timeline": check_safe(timeline),
        "exceptions": check_safe(exceptions, history),
        "stats": check_safe(stats, history),
        "availability": check_safe(availability, test, history),
    }
    if net is not None:
        results["net"] = net
    if extra:
        results.update(extra)
    results["workload"] = workload_result
    return compose(results)
