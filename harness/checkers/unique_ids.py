"""Jepsen's unique-ids checker.

Over ``generate`` ops: ``attempted-count`` counts invocations, ``acknowledged-count`` ok
completions; an id acknowledged twice (Clojure equality, so 1, 1.0, "1" and true differ) is a
duplicate. ``duplicated`` holds the 48 most frequent duplicates as a map sorted by id and
``range`` is ``[lowest highest]`` under Clojure's ``compare``. Ids that ``compare`` cannot order
(maps, or a string against a number) raise :class:`TypeError`, which ``check_safe`` turns into
``valid? unknown`` as Jepsen's exception does.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from harness.edn import StrKeys
from harness.history import INVOKE, OK, Keyword, Op, ckey
from harness.options import TestOptions
from harness.summary import Figure, Summary, compact

#: How many duplicated ids Jepsen reports.
MAX_DUPLICATES = 48


def _utf16(s: str) -> str | bytes:
    # Java compares strings by UTF-16 code unit; this differs from code points only past U+FFFF.
    return s.encode("utf-16-be") if any(ord(c) > 0xFFFF for c in s) else s


def clojure_compare(a: Any, b: Any) -> int:
    """Clojure's ``compare`` for the values JSON ids can be: nil, numbers, strings, booleans,
    keywords and vectors (by length, then element-wise). Anything else raises TypeError."""
    if a is None or b is None:
        return 0 if a is b else (-1 if a is None else 1)
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return (a > b) - (a < b)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return (a > b) - (a < b)
    elif isinstance(a, str) and isinstance(b, str):
        x, y = _utf16(a), _utf16(b)
        if isinstance(x, str) and isinstance(y, str):
            return (x > y) - (x < y)
        xb, yb = a.encode("utf-16-be"), b.encode("utf-16-be")  # past U+FFFF on either side
        return (xb > yb) - (xb < yb)
    elif isinstance(a, Keyword) and isinstance(b, Keyword):
        return clojure_compare(a.name, b.name)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return -1 if len(a) < len(b) else 1
        for x, y in zip(a, b, strict=True):
            c = clojure_compare(x, y)
            if c:
                return c
        return 0
    raise TypeError(f"cannot compare {type(a).__name__} with {type(b).__name__}: {a!r} {b!r}")


_compare_key = functools.cmp_to_key(clojure_compare)


def _range(values: Sequence[Any]) -> list[Any]:
    # A nil bound means "none yet", as in the fold Jepsen uses.
    lo = hi = None
    for v in values:
        if lo is None or clojure_compare(v, lo) < 0:
            lo = v
        if hi is None or clojure_compare(v, hi) > 0:
            hi = v
    return [lo, hi]


def _hashable(v: Any) -> Any:
    """A dict key for an id: JSON arrays become tuples (they print as lists)."""
    return tuple(_hashable(x) for x in v) if isinstance(v, list) else v


def check(test: TestOptions, history: list[Op]) -> dict[str, Any]:
    attempted = 0
    acked: list[Any] = []
    for op in history:
        if op.f != "generate":
            continue
        if op.type == INVOKE:
            attempted += 1
        elif op.type == OK:
            acked.append(op.value)
    counts: dict[Any, list[Any]] = {}  # ckey -> [id, count]
    for v in acked:
        entry = counts.get(ckey(v))
        if entry is None:
            counts[ckey(v)] = [v, 1]
        else:
            entry[1] += 1
    dups = [(v, n) for v, n in counts.values() if n > 1]
    by_id = sorted(dups, key=lambda vn: _compare_key(vn[0]))  # a sorted map: ids must compare
    top = sorted(by_id, key=lambda vn: vn[1], reverse=True)[:MAX_DUPLICATES]
    top.sort(key=lambda vn: _compare_key(vn[0]))
    duplicated: dict[Any, int] = StrKeys((_hashable(v), n) for v, n in top)
    return {
        "valid?": not dups,
        "attempted-count": attempted,
        "acknowledged-count": len(acked),
        "duplicated-count": len(dups),
        "duplicated": duplicated,
        "range": _range(acked),
    }


def summarize(result: Mapping[str, Any]) -> Summary:
    dup = result.get("duplicated-count")
    example = f", e.g. {compact(result.get('duplicated'), 150)}" if result.get("duplicated") else ""
    return Summary(
        figures=(
            Figure("duplicated-count", "duplicate ids", dup),
            Figure("acknowledged-count", "acknowledged", result.get("acknowledged-count")),
            Figure("attempted-count", "attempted", result.get("attempted-count")),
        ),
        findings=(f"{dup} duplicated ids among {result.get('acknowledged-count')} acknowledged{example}",),
    )
