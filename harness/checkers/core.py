"""Checkers every test runs, and how results are composed (Jepsen's ``compose``/``check-safe``).

Results use Maelstrom's field names without the colon (see "Checker results" in
docs/architecture.md). The top-level map is ordered like Maelstrom's:
``perf timeline exceptions stats availability net workload valid?``.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from harness.history import FAIL, INFO, INVOKE, OK, UNKNOWN, Keyword, Op
from harness.options import TestOptions
from harness.summary import Figure, Summary, Table, compact, first_line, generic_summary

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
    "summarize",
    "timeline",
    "with_invocations",
]

Q = TypeVar("Q", int, float)
T = TypeVar("T")

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


def check_safe(fn: Callable[..., T], *args: Any) -> T | dict[str, Any]:
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


def with_invocations(history: Iterable[Op]) -> Iterator[tuple[Op, Op | None]]:
    """Every client op in history order, each completion with its invocation: the open one of
    its process (Jepsen's pairing). An invocation, or a completion nothing invoked, gets None.

    The one place that pairs invocations with completions; use :func:`pairs` when the order of
    completions is all that matters, this when a checker must see ops as they happened.
    """
    open_: dict[Any, Op] = {}
    for op in history:
        if not isinstance(op.process, int):
            continue
        if op.type == INVOKE:
            open_[op.process] = op
            yield op, None
        else:
            yield op, open_.pop(op.process, None)


def pairs(history: Iterable[Op]) -> Iterator[tuple[Op, Op | None]]:
    """Each client invocation with its completion (``None`` if it never completed), by process.

    Yields in completion order, then the never-completed invocations in invocation order.
    """
    unfinished: dict[Any, Op] = {}
    for op, inv in with_invocations(history):
        if op.type == INVOKE:
            unfinished[op.process] = op
        elif inv is not None:
            del unfinished[op.process]
            yield inv, op
    yield from ((inv, None) for inv in unfinished.values())


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


def quantile(sorted_values: Sequence[Q], q: float) -> Q:
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


# ----------------------------------------------------------------------------------------------
# Summaries: what each of these checkers says about its result (see harness/summary.py)

#: the name of the workload checker's result in the top-level map
WORKLOAD = "workload"
#: the order in which a reader shows the checkers; others follow in their own order
DISPLAY_ORDER = ("stats", "availability", "net", WORKLOAD, "exceptions", "perf", "timeline")


def summarize_stats(result: Mapping[str, Any]) -> Summary:
    by_f = {f: s for f, s in (result.get("by-f") or {}).items() if isinstance(s, Mapping)}
    findings = []
    for f, s in by_f.items():
        if s.get("valid?") is not True:
            ignored = " (ignored: never ok by design)" if f in _STATS_IGNORED_FS else ""
            findings.append(
                f"no ok ops for {f}: {s.get('count')} completed, {s.get('fail-count')} fail, "
                f"{s.get('info-count')} info{ignored}"
            )
    columns = ("count", "ok-count", "fail-count", "info-count", "valid?")
    rows = [(f, *(s.get(c) for c in columns)) for f, s in by_f.items()]
    rows.append(("all", *(result.get(c) for c in columns)))
    return Summary(
        figures=(
            Figure("ops", "ops", result.get("count")),
            Figure("ok-count", "ok", result.get("ok-count")),
            Figure("fail-count", "fail", result.get("fail-count")),
            Figure("info-count", "info", result.get("info-count")),
        ),
        findings=tuple(findings),
        tables=(Table("Operations by f", ("f", "count", "ok", "fail", "info", "valid?"), tuple(rows)),),
    )


def summarize_availability(result: Mapping[str, Any], required: Any = None) -> Summary:
    """``required``: the test's ``--availability`` (None when it set none)."""
    fraction = result.get("ok-fraction")
    want = f" (required: {required})" if required not in (None, "") else ""
    return Summary(
        figures=(Figure("availability", "availability", fraction),),
        findings=(f"ok-fraction {fraction}{want}",),
        tables=(
            Table(
                "Availability",
                ("ok-fraction", "valid?", "required"),
                ((fraction, result.get("valid?"), "none" if not want else str(required)),),
            ),
        ),
    )


_NET_PARTS = ("all", "clients", "servers")
_NET_COLUMNS = ("send-count", "recv-count", "msg-count", "msgs-per-op")


def summarize_net(result: Mapping[str, Any]) -> Summary:
    def part(name: str, key: str) -> Any:
        p = result.get(name)
        return p.get(key) if isinstance(p, Mapping) else None

    rows = tuple(
        (name, *(result[name].get(c, "—" if c == "msgs-per-op" else None) for c in _NET_COLUMNS))
        for name in _NET_PARTS
        if isinstance(result.get(name), Mapping)
    )
    tables = [
        Table(
            "Network",
            ("traffic", *_NET_COLUMNS),
            rows,
            "msgs-per-op = distinct messages / client invocations (init included).",
        )
    ]
    figures = [
        Figure("server-msgs-per-op", "server msgs/op", part("servers", "msgs-per-op")),
        Figure("msgs-per-op", "msgs/op", part("all", "msgs-per-op")),
        Figure("msg-count", "messages", part("all", "msg-count")),
    ]
    lateness = result.get("delivery-lateness-ms")
    if isinstance(lateness, Mapping):
        figures += [
            Figure("delivery-lateness-p50", "delivery lateness p50", lateness.get("p50"), " ms"),
            Figure("delivery-lateness-p99", "delivery lateness p99", lateness.get("p99"), " ms"),
        ]
        keys = ("count", "p50", "p99", "max")
        tables.append(
            Table(
                "Delivery lateness (ms)",
                keys,
                (tuple(lateness.get(k) for k in keys),),
                "How late the runner's network delivered messages that waited for a due time.",
            )
        )
    return Summary(figures=tuple(figures), tables=tuple(tables))


def quantile_at(quantiles: Mapping[Any, Any], q: float) -> Any:
    """The value at ``q`` of a quantile map whose keys may be numbers or JSON strings."""
    for k, v in quantiles.items():
        try:
            if float(k) == q:
                return v
        except (TypeError, ValueError):
            continue
    return None


def latency_quantiles(quantiles: Any) -> tuple[Any, ...]:
    """The values of a quantile map (as :func:`perf` and set-full write them) at :data:`QUANTILES`."""
    if not isinstance(quantiles, Mapping):
        return tuple(None for _ in QUANTILES)
    return tuple(quantile_at(quantiles, float(q)) for q in QUANTILES)


def latencies_by_outcome(history: Iterable[Op]) -> list[tuple[str, str, list[float]]]:
    """Sorted latencies (ms) of client ops per (f, completion type), from a history."""
    samples: dict[tuple[str, str], list[float]] = {}
    for inv, comp in pairs(history):
        if comp is not None:
            samples.setdefault((str(inv.f), comp.type), []).append((comp.time - inv.time) / 1e6)
    return [(f, typ, sorted(xs)) for (f, typ), xs in sorted(samples.items())]


def summarize_perf(result: Mapping[str, Any] | None, history: list[Op] | None = None) -> Summary:
    """The latency table from the result's ``latencies`` (ok ops); without them, from ``history``
    per f and outcome (a Maelstrom run's results have no latencies)."""
    headers = tuple(f"q{q:g} ms" for q in QUANTILES)
    latencies = (result or {}).get("latencies")
    if isinstance(latencies, Mapping) and latencies:
        figures = []
        rows = []
        for f, qs in latencies.items():
            values = latency_quantiles(qs)
            rows.append((str(f), *values))
            figures += [
                Figure(f"latency-p50:{f}", f"{f} latency p50", values[0], " ms"),
                Figure(f"latency-max:{f}", f"{f} latency max", values[-1], " ms"),
            ]
        table = Table("Latency", ("f", *headers), tuple(rows), "Ok ops, from results (perf).")
        return Summary(figures=tuple(figures), tables=(table,))
    if history is None:
        return Summary(tables=(Table("Latency", (), (), "No latencies in results and no history.edn."),))
    rows = [
        (f, typ, len(xs), *(quantile(xs, q) for q in QUANTILES))
        for f, typ, xs in latencies_by_outcome(history)
    ]
    if not rows:
        return Summary(tables=(Table("Latency", (), (), "No completed client ops."),))
    note = (
        "Completion time minus invocation time, from history.edn (quantile q = sorted[min(n-1, floor(n·q))])."
    )
    return Summary(tables=(Table("Latency", ("f", "outcome", "count", *headers), tuple(rows), note),))


def summarize_exceptions(result: Mapping[str, Any]) -> Summary:
    items = [e for e in result.get("exceptions") or [] if isinstance(e, Mapping)]
    if not items:
        return Summary(
            figures=(Figure("exception-count", "unhandled exceptions", 0),),
            tables=(Table("Exceptions", (), (), "No unhandled exceptions."),),
        )
    total = sum(e.get("count") or 0 for e in items)
    rows = tuple((e.get("class"), e.get("count"), compact(e.get("example"), 500)) for e in items[:10])
    return Summary(
        figures=(Figure("exception-count", "unhandled exceptions", total),),
        findings=tuple(f"{e.get('count')} x {e.get('class')}" for e in items[:5]),
        tables=(Table("Exceptions", ("class", "count", "example"), rows),),
    )


def _error_findings(result: Mapping[str, Any]) -> list[str]:
    """What :func:`check_safe` recorded: the checker's (or a sub-checker's) error."""
    out = []
    if "error" in result:
        out.append(f"checker error: {first_line(result['error'])}")
    for sub, r in result.items():
        if isinstance(r, Mapping) and r.get("valid?") is not True and "error" in r:
            out.append(f"{sub}: {first_line(r['error'])}")
    return out


def summarize(
    results: Mapping[str, Any],
    workload: Callable[[Mapping[str, Any]], Summary] | None = None,
    test: Mapping[str, Any] | None = None,
    history: list[Op] | None = None,
) -> dict[str, Summary]:
    """The summary of every checker in a top-level results map, in :data:`DISPLAY_ORDER`.

    ``workload`` summarizes the workload checker's result (``Workload.summarize``); without it, or
    for a checker nobody describes (the runner's ``nodes``), the result's own data is shown.
    ``test`` (test.json) gives availability its requirement; ``history`` gives a Maelstrom run's
    latencies. A checker that raised (``check_safe``) says so first.
    """
    test = test or {}
    present = [k for k in results if isinstance(results[k], Mapping)]
    rank = {
        k: (DISPLAY_ORDER.index(k) if k in DISPLAY_ORDER else len(DISPLAY_ORDER), i)
        for i, k in enumerate(present)
    }
    names = sorted(present, key=rank.__getitem__)
    if "perf" not in names:
        names.append("perf")  # latencies from the history, if there is one
    out: dict[str, Summary] = {}
    for name in names:
        result: Mapping[str, Any] = results.get(name) or {}
        if name == "stats":
            s = summarize_stats(result)
        elif name == "availability":
            s = summarize_availability(result, test.get("availability"))
        elif name == "net":
            s = summarize_net(result)
        elif name == "perf":
            s = summarize_perf(result, history)
        elif name == "exceptions":
            s = summarize_exceptions(result)
        elif name == "timeline":
            s = Summary()
        elif name == WORKLOAD and workload is not None:
            try:
                s = workload(result)
            except Exception as e:  # a summary must never cost the reader the whole page
                s = generic_summary(result)
                s = Summary(s.figures, (f"(its summary failed: {type(e).__name__}: {e})", *s.findings))
        else:
            s = Summary()
        errors = _error_findings(result)
        if not s.findings and not s.figures and not s.tables and not errors:
            s = generic_summary(result)
        if errors:
            s = Summary(s.figures, (*errors, *s.findings), s.tables)
        out[name] = s
    return out
