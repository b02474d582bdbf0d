"""What a checker says about its own result: the contract between checkers and their readers.

The report (``harness/report.py``) and the results table ask a workload for the ``Summary`` of
its checker's result instead of guessing from result keys. A workload class implements
``Workload.summarize(result)`` (``harness/workloads/base.py``); a challenge's targets refer to
figures by their ``key``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Figure:
    """One key figure of a result.

    ``key`` is the stable name that targets and tests refer to (e.g. ``"lost-count"``);
    ``label`` is what a person reads (``"lost"``); ``value`` is a number where it is one, so that
    a target can compare it, or short text otherwise.
    """

    key: str
    label: str
    value: Any

    def text(self) -> str:
        return f"{self.label} {self.value}"


@dataclass(frozen=True, slots=True)
class Summary:
    """``figures``: the key figures, most important first. ``findings``: short lines that say
    why the result is what it is (for the report; the first one is the one-line "why")."""

    figures: tuple[Figure, ...] = ()
    findings: tuple[str, ...] = field(default_factory=tuple)

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)
