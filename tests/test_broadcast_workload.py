"""Broadcast workload: Maelstrom's topologies, the op mix, setup, invoke and the final read."""

from __future__ import annotations

import asyncio
import random

import pytest

from harness.client import MalformedResponse
from harness.history import Op
from harness.options import TestOptions as Options
from harness.testing import RecordingWorker, ScriptedClient
from harness.workloads import REGISTRY
from harness.workloads.broadcast import Broadcast, topology

N5 = ["n0", "n1", "n2", "n3", "n4"]


def test_grid_matches_maelstrom_example_down_up_right_left():
    assert topology("grid", N5) == {
        "n0": ["n3", "n1"],
        "n1": ["n4", "n2", "n0"],
        "n2": ["n1"],
        "n3": ["n0", "n4"],
        "n4": ["n1", "n3"],
    }
    assert topology("grid", ["n0"]) == {"n0": []}


def test_grid_25_has_degree_at_most_4_and_is_symmetric():
    nodes = [f"n{i}" for i in range(25)]
    topo = topology("grid", nodes)
    assert topo["n0"] == ["n5", "n1"] and topo["n12"] == ["n17", "n7", "n13", "n11"]
    assert all(a in topo[b] for a, ns in topo.items() for b in ns)


def test_line_and_total():
    assert topology("line", ["n0"]) == {}
    assert topology("line", N5) == {
        "n0": ["n1"],
        "n1": ["n0", "n2"],
        "n2": ["n1", "n3"],
        "n3": ["n2", "n4"],
        "n4": ["n3"],
    }
    assert topology("total", ["a", "b", "c"]) == {"a": ["b", "c"], "b": ["a", "c"], "c": ["a", "b"]}


def test_trees_are_heaps_with_parent_first():
    nodes = [f"n{i}" for i in range(7)]
    assert topology("tree", nodes) == topology("tree2", nodes)
    assert topology("tree2", nodes) == {
        "n0": ["n1", "n2"],
        "n1": ["n0", "n3", "n4"],
        "n2": ["n0", "n5", "n6"],
        "n3": ["n1"],
        "n4": ["n1"],
        "n5": ["n2"],
        "n6": ["n2"],
    }
    t4 = topology("tree4", [f"n{i}" for i in range(25)])
    assert t4["n0"] == ["n1", "n2", "n3", "n4"]
    assert t4["n1"] == ["n0", "n5", "n6", "n7", "n8"]
    assert t4["n5"] == ["n1", "n21", "n22", "n23", "n24"]
    assert t4["n6"] == ["n1"]
    assert topology("tree3", ["n0"]) == {"n0": []}
    with pytest.raises(ValueError):
        topology("ring", N5)


def test_workload_contract_attributes():
    assert REGISTRY["broadcast"] is Broadcast
    assert Broadcast.idempotent == frozenset({"read"})
    assert not Broadcast.reusable_client and Broadcast.has_final and Broadcast.with_errors


def test_mix_is_about_half_broadcasts_with_one_global_sequence():
    w = Broadcast(Options(workload="broadcast", nodes=N5), random.Random(7))
    ops = [w.next_op(i % 5, 0) for i in range(2000)]
    values = [o["value"] for o in ops if o["f"] == "broadcast"]
    assert values == list(range(len(values)))
    assert 900 < len(values) < 1100
    assert all(o == {"f": "read", "value": None} for o in ops if o["f"] != "broadcast")
    again = Broadcast(Options(workload="broadcast", nodes=N5), random.Random(7))
    assert [again.next_op(0, 0) for _ in range(2000)] == ops  # one seeded source


def test_setup_sends_the_whole_topology_once_to_every_node():
    w = Broadcast(Options(workload="broadcast", nodes=N5, topology="line"), random.Random(1))
    clients = {n: ScriptedClient(n) for n in N5}
    asyncio.run(w.setup(clients))
    for c in clients.values():
        assert c.sent == [{"type": "topology", "topology": topology("line", N5)}]


def test_setup_failure_propagates():
    class Broken(ScriptedClient):
        async def rpc(self, body, response, timeout=None):
            raise TimeoutError("no topology_ok")

    w = Broadcast(Options(workload="broadcast", nodes=N5), random.Random(1))
    with pytest.raises(TimeoutError):
        asyncio.run(w.setup({"n0": ScriptedClient("n0"), "n1": Broken("n1")}))


def test_invoke_records_maelstrom_values_and_rejects_extra_keys():
    w = Broadcast(Options(workload="broadcast", nodes=N5), random.Random(1))
    c = ScriptedClient("n0", {"read": {"messages": [3, 1]}})
    done = asyncio.run(w.invoke(c, Op("invoke", "broadcast", 0, 3, 10, 4)))
    assert (done.type, done.f, done.value) == ("ok", "broadcast", 3)
    assert c.sent[-1] == {"type": "broadcast", "message": 3}
    done = asyncio.run(w.invoke(c, Op("invoke", "read", 0, None, 10, 5, extra={"final?": True})))
    assert (done.type, done.value, done.final) == ("ok", [3, 1], True)
    null = ScriptedClient("n0", {"read": {"messages": None}})
    assert asyncio.run(w.invoke(null, Op("invoke", "read", 0))).value is None
    extra = ScriptedClient("n0", {"broadcast": {"debug": 1}})
    with pytest.raises(MalformedResponse):
        asyncio.run(w.invoke(extra, Op("invoke", "broadcast", 0, 1)))


def test_final_phase_is_one_final_read_per_thread():
    w = Broadcast(Options(workload="broadcast", nodes=N5), random.Random(1))
    worker = RecordingWorker(thread=3)
    asyncio.run(w.final(worker))
    assert worker.ops == [{"f": "read", "value": None, "final?": True}]
