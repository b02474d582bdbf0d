"""What a checker says about its own result: the contract between checkers and their readers.

The report (``harness/report.py``) and the results table ask a checker for the ``Summary`` of its
result instead of guessing from result keys: a workload class implements
``Workload.summarize(result)`` (``harness/workloads/base.py``), the checkers every test runs have
theirs in ``harness/checkers/core.py`` (``summarize``, which also dispatches to the workload), and
a challenge's targets refer to figures by their ``key``.

This module also holds the small formatting helpers summaries use to quote values (``compact``,
``first_line``) and ``generic_summary`` for a result nobody describes (a checker added later).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.history import Keyword

__all__ = ["Figure", "Summary", "Table", "compact", "first_line", "generic_summary", "is_number"]

#: longest quoted value in a finding, in characters
MAX_TEXT = 400


@dataclass(frozen=True, slots=True)
class Figure:
    """One key figure of a result.

    ``key`` is the stable name that targets and tests refer to (e.g. ``"lost-count"``);
    ``label`` is what a person reads (``"lost"``; also the words of a target on it); ``value`` is
    a number where it is one, so that a target can compare it, a bool for a yes/no figure, or
    short text otherwise (``None`` when the result does not have it, e.g. a latency of a run
    without ok ops); ``unit`` follows a number (``" ms"``).
    """

    key: str
    label: str
    value: Any
    #: appended to a number when shown, e.g. ``" ms"``
    unit: str = ""

    def text(self) -> str:
        v = self.value
        if v is None:
            return f"{self.label} ?"
        if isinstance(v, bool):
            return f"{self.label}: {'yes' if v else 'no'}"
        shown = f"{v:.4g}" if isinstance(v, float) else str(v)
        return f"{self.label} {shown}{self.unit if is_number(v) else ''}"


@dataclass(frozen=True, slots=True)
class Table:
    """A table of a result for the report: ``rows`` of plain cells (numbers, text, ``valid?``
    values, or nested data that the report renders compactly), under ``title``."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Link:
    """A file a workload wrote to explain its result, for the report: ``href`` relative to the
    report's directory; ``parts``: further files that belong to it (drawings of each case)."""

    href: str
    text: str
    note: str = ""
    parts: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class FileSection:
    """The report's section on a workload's own files (``Workload.report_files``)."""

    title: str
    lead: str
    links: tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class Summary:
    """``figures``: the key figures, most important first. ``findings``: short lines that say
    why the result is what it is (for the report; the first one is the one-line "why").
    ``tables``: what the report shows of the result beyond the raw data (optional)."""

    figures: tuple[Figure, ...] = ()
    findings: tuple[str, ...] = field(default_factory=tuple)
    tables: tuple[Table, ...] = ()

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)

    def value(self, key: str) -> Any:
        """The value of figure ``key``, or ``None`` when there is no such figure."""
        f = self.figure(key)
        return None if f is None else f.value


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _plain(value: Any) -> Any:
    """History values (keywords, sets) as JSON-able data: ``:name`` strings and sorted lists."""
    if isinstance(value, Keyword):
        return f":{value.name}"
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=str)
    return value


def compact(value: Any, limit: int = MAX_TEXT) -> str:
    """``value`` as one line of JSON-like text, cut to ``limit`` characters."""
    try:
        text = json.dumps(_plain(value), ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def first_line(text: Any, limit: int = 300) -> str:
    """The first line of ``text`` (e.g. a traceback's), cut to ``limit`` characters."""
    stripped = str(text).strip()
    line = stripped.splitlines()[0] if stripped else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def generic_summary(result: Mapping[str, Any], limit: int = 5) -> Summary:
    """A result no checker describes: its first few entries as findings, so its data is seen."""
    findings = tuple(f"{k}: {compact(v, 300)}" for k, v in result.items() if k != "valid?")[:limit]
    return Summary(findings=findings)
