"""g-set and pn-counter: generators, RPCs and final phases as Maelstrom's; checkers both ways,
from hand-made histories and from small nodes (tests/nodes/crdt_node.py) under partitions."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness import options
from harness.checkers import set_full
from harness.history import INFO, INVOKE, OK, Op
from harness.schema import Body
from harness.workloads import REGISTRY
from harness.workloads.g_counter import GCounter
from harness.workloads.g_set import GSet
from harness.workloads.pn_counter import PNCounter
from tests.simrun import node_bin, run_test

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "tests" / "nodes" / "crdt_node.py"


class FakeClient:
    node = "n0"

    def __init__(self, replies: list[dict[str, Any]]) -> None:
        self.replies = replies
        self.sent: list[dict[str, Any]] = []

    async def rpc(self, body: dict[str, Any], response: Body, timeout: float | None = None) -> dict[str, Any]:
        self.sent.append(body)
        reply = self.replies.pop(0)
        if errors := response.errors({**reply, "in_reply_to": 1}):
            raise ValueError(errors)
        return reply


class Worker:
    thread = 0

    def __init__(self) -> None:
        self.invoked: list[dict[str, Any]] = []

    async def invoke(self, op: dict[str, Any]) -> Op:
        self.invoked.append(op)
        return Op(OK, op["f"], 0, None)

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("no sleep in these final phases")


@pytest.mark.parametrize("cls", [GSet, PNCounter])
def test_registered_with_maelstrom_client_semantics(cls: type) -> None:
    assert REGISTRY[cls.name] is cls
    assert (cls.with_errors, cls.reusable_client, cls.has_final, cls.idempotent) == (
        False,
        False,
        True,
        frozenset(),
    )


def test_pn_counter_mix_is_half_adds_with_deltas_minus_five_to_four() -> None:
    workload = PNCounter(options.TestOptions(workload="pn-counter"), random.Random(5))
    ops = [workload.next_op(0, 0) for _ in range(20_000)]
    fs = Counter(op["f"] for op in ops)
    deltas = Counter(op["value"] for op in ops if op["f"] == "add")
    assert abs(fs["add"] / 20_000 - 0.5) < 0.02
    assert set(deltas) == set(range(-5, 5))
    assert max(deltas.values()) / min(deltas.values()) < 1.2


def test_g_counter_is_pn_counter_without_negative_adds() -> None:
    pn = PNCounter(options.TestOptions(), random.Random(9))
    g = GCounter(options.TestOptions(), random.Random(9))
    expected = [op for op in (pn.next_op(0, 0) for _ in range(600)) if op["f"] == "read" or op["value"] >= 0]
    assert [g.next_op(0, 0) for _ in range(len(expected))] == expected


def test_g_set_adds_distinct_increasing_elements_half_the_time() -> None:
    workload = GSet(options.TestOptions(workload="g-set"), random.Random(1))
    ops = [workload.next_op(t % 4, 0) for t in range(4_000)]
    adds = [op["value"] for op in ops if op["f"] == "add"]
    assert adds == list(range(len(adds)))
    assert abs(len(adds) / 4_000 - 0.5) < 0.03
    assert all(op["value"] is None for op in ops if op["f"] == "read")


def test_rpc_bodies_and_replies() -> None:
    gset = GSet(options.TestOptions(), random.Random(0))
    client = FakeClient(
        [{"type": "add_ok"}, {"type": "read_ok", "value": [3, 1]}, {"type": "read_ok", "value": None}]
    )
    add = asyncio.run(gset.invoke(client, Op(INVOKE, "add", 0, 3)))
    read = asyncio.run(gset.invoke(client, Op(INVOKE, "read", 0, None)))
    empty = asyncio.run(gset.invoke(client, Op(INVOKE, "read", 0, None)))
    assert client.sent == [{"type": "add", "element": 3}, {"type": "read"}, {"type": "read"}]
    assert [(o.type, o.value) for o in (add, read, empty)] == [(OK, 3), (OK, [3, 1]), (OK, None)]
    with pytest.raises(ValueError):  # a read value that is no list is malformed
        asyncio.run(gset.invoke(FakeClient([{"type": "read_ok", "value": 3}]), Op(INVOKE, "read", 0, None)))

    pn = PNCounter(options.TestOptions(), random.Random(0))
    client = FakeClient([{"type": "add_ok"}, {"type": "read_ok", "value": -4}])
    asyncio.run(pn.invoke(client, Op(INVOKE, "add", 0, -2)))
    assert asyncio.run(pn.invoke(client, Op(INVOKE, "read", 0, None))).value == -4
    assert client.sent == [{"type": "add", "delta": -2}, {"type": "read"}]


def test_final_phases() -> None:
    gset_worker, pn_worker = Worker(), Worker()
    asyncio.run(GSet(options.TestOptions(), random.Random(0)).final(gset_worker))
    asyncio.run(PNCounter(options.TestOptions(), random.Random(0)).final(pn_worker))
    assert gset_worker.invoked == [{"f": "read", "value": None}]  # no final? flag, as Maelstrom's
    assert pn_worker.invoked == [{"f": "read", "value": None, "final?": True}]


def _history(*entries: tuple[str, str, int, Any]) -> list[Op]:
    return [Op(t, f, p, v, time=i * 1_000_000, index=i) for i, (t, f, p, v) in enumerate(entries)]


def test_g_set_checker_names_the_lost_values() -> None:
    history = _history(
        (INVOKE, "add", 0, 0), (OK, "add", 0, 0),
        (INVOKE, "add", 1, 1), (OK, "add", 1, 1),
        (INVOKE, "add", 1, 2), (INFO, "add", 1, 2),
        (INVOKE, "read", 0, None), (OK, "read", 0, [0, 1, 2]),
        (INVOKE, "read", 2, None), (OK, "read", 2, [1]),  # 0 and 2 were there and are gone
    )  # fmt: skip
    result = set_full.check(None, history)
    assert (result["valid?"], result["lost"], result["stable-count"]) == (False, [0, 2], 1)
    summary = GSet.summarize(result)
    assert summary.figure("lost-count").value == 2
    assert "0, 2" in summary.findings[0]

    healed = [*history[:-1], Op(OK, "read", 2, [0, 1, 2], time=9_000_000, index=9)]
    result = set_full.check(None, healed)
    assert (result["valid?"], result["lost"], result["stable-count"]) == (True, [], 3)
    assert GSet.summarize(result).figure("lost-count").value == 0


def test_pn_counter_checker_with_negative_info_adds() -> None:
    # ok +10, info +5 -1 -1: acceptable sums are 8..10 and 13..15
    history = _history(
        (INVOKE, "add", 0, 10), (OK, "add", 0, 10),
        (INVOKE, "add", 1, 5), (INFO, "add", 1, 5),
        (INVOKE, "add", 2, -1), (INFO, "add", 2, -1),
        (INVOKE, "add", 3, -1), (INFO, "add", 3, -1),
    )  # fmt: skip
    final = [Op(INVOKE, "read", 4, None, index=8, extra={"final?": True})]
    pn = PNCounter(options.TestOptions(), random.Random(0))
    bad = pn.check(history + final + [Op(OK, "read", 4, 11, index=9, extra={"final?": True})])
    assert (bad["valid?"], bad["acceptable"], [op.value for op in bad["errors"]]) == (
        False,
        [[8, 10], [13, 15]],
        [11],
    )
    assert PNCounter.summarize(bad).figure("error-count").value == 1
    good = pn.check(history + final + [Op(OK, "read", 4, 14, index=9, extra={"final?": True})])
    assert good["valid?"] is True and good["errors"] is None


SIM = pytest.mark.parametrize("sim", [False, True], ids=["real", "sim"])


def _run(tmp_path: Path, workload: str, mode: str, sim: bool = False) -> tuple[int, dict[str, Any]]:
    args = [
        "-w", workload, *node_bin(NODE, sim), mode,
        "--node-count", "3", "--rate", "50", "--time-limit", "3", "--nemesis", "partition",
        "--nemesis-interval", "1", "--seed", "1", "--recovery-time", "1", "--no-plots",
        "--store", str(tmp_path),
    ]  # fmt: skip
    code, out = run_test(args, sim)
    results = sorted(tmp_path.glob(f"{workload}/*/results.json"))
    assert results, out
    return code, json.loads(results[-1].read_text())


@SIM
def test_g_set_union_node_is_valid_under_partitions(tmp_path: Path, sim: bool) -> None:
    code, results = _run(tmp_path, "g-set", "gset", sim)
    assert (code, results["valid?"], results["workload"]["lost-count"]) == (0, True, 0)
    assert results["workload"]["stable-count"] == results["workload"]["attempt-count"] > 0


@SIM
def test_g_set_node_that_overwrites_on_merge_loses_values(tmp_path: Path, sim: bool) -> None:
    code, results = _run(tmp_path, "g-set", "gset-replace", sim)
    workload = results["workload"]
    assert (code, results["valid?"], workload["valid?"]) == (1, False, False)
    assert workload["lost-count"] == len(workload["lost"]) > 0
    assert set(workload["lost"]) <= set(range(workload["attempt-count"]))


@SIM
def test_pn_counter_node_is_valid_under_partitions(tmp_path: Path, sim: bool) -> None:
    code, results = _run(tmp_path, "pn-counter", "pn", sim)
    workload = results["workload"]
    assert (code, results["valid?"], workload["final-reads-exact?"]) == (0, True, True)


@SIM
def test_pn_counter_node_merging_net_counts_by_max_is_invalid(tmp_path: Path, sim: bool) -> None:
    code, results = _run(tmp_path, "pn-counter", "pn-max", sim)
    workload = results["workload"]
    assert (code, results["valid?"], workload["valid?"]) == (1, False, False)
    lo, hi = workload["acceptable"][0][0], workload["acceptable"][-1][1]
    assert workload["errors"] and all(not lo <= r <= hi for r in workload["final-reads"])
