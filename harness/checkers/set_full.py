"""Jepsen's ``set-full`` checker (``:linearizable? false``), as Maelstrom's broadcast workload uses it.

Maelstrom renames every ``broadcast`` op to ``add`` and hands the history to ``set-full``. For each
added element the checker tracks, over the client ops in history order:

* ``known``: the ``ok`` completion of its add, or the first ``ok`` read completion that showed it,
  whichever comes first in the history;
* ``last-present`` / ``last-absent``: the read *invocation* with the highest history index among the
  ``ok`` reads that did / did not contain it. Only reads completing after the add was invoked count.

An element is *stable* when it was read and no absent read began after the last present one, *lost*
when it was known and an absent read began after both the last present read and the moment it
became known, and *never-read* otherwise. Stale elements are stable ones with a positive stable
latency. ``valid?`` is false with any lost element, ``unknown`` with no stable one, else true.

Jepsen's duplicate detection is dead code (it keeps multiplicities ``< 1``), so ``duplicated`` is
always empty; we report values repeated inside one read separately, under ``read-duplicates``
(``[value, highest multiplicity in one read]`` pairs) and ``read-duplicates-count``, without
touching ``valid?``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from harness.checkers.core import quantile, quantile_at, with_invocations
from harness.history import INVOKE, OK, UNKNOWN, Keyword, Op, ckey, kw
from harness.options import TestOptions
from harness.summary import Figure, Summary, compact

QUANTILES = (0, 0.5, 0.95, 0.99, 1)
WORST_STALE = 8
#: at most this many values are listed under ``read-duplicates`` (all are counted)
MAX_DUPLICATES_LISTED = 32
#: a summary's finding lists at most this many values (all are counted)
MAX_LISTED = 16

STABLE, LOST, NEVER_READ = kw("stable"), kw("lost"), kw("never-read")


class _Element:
    """What the history says about one added value."""

    __slots__ = ("known", "last_absent", "last_present", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.known: Op | None = None
        self.last_present: Op | None = None
        self.last_absent: Op | None = None


def _ms(nanos: int) -> int:
    """Clojure's ``(long (nanos->ms x))`` for x >= 0: truncate to whole milliseconds."""
    return int(nanos) // 1_000_000


def quantiles(values: list[int]) -> dict[float, int]:
    """Jepsen's ``frequency-distribution``: the sorted value at index min(n-1, floor(n*q))."""
    ordered = sorted(values)
    return {q: quantile(ordered, q) for q in QUANTILES}


def _outcome(e: _Element) -> dict[str, Any]:
    present_idx = e.last_present.index if e.last_present is not None else -1
    absent_idx = e.last_absent.index if e.last_absent is not None else -1
    stable = e.last_present is not None and absent_idx < present_idx
    lost = (
        e.known is not None
        and e.last_absent is not None
        and present_idx < absent_idx
        and e.known.index < absent_idx
    )
    stable_latency = lost_latency = None
    if stable:
        assert e.known is not None  # a present read always sets known
        stable_time = e.last_absent.time + 1 if e.last_absent is not None else 0
        stable_latency = _ms(max(0, stable_time - e.known.time))
    elif lost:
        assert e.known is not None
        lost_time = e.last_present.time + 1 if e.last_present is not None else 0
        lost_latency = _ms(max(0, lost_time - e.known.time))
    return {
        "element": e.value,
        "outcome": STABLE if stable else LOST if lost else NEVER_READ,
        "stable-latency": stable_latency,
        "lost-latency": lost_latency,
        "known": e.known,
        "last-absent": e.last_absent,
    }


def _as_add(op: Op) -> Op:
    return replace(op, f="add") if op.f == "broadcast" else op


