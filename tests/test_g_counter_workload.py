"""The g-counter workload: generator mix, client calls, final phase, error propagation."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from harness import options
from harness.client import MalformedResponse
from harness.history import INVOKE, OK, Op
from harness.testing import RecordingWorker, ScriptedClient
from harness.workloads import REGISTRY
from harness.workloads.g_counter import GCounter


def test_registered_with_maelstrom_client_semantics() -> None:
    assert REGISTRY["g-counter"] is GCounter
    assert GCounter.with_errors is False
    assert GCounter.reusable_client is False
    assert GCounter.has_final is True
    assert GCounter.idempotent == frozenset()


def test_mix_is_one_third_adds_with_deltas_zero_to_four() -> None:
    workload = GCounter(options.TestOptions(workload="g-counter"), random.Random(7))
    fs: Counter[str] = Counter()
    deltas: Counter[int] = Counter()
    for _ in range(30_000):
        op = workload.next_op(0, 0)
        assert op is not None
        fs[op["f"]] += 1
        if op["f"] == "add":
            deltas[op["value"]] += 1
        else:
            assert op["value"] is None
    assert abs(fs["add"] / 30_000 - 1 / 3) < 0.015
    assert set(deltas) == {0, 1, 2, 3, 4}
    assert max(deltas.values()) / min(deltas.values()) < 1.15


def test_same_seed_same_ops() -> None:
    a = GCounter(options.TestOptions(), random.Random(3))
    b = GCounter(options.TestOptions(), random.Random(3))
    assert [a.next_op(0, 0) for _ in range(50)] == [b.next_op(0, 0) for _ in range(50)]


def test_invoke_add_and_read() -> None:
    workload = GCounter(options.TestOptions(), random.Random(0))
    client = ScriptedClient("n0", [{"type": "add_ok"}, {"type": "read_ok", "value": 12}])
    add = asyncio.run(workload.invoke(client, Op(INVOKE, "add", 0, 3)))
    read = asyncio.run(workload.invoke(client, Op(INVOKE, "read", 0, None, extra={"final?": True})))
    assert client.sent == [{"type": "add", "delta": 3}, {"type": "read"}]
    assert (add.type, add.value) == (OK, 3)
    assert (read.type, read.value, read.final) == (OK, 12, True)


def test_malformed_read_and_rpc_errors_propagate() -> None:
    workload = GCounter(options.TestOptions(), random.Random(0))
    client = ScriptedClient("n0", [{"type": "read_ok", "value": 1.5}, RuntimeError("rpc error 11")])
    with pytest.raises(MalformedResponse):
        asyncio.run(workload.invoke(client, Op(INVOKE, "read", 0, None)))
    with pytest.raises(RuntimeError):
        asyncio.run(workload.invoke(client, Op(INVOKE, "add", 0, 1)))


def test_final_phase_is_one_final_read() -> None:
    workload = GCounter(options.TestOptions(), random.Random(0))
    worker = RecordingWorker(complete=lambda op, _: Op(OK, op["f"], 0, 0))
    asyncio.run(workload.final(worker))
    assert worker.ops == [{"f": "read", "value": None, "final?": True}]
