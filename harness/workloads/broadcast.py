"""The broadcast workload: topology setup, a 50/50 mix of broadcasts and reads, final reads.

Like Maelstrom's ``maelstrom.workload.broadcast``: every node gets the whole topology map in one
``topology`` RPC before the main phase; ``broadcast`` values are 0, 1, 2, ... from one global
sequence; ``read`` is idempotent (its timeouts and errors are ``fail``); after the main phase each
thread does one ``{:f :read, :final? true}``. The checker is set-full with broadcast renamed to add.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from harness.checkers import set_full
from harness.history import OK, Op
from harness.options import TestOptions
from harness.schema import ANY, body, list_of
from harness.summary import Summary
from harness.workloads.base import FinalWorker, RPCClient, Workload, register

TOPOLOGY_OK = body("topology_ok")
BROADCAST_OK = body("broadcast_ok")
READ_OK = body("read_ok", messages=list_of(ANY))

Topology = dict[str, list[str]]


def grid(nodes: list[str]) -> Topology:
    """A roughly square grid, row-major; neighbours listed down, up, right, left."""
    n = len(nodes)
    side = math.ceil(math.sqrt(n))

    def at(i: int, j: int) -> str | None:
        # Rows past the last are excluded by the index bound, as in Maelstrom.
        if i < 0 or not 0 <= j < side:
            return None
        idx = i * side + j
        return nodes[idx] if idx < n else None

    topo: Topology = {}
    for i in range(side):
        for j in range(side):
            if (me := at(i, j)) is not None:
                around = (at(i + 1, j), at(i - 1, j), at(i, j + 1), at(i, j - 1))
                topo[me] = [x for x in around if x is not None]
    return topo


def line(nodes: list[str]) -> Topology:
    """Each node linked to its left and right; fewer than two nodes gives an empty map."""
    n = len(nodes)
    if n < 2:
        return {}
    topo = {nodes[0]: [nodes[1]], nodes[-1]: [nodes[-2]]}
    for k in range(1, n - 1):
        topo[nodes[k]] = [nodes[k - 1], nodes[k + 1]]
    return topo


def total(nodes: list[str]) -> Topology:
    return {me: [x for x in nodes if x != me] for me in nodes}


def tree(branching: int) -> Callable[[list[str]], Topology]:
    """Heap layout: node k's children are b*k+1 .. b*k+b; neighbours are parent first, then children."""

    def build(nodes: list[str]) -> Topology:
        n = len(nodes)
        topo: Topology = {}
        for k, me in enumerate(nodes):
            parent = [nodes[(k - 1) // branching]] if k > 0 else []
            children = [nodes[c] for c in range(branching * k + 1, min(n, branching * k + branching + 1))]
            topo[me] = parent + children
        return topo

    return build


TOPOLOGIES: dict[str, Callable[[list[str]], Topology]] = {
    "line": line,
    "grid": grid,
    "tree": tree(2),
    "tree2": tree(2),
    "tree3": tree(3),
    "tree4": tree(4),
    "total": total,
}


def topology(name: str, nodes: list[str]) -> Topology:
    try:
        return TOPOLOGIES[name](list(nodes))
    except KeyError:
        raise ValueError(f"unknown topology {name!r}; expected one of {', '.join(TOPOLOGIES)}") from None


@register
class Broadcast(Workload):
    name = "broadcast"
    idempotent = frozenset({"read"})
    reusable_client = False
    with_errors = True
    rpc_timeout = 5.0
    has_final = True

    def __init__(self, test: TestOptions, rng: random.Random) -> None:
        super().__init__(test, rng)
        self.topology = topology(test.topology, test.nodes)
        self._next_value = 0

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        # gen/mix: each op picks one of the two generators uniformly at random.
        if self.rng.randrange(2) == 0:
            value = self._next_value
            self._next_value += 1
            return {"f": "broadcast", "value": value}
        return {"f": "read", "value": None}

    async def setup(self, clients: Mapping[str, RPCClient]) -> None:
        # One topology RPC per node, all at once; any failure propagates and aborts the run.
        await asyncio.gather(
            *(
                client.rpc({"type": "topology", "topology": self.topology}, TOPOLOGY_OK)
                for client in clients.values()
            )
        )

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        if op.f == "broadcast":
            await client.rpc({"type": "broadcast", "message": op.value}, BROADCAST_OK)
            return replace(op, type=OK)
        if op.f == "read":
            reply = await client.rpc({"type": "read"}, READ_OK)
            return replace(op, type=OK, value=reply["messages"])
        raise ValueError(f"broadcast workload cannot run {op.f!r}")

    async def final(self, worker: FinalWorker) -> None:
        await worker.invoke({"f": "read", "value": None, "final?": True})

    def check(self, history: list[Op]) -> dict[str, Any]:
        return set_full.check(self.test, history)

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        return set_full.summarize(result, items="messages")
