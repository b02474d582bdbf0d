"""pn-counter: a counter of positive and negative adds, read back once per thread at the end.

As Maelstrom's ``maelstrom.workload.pn-counter``: ``add {delta}`` -> ``add_ok`` and ``read`` ->
``read_ok {value: Int}``; the generator is ``gen/mix`` of adds (``delta = rand-int(10) - 5``, so
-5..4, zero included) and reads, each picked with probability 1/2. The client does not use
``with-errors``: every error reply, timeout or malformed reply is an ``info`` op with an
exception, so an add is only ever ``ok`` or ``info``. Clients are not reusable. The final phase
(after the heal and the recovery sleep) is one ``{:f :read, :final? true}`` per thread, and the
checker (``harness/checkers/counter.py``) accepts a final read only inside the set of sums the
``ok`` and ``info`` adds allow.

g-counter (``harness/workloads/g_counter.py``) is this workload with negative adds filtered out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from harness.checkers import counter
from harness.history import OK, Op
from harness.schema import INT, body
from harness.summary import Summary
from harness.workloads.base import FinalWorker, RPCClient, Workload, register

ADD_OK = body("add_ok")
READ_OK = body("read_ok", value=INT)


@register
class PNCounter(Workload):
    name: ClassVar[str] = "pn-counter"
    idempotent: ClassVar[frozenset[str]] = frozenset()
    reusable_client: ClassVar[bool] = False
    with_errors: ClassVar[bool] = False
    has_final: ClassVar[bool] = True

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        if self.rng.randrange(2) == 0:
            return {"f": "read", "value": None}
        return {"f": "add", "value": self.rng.randrange(10) - 5}

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        if op.f == "add":
            await client.rpc({"type": "add", "delta": op.value}, ADD_OK)
            return dataclasses.replace(op, type=OK, extra=dict(op.extra))
        if op.f == "read":
            reply = await client.rpc({"type": "read"}, READ_OK)
            return dataclasses.replace(op, type=OK, value=reply["value"], extra=dict(op.extra))
        raise ValueError(f"{self.name} has no op {op.f!r}")

    async def final(self, worker: FinalWorker) -> None:
        await worker.invoke({"f": "read", "value": None, "final?": True})

    def check(self, history: list[Op]) -> dict[str, Any]:
        return counter.check(self.test, history)

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        return counter.summarize(result)
