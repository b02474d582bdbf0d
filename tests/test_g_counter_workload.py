"""The g-counter workload: generator mix, client calls, final phase, error propagation."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from harness import options
from harness.history import INVOKE, OK, Op
from harness.schema import Body
from harness.workloads import REGISTRY
from harness.workloads.g_counter import GCounter


class FakeClient:
    node = "n0"

    def __init__(self, replies: list[Any]) -> None:
        self.replies = replies
        self.sent: list[dict[str, Any]] = []

    async def rpc(self, body: dict[str, Any], response: Body, timeout: float | None = None) -> dict[str, Any]:
        self.sent.append(body)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        errors = response.errors({**reply, "in_reply_to": 1})
        if errors:
            raise ValueError(errors)  # stands in for MalformedResponse
        return reply


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
    client = FakeClient([{"type": "add_ok"}, {"type": "read_ok", "value": 12}])
    add = asyncio.run(workload.invoke(client, Op(INVOKE, "add", 0, 3)))
    read = asyncio.run(workload.invoke(client, Op(INVOKE, "read", 0, None, extra={"final?": True})))
    assert client.sent == [{"type": "add", "delta": 3}, {"type": "read"}]
    assert (add.type, add.value) == (OK, 3)
    assert (read.type, read.value, read.final) == (OK, 12, True)


def test_malformed_read_and_rpc_errors_propagate() -> None:
    workload = GCounter(options.TestOptions(), random.Random(0))
    client = FakeClient([{"type": "read_ok", "value": 1.5}, RuntimeError("rpc error 11")])
    with pytest.raises(ValueError):
        asyncio.run(workload.invoke(client, Op(INVOKE, "read", 0, None)))
    with pytest.raises(RuntimeError):
        asyncio.run(workload.invoke(client, Op(INVOKE, "add", 0, 1)))


def test_final_phase_is_one_final_read() -> None:
    workload = GCounter(options.TestOptions(), random.Random(0))
    invoked: list[dict[str, Any]] = []

    class Worker:
        thread = 0

        async def invoke(self, op: dict[str, Any]) -> Op:
            invoked.append(op)
            return Op(OK, op["f"], 0, 0)

        async def sleep(self, seconds: float) -> None:
            raise AssertionError("the counter final phase does not sleep")

    asyncio.run(workload.final(Worker()))
    assert invoked == [{"f": "read", "value": None, "final?": True}]
