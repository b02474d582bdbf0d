"""Maelstrom's pn-counter checker (also used for g-counter).

Semantics (jepsen-io/maelstrom, src/maelstrom/workload/pn_counter.clj, its checker):

* ``definite`` = sum of the deltas of ``ok`` adds;
* every ``info`` add may or may not have happened, so the acceptable set is
  ``{definite + sum(S) : S a subset of the info adds' deltas}``, kept as disjoint closed integer
  ranges that coalesce when they touch (``[1 3]`` and ``[4 6]`` are ``[1 6]``), exactly what
  Maelstrom gets from Guava's ``TreeRangeSet`` of open ranges ``(lo-1, hi+1)``;
* only ``ok`` reads marked ``final?`` are checked; one outside the acceptable set is an error.

Beyond Maelstrom's fields (``valid?``, ``errors``, ``final-reads``, ``acceptable``) the result
reports whether every final read equals the sum of acknowledged adds exactly, and how many adds
were indeterminate. These extra keys never change ``valid?``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.checkers.core import with_invocations
from harness.history import INFO, INVOKE, OK, Op
from harness.options import TestOptions
from harness.summary import Figure, Summary, compact

__all__ = ["acceptable_ranges", "check"]


def _merge(ranges: list[list[int]]) -> list[list[int]]:
    """Sort closed integer ranges and coalesce those that overlap or are adjacent."""
    ranges.sort()
    merged: list[list[int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def acceptable_ranges(definite: int, indeterminate_deltas: list[int]) -> list[list[int]]:
    """Closed ranges of ``definite + sum(S)`` over every subset ``S`` of the deltas, in order."""
    ranges = [[definite, definite]]
    for delta in indeterminate_deltas:
        if delta == 0:
            continue  # adding nothing leaves the set as it is
        ranges = _merge(ranges + [[lo + delta, hi + delta] for lo, hi in ranges])
    return ranges


def _contains(ranges: list[list[int]], value: int) -> bool:
    return any(lo <= value <= hi for lo, hi in ranges)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check(test: TestOptions | None, history: list[Op]) -> dict[str, Any]:
    """Check a counter history; ``test`` is unused (kept for the checker signature)."""
    definite = 0
    indeterminate: list[int] = []
    final_reads: list[Op] = []
    # A final read is final if its invocation says so; Maelstrom's completions copy the flag, but
    # we also accept a completion whose invocation alone carried it.
    for op, invocation in with_invocations(history):
        if op.type == INVOKE:
            continue
        if op.f == "add":
            if op.type == OK:
                definite += op.value
            elif op.type == INFO:
                indeterminate.append(op.value)
        elif op.f == "read" and op.type == OK and (op.final or (invocation is not None and invocation.final)):
            final_reads.append(op)

    acceptable = acceptable_ranges(definite, indeterminate)
    errors = []
    for op in final_reads:
        if not _is_int(op.value):
            # Maelstrom asserts an integer here (its client coerces with `long` first); a read we
            # cannot compare is never acceptable.
            errors.append(op)
        elif not _contains(acceptable, op.value):
            errors.append(op)

    values = [op.value for op in final_reads]
    return {
        "valid?": not errors,
        "errors": errors or None,
        "final-reads": values,
        "acceptable": acceptable,
        # Extra findings (not in Maelstrom's result):
        "acknowledged-sum": definite,
        "indeterminate-adds": len(indeterminate),
        "final-reads-exact?": bool(values) and all(_is_int(v) and v == definite for v in values),
    }


def summarize(result: Mapping[str, Any]) -> Summary:
    """Final reads against the acceptable ranges; ``final-reads-exact``: every final read equals
    the sum of acknowledged adds (or lies in the one range indeterminate adds leave)."""
    reads = result.get("final-reads") or []
    acceptable = result.get("acceptable") or []
    errors = result.get("errors") or []
    shown = ", ".join(map(str, reads[:5])) + (" …" if len(reads) > 5 else "")
    return Summary(
        figures=(
            Figure(
                "final-reads-exact", "final reads = sum of acknowledged adds", _reads_exact(reads, acceptable)
            ),
            Figure("error-count", "final reads out of range", len(errors)),
            Figure("final-read-count", "final reads", len(reads)),
            Figure("final-reads", "final reads", f"[{shown}]"),
            Figure(
                "acknowledged-sum", "acknowledged sum", result.get("acknowledged-sum", _acked(acceptable))
            ),
            Figure("indeterminate-adds", "indeterminate adds", result.get("indeterminate-adds")),
        ),
        findings=tuple(_counter_findings(result, reads, acceptable, errors)),
    )


def _counter_findings(
    result: Mapping[str, Any], reads: list[Any], acceptable: list[Any], errors: list[Any]
) -> list[str]:
    ranges = " ".join(f"[{r[0]} {r[1]}]" for r in _ranges(acceptable)) or "none"
    if errors:
        # an error is an Op in a fresh result and an op map in results.json
        values = [
            op.value if isinstance(op, Op) else op.get("value")
            for op in errors
            if isinstance(op, (Op, Mapping))
        ]
        findings = [f"{len(errors)} final read(s) outside the acceptable sums {ranges}: {_distinct(values)}"]
    elif not reads:
        findings = ["no ok final read: nothing to compare with the adds"]
    else:
        findings = [f"every final read ({_distinct(reads)}) lies in the acceptable sums {ranges}"]
    if result.get("final-reads-exact?") is False and not errors and reads:
        findings.append("not every final read equals the sum of acknowledged adds")
    return findings


def _distinct(values: list[Any]) -> str:
    """The distinct values, as text (a node may answer anything, hashable or not)."""
    return ", ".join(sorted({compact(v, 40) for v in values}))


def _acked(acceptable: list[Any]) -> Any:
    """The sum of ok adds: where the first acceptable range starts (a Maelstrom result lacks it)."""
    ranges = _ranges(acceptable)
    return ranges[0][0] if ranges else None


def _ranges(acceptable: list[Any]) -> list[list[int]]:
    return [r for r in acceptable if isinstance(r, list) and len(r) == 2 and all(map(_is_int, r))]


def _reads_exact(reads: list[Any], acceptable: list[Any]) -> bool:
    """Every final read agrees, lies in an acceptable range, and equals the acknowledged sum when
    the range is a single value. When indeterminate (info) adds widen the range, a read inside it
    is as exact as the run allows."""
    ranges = _ranges(acceptable)
    inside = all(any(lo <= x <= hi for lo, hi in ranges) for x in reads if _is_int(x))
    ok = bool(reads) and all(map(_is_int, reads)) and len(set(reads)) == 1 and inside
    if ok and len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        ok = reads[0] == ranges[0][0]
    return ok
