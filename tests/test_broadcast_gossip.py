"""common.gossip on an in-process simulated network: delivery, partitions, message cost, silence."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest

from common.gossip import Gossip
from common.protocol import Message


class SimNet:
    """Delivers bodies between fake nodes after ``latency`` seconds unless a partition cuts them."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.cut: set[tuple[str, str]] = set()
        self.nodes: dict[str, FakeNode] = {}
        self.sent = 0
        self.dropped = 0

    def send(self, src: str, dest: str, body: dict[str, Any]) -> None:
        self.sent += 1
        if (src, dest) in self.cut:
            self.dropped += 1
            return
        asyncio.get_running_loop().call_later(self.latency, self.nodes[dest].deliver, src, body)

    def isolate(self, node: str) -> None:
        for other in self.nodes:
            if other != node:
                self.cut |= {(node, other), (other, node)}

    def heal(self) -> None:
        self.cut.clear()


class FakeNode:
    """The slice of ``common.Node`` that Gossip uses."""

    def __init__(self, net: SimNet, node_id: str) -> None:
        self.net = net
        self.node_id = node_id
        self.handlers: dict[str, Callable[[Message], Any]] = {}
        self.tasks: list[asyncio.Task[Any]] = []
        net.nodes[node_id] = self

    def handler(self, kind: str):
        def register(fn):
            self.handlers[kind] = fn
            return fn

        return register

    def every(self, interval: float, fn: Callable[[], Any]) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                fn()

        self.tasks.append(asyncio.get_running_loop().create_task(loop()))

    def send(self, dest: str, body: dict[str, Any]) -> None:
        self.net.send(self.node_id, dest, body)

    def deliver(self, src: str, body: dict[str, Any]) -> None:
        self.handlers[body["type"]](Message(src=src, dest=self.node_id, body=body))


async def _cluster(n: int, latency: float, overlay: Callable[[str, list[str]], list[str]], **opts):
    net = SimNet(latency)
    ids = [f"n{i}" for i in range(n)]
    gossips = {}
    for node_id in ids:
        node = FakeNode(net, node_id)
        g = Gossip(node, durable=False, **opts)
        g.set_peers(overlay(node_id, ids))
        gossips[node_id] = g
    return net, gossips


def _stop(net: SimNet) -> None:
    for node in net.nodes.values():
        for task in node.tasks:
            task.cancel()


def line(me: str, ids: list[str]) -> list[str]:
    k = ids.index(me)
    return [ids[i] for i in (k - 1, k + 1) if 0 <= i < len(ids)]


def star(me: str, ids: list[str]) -> list[str]:
    return ids[1:] if me == ids[0] else [ids[0]]


def grid5(me: str, ids: list[str]) -> list[str]:
    return {
        "n0": ["n3", "n1"],
        "n1": ["n4", "n2", "n0"],
        "n2": ["n1"],
        "n3": ["n0", "n4"],
        "n4": ["n1", "n3"],
    }[me]


def test_flooding_reaches_every_node_without_sending_back():
    async def main():
        net, gs = await _cluster(5, 0.002, grid5)
        for v in range(20):
            gs[f"n{v % 5}"].add(v)
        await asyncio.sleep(0.05)
        _stop(net)
        return net, gs

    net, gs = asyncio.run(main())
    for g in gs.values():
        assert sorted(g.values) == list(range(20))
    # each value crosses each of the grid's 5 edges at most twice (once per direction)
    assert net.sent <= 20 * 10


@pytest.mark.parametrize("reliable", [True, False])
def test_values_cross_a_partition_only_with_acks_and_retries(reliable: bool):
    opts = {"ack_delay": 0.01, "retry_after": 0.05} if reliable else {}

    async def main():
        net, gs = await _cluster(4, 0.002, line, **opts)
        net.isolate("n2")
        for v in range(10):
            gs[["n0", "n1", "n2", "n3"][v % 4]].add(v)
        await asyncio.sleep(0.1)
        net.heal()
        await asyncio.sleep(0.2)
        _stop(net)
        return net, gs

    net, gs = asyncio.run(main())
    converged = all(sorted(g.values) == list(range(10)) for g in gs.values())
    assert converged is reliable
    assert net.dropped > 0


def test_star_batches_at_the_hub_and_falls_silent_when_idle():
    async def main():
        net, gs = await _cluster(10, 0.005, star, ack_delay=0.04, retry_after=0.2)
        gs["n0"].batch_interval = 0.02
        rng = random.Random(3)
        for v in range(200):  # 200 values over ~0.4 s from random leaves
            gs[f"n{rng.randrange(1, 10)}"].add(v)
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.3)
        busy = net.sent
        await asyncio.sleep(0.5)
        _stop(net)
        return net, gs, busy

    net, gs, busy = asyncio.run(main())
    for g in gs.values():
        assert sorted(g.values) == list(range(200))
    assert net.sent == busy, "an idle cluster must send nothing"
    # Without batching: 200 leaf->hub + 200*8 hub->leaves = 1800 data messages, plus acks.
    # With a 20 ms hub batch over ~0.45 s the hub sends about 9 leaves * 23 rounds.
    assert busy < 200 + 9 * 30 + 9 * 30, busy


def test_acks_ride_on_data_and_retries_stop_once_acked():
    async def main():
        net, gs = await _cluster(2, 0.002, line, ack_delay=0.02, retry_after=0.06)
        gs["n0"].add("x")
        await asyncio.sleep(0.3)
        _stop(net)
        return net

    net = asyncio.run(main())
    assert net.sent == 2  # one data message, one pure ack, no retry


def test_rejects_retries_without_acks():
    with pytest.raises(ValueError):
        Gossip(FakeNode(SimNet(0), "n0"), retry_after=1.0)
