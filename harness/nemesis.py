"""Maelstrom's partition nemesis (maelstrom-runner.md §4.4; J:nemesis.clj, nemesis/combined.clj).

``start-partition`` and ``stop-partition`` alternate, spaced U[0, 2·interval) apart, the first
start at t≈0. Each start picks a shape uniformly from one / minority-third / majority /
majorities-ring and turns it into a *grudge* ``{node: nodes it drops messages from}``. Grudges
only name nodes, so clients and services are never cut off.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.history import NEMESIS, Keyword, Op, kw
from harness.network import Network

__all__ = [
    "SHAPES",
    "FaultInterval",
    "PartitionNemesis",
    "complete_grudge",
    "fault_intervals",
    "grudge_for",
    "partition_intervals",
]

SHAPES = ("one", "minority-third", "majority", "majorities-ring")
Grudge = dict[str, frozenset[str]]


def complete_grudge(components: Sequence[Sequence[str]]) -> Grudge:
    """No node talks to a node outside its component."""
    universe = frozenset(n for c in components for n in c)
    grudge: Grudge = {}
    for component in components:
        others = universe - frozenset(component)
        for node in component:
            grudge[node] = others
    return grudge


def _majority(n: int) -> int:
    return n // 2 + 1


def _majorities_ring_perfect(nodes: list[str], rng: random.Random) -> Grudge:
    universe = frozenset(nodes)
    n = len(nodes)
    m = _majority(n)
    ring = nodes[:]
    rng.shuffle(ring)
    grudge: Grudge = {}
    for i in range(n):
        window = [ring[(i + j) % n] for j in range(m)]
        # the window's middle element drops everyone outside it; for n=3 this is one-way
        grudge[window[m // 2]] = universe - frozenset(window)
    return grudge


def _majorities_ring_stochastic(nodes: list[str], rng: random.Random) -> Grudge:
    n = len(nodes)
    m = _majority(n)
    conns = {node: {node} for node in nodes}
    by_degree: dict[int, set[str]] = {1: set(nodes)}
    while True:
        ordered: list[tuple[int, str]] = []
        for degree in sorted(by_degree):
            members = sorted(by_degree[degree])
            rng.shuffle(members)
            ordered.extend((degree, node) for node in members)
        a_degree, a = ordered[0]
        if a_degree >= m:
            universe = frozenset(nodes)
            return {node: universe - frozenset(c) for node, c in conns.items()}
        b_degree, b = next((d, x) for d, x in ordered if x not in conns[a])
        conns[a].add(b)
        conns[b].add(a)
        by_degree[a_degree].discard(a)
        by_degree[b_degree].discard(b)
        by_degree.setdefault(a_degree + 1, set()).add(a)
        by_degree.setdefault(b_degree + 1, set()).add(b)
        for d in [d for d, s in by_degree.items() if not s]:
            del by_degree[d]


def grudge_for(shape: str, nodes: Sequence[str], rng: random.Random) -> Grudge:
    """The grudge of one partition shape over ``nodes``."""
    nodes = list(nodes)
    if shape == "one":
        loner = rng.choice(nodes)
        return complete_grudge([[loner], [x for x in nodes if x != loner]])
    if shape == "minority-third":
        shuffled = nodes[:]
        rng.shuffle(shuffled)
        k = (len(nodes) - 1) // 3
        return complete_grudge([shuffled[:k], shuffled[k:]])
    if shape == "majority":
        shuffled = nodes[:]
        rng.shuffle(shuffled)
        half = len(shuffled) // 2
        return complete_grudge([shuffled[:half], shuffled[half:]])
    if shape == "majorities-ring":
        if len(nodes) <= 5:
            return _majorities_ring_perfect(nodes, rng)
        return _majorities_ring_stochastic(nodes, rng)
    raise ValueError(f"unknown partition shape {shape!r}")


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


class PartitionNemesis:
    """Applies grudges to the network. The intervals are read back from the history
    (:func:`partition_intervals`)."""

    def __init__(self, nodes: Sequence[str], net: Network, rng: random.Random, interval: float) -> None:
        self.nodes = list(nodes)
        self.net = net
        self.rng = rng
        self.interval = interval
        self._next_is_start = True

    def next_delay(self) -> float:
        """Seconds until the next nemesis op (stagger: U[0, 2·interval))."""
        return self.rng.uniform(0, 2 * self.interval)

    def next_op(self) -> tuple[str, Keyword | None]:
        """The next invocation (f, value): start and stop alternate, starting with a start."""
        if self._next_is_start:
            self._next_is_start = False
            return "start-partition", kw(self.rng.choice(SHAPES))
        self._next_is_start = True
        return "stop-partition", None

    def start(self, shape: str, now_ns: int) -> list[object]:
        grudge = grudge_for(shape, self.nodes, self.rng)
        for dest, srcs in grudge.items():
            for src in srcs:
                self.net.drop(src, dest)
        return [kw("isolated"), grudge]

    def heal(self, now_ns: int) -> Keyword:
        self.net.heal()
        return kw("network-healed")

    def invoke(self, f: str, value: Keyword | None, now_ns: int) -> object:
        if f == "start-partition":
            assert value is not None
            return self.start(value.name, now_ns)
        return self.heal(now_ns)
