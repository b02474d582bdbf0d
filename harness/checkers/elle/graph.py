"""The transaction dependency graph: typed edges, strongly connected components, projections.

Vertices are ints (a checker's own op numbering); each edge carries a bitmask of the
relationships that link its ends (:data:`WW`, :data:`WR`, :data:`RW`, :data:`PROCESS`,
:data:`REALTIME`), so one graph serves every cycle search by masking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from harness.checkers.core import with_invocations
from harness.history import INVOKE, OK, Op

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
REL_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}


class Graph:
    """A digraph over vertex ids with a bitmask of relationships per edge."""

    __slots__ = ("out", "vertices")

    def __init__(self) -> None:
        self.out: dict[int, dict[int, int]] = defaultdict(dict)
        self.vertices: set[int] = set()

    def link(self, a: int, b: int, rel: int) -> None:
        self.vertices.add(a)
        self.vertices.add(b)
        row = self.out[a]
        row[b] = row.get(b, 0) | rel

    def unlink_self(self, a: int) -> None:
        row = self.out.get(a)
        if row is not None:
            row.pop(a, None)


def sccs(vertices: Iterable[int], succ: Any, singletons_with_loops: bool = False) -> list[list[int]]:
    """Tarjan's SCCs (iterative); components of size 1 only with a self-loop when asked."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in vertices:
        if root in index:
            continue
        work = [(root, iter(succ(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ(w))))
                    advanced = True
                    break
                if w in on_stack and index[w] < low[v]:
                    low[v] = index[w]
            if advanced:
                continue
            work.pop()
            if work and low[v] < low[work[-1][0]]:
                low[work[-1][0]] = low[v]
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or (singletons_with_loops and v in succ(v)):
                    out.append(comp)
    return out


def projection(out: dict[int, dict[int, int]], members: set[int], mask: int) -> dict[int, list[int]]:
    """Adjacency of the subgraph on ``members`` keeping edges with any rel in ``mask``."""
    return {v: [w for w, m in out.get(v, {}).items() if m & mask and w in members] for v in members}


def extension(a: dict[int, list[int]], b: dict[int, list[int]]) -> dict[int, list[int]]:
    """A ∪ (A;B)."""
    ext: dict[int, list[int]] = {}
    for x, ys in a.items():
        targets = set(ys)
        for y in ys:
            targets.update(b.get(y, ()))
        ext[x] = list(targets)
    return ext


def completions(ops: Sequence[Op]) -> dict[int, int]:
    """Position of each invocation in ``ops`` (client ops) -> position of its completion, paired by
    ``checkers.core.with_invocations``."""
    position = {id(op): i for i, op in enumerate(ops)}
    return {position[id(inv)]: position[id(op)] for op, inv in with_invocations(ops) if inv is not None}


def link_realtime(g: Graph, ops: Sequence[Op], vertex: Any = None) -> None:
    """Realtime edges: each ok completion -> the completion of every op invoked after it.

    Elle's transitive reduction of "a completed before b was invoked": the buffer of recent ok
    completions links to each new invocation's completion; an ok drops what it covers. Vertices
    are positions in ``ops`` (or ``vertex(position)``, skipping positions it maps to None).
    """
    completion = completions(ops)
    rt_in: dict[int, set[int]] = defaultdict(set)
    buffer: set[int] = set()
    for i, op in enumerate(ops):
        if op.type == INVOKE:
            c = completion.get(i)
            if c is not None:
                for a in buffer:
                    _link(g, a, c, REALTIME, vertex)
                    rt_in[c].add(a)
        elif op.type == OK:
            buffer -= rt_in.get(i, set())
            buffer.add(i)


def link_process(g: Graph, ops: Sequence[Op], oks: Iterable[int], vertex: Any = None) -> None:
    """Process edges: each ok op -> the next ok op of the same process (``oks``: positions, in order)."""
    last: dict[Any, int] = {}
    for i in oks:
        p = ops[i].process
        if p in last:
            _link(g, last[p], i, PROCESS, vertex)
        last[p] = i


def _link(g: Graph, a: int, b: int, rel: int, vertex: Any) -> None:
    if vertex is None:
        g.link(a, b, rel)
        return
    va, vb = vertex(a), vertex(b)
    if va is not None and vb is not None:
        g.link(va, vb, rel)
