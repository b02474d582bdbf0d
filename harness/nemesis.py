"""Maelstrom's nemeses: partition, kill and pause (jepsen-io/maelstrom, src/maelstrom/nemesis.clj;
jepsen-io/jepsen, jepsen/src/jepsen/nemesis.clj and jepsen/src/jepsen/nemesis/combined.clj).

Partition: ``start-partition`` and ``stop-partition`` alternate, spaced U[0, 2·interval) apart,
the first start at t≈0. Each start picks a shape uniformly from one / minority-third / majority /
majorities-ring and turns it into a *grudge* ``{node: nodes it drops messages from}``. Grudges
only name nodes, so clients and services are never cut off.

Kill and pause (Jepsen's db package): ``kill``/``start`` and ``pause``/``resume`` flip-flop; with
both faults each op picks one of the two flip-flops at random (``gen/mix``), so kills and pauses
overlap. ``kill`` and ``pause`` target a node spec drawn from nil (a random non-empty subset),
one, minority-third, minority, majority, all; ``start`` and ``resume`` always name ``:all``. The
db stream is staggered on its own (U[0, 2·interval)), independent of the partition stream; both
go through the one nemesis thread, so one op waits while another (a restart's init) runs.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

from harness.history import Keyword, kw
from harness.net.network import Network
from harness.nodeio import NodeIO, RunAborted

__all__ = [
    "DB_TARGETS",
    "SHAPES",
    "DbNemesis",
    "Nemesis",
    "PartitionNemesis",
    "complete_grudge",
    "db_nodes",
    "grudge_for",
]

#: Jepsen's node specs for kill and pause (combined.clj ``node-specs``; no ``:primaries`` here)
DB_TARGETS: tuple[str | None, ...] = (None, "one", "minority-third", "minority", "majority", "all")

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

    def start(self, shape: str, now_ns: int, grudge: Grudge | None = None) -> list[object]:
        """Cut the network by ``shape`` (or by ``grudge`` as given: a replayed schedule)."""
        if grudge is None:
            grudge = grudge_for(shape, self.nodes, self.rng)
        else:  # the nodes it names that this run has (a shrunk schedule may have fewer)
            known = set(self.nodes)
            grudge = {d: s if s <= known else frozenset(s & known) for d, s in grudge.items() if d in known}
        for dest, srcs in grudge.items():
            for src in srcs:
                self.net.drop(src, dest)
        return [kw("isolated"), grudge]

    def heal(self, now_ns: int) -> Keyword:
        self.net.heal()
        return kw("network-healed")

    def invoke(self, f: str, value: Keyword | None, now_ns: int, effect: Any = None) -> object:
        if f == "start-partition":
            assert value is not None
            return self.start(value.name, now_ns, effect)
        return self.heal(now_ns)


def db_nodes(spec: str | None, nodes: Sequence[str], rng: random.Random) -> list[str]:
    """The nodes a kill or pause with node spec ``spec`` acts on (Jepsen's ``db-nodes``)."""
    nodes = list(nodes)
    n = len(nodes)
    shuffled = nodes[:]
    rng.shuffle(shuffled)
    if spec is None:
        return shuffled[: rng.randint(1, n)] if n else []
    if spec == "one":
        return [rng.choice(nodes)] if n else []
    if spec == "minority":
        return shuffled[: _majority(n) - 1]
    if spec == "majority":
        return shuffled[: _majority(n)]
    if spec == "minority-third":
        return shuffled[: (n - 1) // 3] if n else []
    if spec == "all":
        return nodes
    raise ValueError(f"unknown node spec {spec!r}")


class _Stream(Protocol):
    def next_delay(self) -> float: ...
    def next_op(self) -> tuple[str, Keyword | None]: ...
    async def invoke(self, f: str, value: Keyword | None, now_ns: int, effect: Any = None) -> object: ...


class DbNemesis:
    """Kills and restarts, pauses and resumes node processes (Jepsen's db nemesis and generators).

    ``restart_init(node)`` sends a restarted node ``init`` and raises if it does not answer;
    ``on_failed_start(node, why)`` hears of a node that could not be brought back.
    """

    def __init__(
        self,
        faults: Iterable[str],
        nodes: Sequence[NodeIO],
        rng: random.Random,
        interval: float,
        restart_init: Callable[[NodeIO], Awaitable[None]],
        on_failed_start: Callable[[NodeIO, str], None],
    ) -> None:
        self.nodes = {node.id: node for node in nodes}
        self.rng = rng
        self.interval = interval
        self.restart_init = restart_init
        self.on_failed_start = on_failed_start
        #: one flip-flop per fault: [fault op, recovery op, whether the fault op is next]
        self.modes: list[list[Any]] = []
        faults = set(faults)
        if "pause" in faults:
            self.modes.append(["pause", "resume", True])
        if "kill" in faults:
            self.modes.append(["kill", "start", True])

    def next_delay(self) -> float:
        return self.rng.uniform(0, 2 * self.interval)

    def next_op(self) -> tuple[str, Keyword | None]:
        mode = self.rng.choice(self.modes)
        fault_next = mode[2]
        mode[2] = not fault_next
        if fault_next:
            spec = self.rng.choice(DB_TARGETS)
            return mode[0], None if spec is None else kw(spec)
        return mode[1], kw("all")

    def final_ops(self) -> list[tuple[str, Keyword]]:
        """Jepsen's final generator: resume everything (if pause), then start everything (if kill)."""
        return [(mode[1], kw("all")) for mode in self.modes]

    async def invoke(
        self, f: str, value: Keyword | None, now_ns: int, effect: Any = None
    ) -> dict[str, Keyword]:
        """``effect``: the node ids to act on (a replayed schedule), instead of drawing them."""
        if effect is None:
            spec = None if value is None else value.name
            targets = db_nodes(spec, list(self.nodes), self.rng)
        else:
            targets = [n for n in effect if n in self.nodes]
        nodes = [self.nodes[n] for n in targets]
        if f == "kill":
            results = await asyncio.gather(*(node.crash() for node in nodes))
        elif f == "start":
            results = await asyncio.gather(*(self._start(node) for node in nodes))
        elif f == "pause":
            results = [node.pause() for node in nodes]
        elif f == "resume":
            results = [node.resume() for node in nodes]
        else:
            raise ValueError(f"unknown db nemesis op {f!r}")
        return {node.id: result for node, result in zip(nodes, results, strict=True)}

    async def _start(self, node: NodeIO) -> Keyword:
        try:
            return await node.restart(self.restart_init)
        except RunAborted as e:
            # it stays down (killed again); a later start :all tries once more
            self.on_failed_start(node, str(e))
            return kw("failed-to-start")


class _PartitionStream:
    def __init__(self, nemesis: PartitionNemesis) -> None:
        self.nemesis = nemesis

    def next_delay(self) -> float:
        return self.nemesis.next_delay()

    def next_op(self) -> tuple[str, Keyword | None]:
        return self.nemesis.next_op()

    async def invoke(self, f: str, value: Keyword | None, now_ns: int, effect: Any = None) -> object:
        return self.nemesis.invoke(f, value, now_ns, effect)


class Nemesis:
    """The combined nemesis: a partition stream and a db (kill/pause) stream, each staggered on
    its own, through one nemesis thread (Jepsen's ``compose-packages`` with ``gen/any``)."""

    def __init__(self, partition: PartitionNemesis | None = None, db: DbNemesis | None = None) -> None:
        self.partition = partition
        self.db = db
        self.streams: list[_Stream] = []
        if partition is not None:
            self.streams.append(_PartitionStream(partition))
        if db is not None and db.modes:
            self.streams.append(db)
        self.lock = asyncio.Lock()

    def final_ops(self) -> list[tuple[str, Keyword | None]]:
        """stop-partition, then resume :all, then start :all (combined.clj's final generators)."""
        ops: list[tuple[str, Keyword | None]] = []
        if self.partition is not None:
            ops.append(("stop-partition", None))
        if self.db is not None:
            ops.extend(self.db.final_ops())
        return ops

    async def invoke(self, f: str, value: Keyword | None, now_ns: int, effect: Any = None) -> object:
        """``effect`` (a replayed schedule's): the grudge or the nodes, instead of drawing them."""
        if f in ("start-partition", "stop-partition"):
            assert self.partition is not None
            return self.partition.invoke(f, value, now_ns, effect)
        assert self.db is not None
        return await self.db.invoke(f, value, now_ns, effect)

    def heal(self, now_ns: int) -> None:
        if self.partition is not None:
            self.partition.heal(now_ns)
