"""Fault intervals: when a run's partitions, kills and pauses were in force, read back from the
nemesis ops of its history, with the colour each kind is drawn in (report, plots, timeline).

This is the analysis side of :mod:`harness.nemesis` (which injects the faults): Jepsen's
``nemesis-intervals`` and the ``:perf`` map of its combined nemesis (jepsen-io/jepsen,
jepsen/src/jepsen/nemesis/combined.clj and jepsen/src/jepsen/checker/perf.clj).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.history import NEMESIS, Op

__all__ = [
    "FAULT_COLORS",
    "FAULT_KINDS",
    "FaultInterval",
    "fault_intervals",
    "faults_by_kind",
    "partition_intervals",
]

#: Jepsen perf's colour per fault kind (combined.clj ``:perf``)
FAULT_COLORS = {"partition": "#E9DCA0", "kill": "#E9A4A0", "pause": "#A0B1E9"}
#: the ops that start and stop each kind of fault (combined.clj ``:perf`` ``:start``/``:stop``)
FAULT_KINDS = {
    "partition": ("start-partition", "stop-partition"),
    "kill": ("kill", "start"),
    "pause": ("pause", "resume"),
}


@dataclass(frozen=True, slots=True)
class FaultInterval:
    """One fault from a history's nemesis ops: ``start`` and ``end`` in ns of history time (``end``
    None when it never stopped); ``mode`` is the start invocation's value (a partition's shape),
    ``effect`` its completion's (the grudge actually applied; None if it never completed)."""

    start: int
    end: int | None
    mode: Any
    effect: Any


def fault_intervals(history: Iterable[Op], start_f: str, stop_f: str) -> list[FaultInterval]:
    """The intervals in which a fault may be active, from the nemesis ops (Jepsen's
    ``nemesis-intervals``): each runs from the first ``start_f`` op to the last ``stop_f`` op
    after it (the stop's completion, by which the fault is surely over): the widest window.
    Nemesis invocations and completions are both ``info``; the first start op is the invocation.
    """
    spans: list[list[Any]] = []  # [start, end, mode, effect]
    running = False
    for op in history:
        if op.process != NEMESIS:
            continue
        if op.f == start_f:
            if not running:
                spans.append([op.time, None, op.value, None])
                running = True
            elif op.value is not None:
                spans[-1][3] = op.value
        elif op.f == stop_f and spans:
            spans[-1][1] = op.time
            running = False
    return [FaultInterval(*span) for span in spans]


def partition_intervals(history: Iterable[Op]) -> list[FaultInterval]:
    """The partitions of a history (``effect`` is the grudge)."""
    return fault_intervals(history, "start-partition", "stop-partition")


def faults_by_kind(history: Iterable[Op]) -> dict[str, list[FaultInterval]]:
    """Every kind of fault the history's nemesis ops show (partition, kill, pause), each kind's
    intervals by :func:`fault_intervals`: from its first start op to the last stop op after it.
    For kill and pause, ``effect`` is the first completion's ``{node: result}``."""
    history = list(history)
    found = {kind: fault_intervals(history, start, stop) for kind, (start, stop) in FAULT_KINDS.items()}
    return {kind: intervals for kind, intervals in found.items() if intervals}