def check(test: TestOptions | None, history: list[Op]) -> dict[str, Any]:
    """Check a broadcast (or g-set) history; ``test`` is unused but part of the checker contract."""
    elements: dict[Any, _Element] = {}  # ckey(value) -> element, in add-invocation order
    duplicates: dict[Any, tuple[Any, int]] = {}  # ckey -> (value, highest multiplicity in one read)

    for raw, invocation in with_invocations(history):
        op = _as_add(raw)
        if op.type == INVOKE:
            if op.f == "add":
                # A second add of the same value starts over, as Clojure's assoc does.
                elements[ckey(op.value)] = _Element(op.value)
            continue
        if op.f == "add":
            e = elements.get(ckey(op.value))
            if e is not None and op.type == OK and e.known is None:
                e.known = op
        elif op.f == "read" and op.type == OK:
            if invocation is None:
                raise ValueError(f"read completion without an invocation: {op}")
            counts: dict[Any, int] = {}
            for v in op.value or ():
                k = ckey(v)
                counts[k] = counts.get(k, 0) + 1
                if counts[k] > 1 and counts[k] > duplicates.get(k, (v, 0))[1]:
                    duplicates[k] = (v, counts[k])
            inv_index = invocation.index
            for k, e in elements.items():
                if k in counts:
                    if e.known is None:
                        e.known = op
                    if e.last_present is None or e.last_present.index < inv_index:
                        e.last_present = invocation
                elif e.last_absent is None or e.last_absent.index < inv_index:
                    e.last_absent = invocation

    # Jepsen sorts the elements by value; mixed, uncomparable values make it throw, and so do we.
    results = [_outcome(e) for e in sorted(elements.values(), key=lambda e: e.value)]
    by_outcome: dict[Keyword, list[dict[str, Any]]] = {STABLE: [], LOST: [], NEVER_READ: []}
    for r in results:
        by_outcome[r["outcome"]].append(r)
    stale = [r for r in by_outcome[STABLE] if r["stable-latency"] > 0]
    # (reverse (sort-by :stable-latency stale)): descending, ties in reverse element order.
    worst_stale = list(reversed(sorted(stale, key=lambda r: r["stable-latency"])))[:WORST_STALE]
    stable_latencies = [r["stable-latency"] for r in results if r["stable-latency"] is not None]
    lost_latencies = [r["lost-latency"] for r in results if r["lost-latency"] is not None]

    if by_outcome[LOST]:
        valid: bool | str = False
    elif not by_outcome[STABLE]:
        valid = UNKNOWN
    else:
        valid = True
    out: dict[str, Any] = {
        "valid?": valid,
        "attempt-count": len(results),
        "stable-count": len(by_outcome[STABLE]),
        "lost-count": len(by_outcome[LOST]),
        "lost": [r["element"] for r in by_outcome[LOST]],
        "never-read-count": len(by_outcome[NEVER_READ]),
        "never-read": [r["element"] for r in by_outcome[NEVER_READ]],
        "stale-count": len(stale),
        "stale": [r["element"] for r in stale],
        "worst-stale": worst_stale,
    }
    if stable_latencies:
        out["stable-latencies"] = quantiles(stable_latencies)
    if lost_latencies:
        out["lost-latencies"] = quantiles(lost_latencies)
    out["duplicated-count"] = 0
    out["duplicated"] = {}
    # Our addition: a correct node never returns a value twice in one read.
    dup_list = sorted(duplicates.values(), key=lambda vc: (-vc[1], repr(vc[0])))
    out["read-duplicates-count"] = len(dup_list)
    out["read-duplicates"] = [[v, c] for v, c in dup_list[:MAX_DUPLICATES_LISTED]]
    return out


def _listed(values: list[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:MAX_LISTED])
    return shown + (f", ... ({len(values)} in all)" if len(values) > MAX_LISTED else "")


def summarize(result: Mapping[str, Any], items: str = "elements") -> Summary:
    """The key figures of a set-full result: lost, stable, never read, stale, stable latency.

    ``items`` names what was added (broadcast's "messages")."""
    latencies = result.get("stable-latencies")
    p50 = quantile_at(latencies, 0.5) if isinstance(latencies, Mapping) else None
    top = quantile_at(latencies, 1.0) if isinstance(latencies, Mapping) else None
    counts = (
        f"lost {result.get('lost-count')} of {result.get('attempt-count')} attempted, "
        f"stable {result.get('stable-count')}, never read {result.get('never-read-count')}, "
        f"stale {result.get('stale-count')}"
    )
    lost = list(result.get("lost") or [])
    if lost:
        findings = [
            f"{len(lost)} acknowledged or read {items} later missing from reads: {_listed(lost)}",
            counts,
        ]
    elif not result.get("stable-count"):
        findings = [f"no {items[:-1]} was ever read stably: nothing to judge", counts]
    else:
        findings = [counts]
    never = list(result.get("never-read") or [])
    if never:
        findings.append(f"never read: {_listed(never)}")
    if result.get("duplicated-count"):
        findings.append(f"duplicated: {result.get('duplicated-count')}")
    if result.get("read-duplicates-count"):
        findings.append(
            f"{result['read-duplicates-count']} values returned twice by one read (not a Maelstrom failure), "
            f"e.g. {compact(result.get('read-duplicates', [])[:5], 150)}"
        )
    return Summary(
        figures=(
            Figure("lost-count", f"lost {items}", result.get("lost-count")),
            Figure("attempt-count", "attempted", result.get("attempt-count")),
            Figure("stable-count", "stable", result.get("stable-count")),
            Figure("never-read-count", "never read", result.get("never-read-count")),
            Figure("stale-count", "stale", result.get("stale-count")),
            Figure("stable-latency-median", "median stable latency", p50, " ms"),
            Figure("stable-latency-max", "max stable latency", top, " ms"),
            Figure("duplicated-count", "duplicated", result.get("duplicated-count")),
            Figure("read-duplicates-count", "read duplicates", result.get("read-duplicates-count")),
        ),
        findings=tuple(findings),
    )
