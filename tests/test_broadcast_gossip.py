"""engines.gossip on an in-process simulated network: delivery, partitions, message cost, silence.

Runs on virtual time (common.testing): every sleep and timer is exact and costs no wall time, so
message counts do not depend on how busy the machine is.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest

from common.testing import FakeNode, SimNet, run
from engines.gossip import Gossip


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


def _spread(overlay: Callable[[str, list[str]], list[str]], gap: float = 0.0, **opts):
    """20 values added round-robin on 5 nodes, ``gap`` seconds apart; every node ends with all."""

    async def main():
        net, gs = await _cluster(5, 0.002, overlay, **opts)
        for v in range(20):
            gs[f"n{v % 5}"].add(v)
            if gap:
                await asyncio.sleep(gap)
        await asyncio.sleep(0.05)
        net.stop()
        return net, gs

    net, gs = run(main())
    for g in gs.values():
        assert sorted(g.values) == list(range(20))
    return net


def test_flooding_reaches_every_node_without_sending_back():
    net = _spread(grid5)
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
        net.stop()
        return net, gs

    net, gs = run(main())
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
        net.stop()
        return net, gs, busy

    net, gs, busy = run(main())
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
        net.stop()
        return net

    net = run(main())
    assert net.sent == 2  # one data message, one pure ack, no retry


def test_rejects_retries_without_acks():
    with pytest.raises(ValueError):
        Gossip(FakeNode(SimNet(0), "n0"), retry_after=1.0)


def everyone(me: str, ids: list[str]) -> list[str]:
    return [i for i in ids if i != me]


@pytest.mark.parametrize("relay", [True, False])
def test_all_to_all_without_relay_sends_each_value_once_per_peer(relay: bool):
    net = _spread(everyone, gap=0.01, relay=relay)  # one value per message: counts are per value
    # without relaying, the origin alone sends each value, once to each of its 4 peers; relaying
    # on a complete graph sends it on again from every peer that receives it
    assert (net.sent == 20 * 4) is not relay, net.sent
