"""g-counter: Maelstrom's pn-counter workload with negative deltas filtered out.

Generator ([M] pn_counter.clj + g_counter.clj): ``gen/mix`` of adds (``delta = rand-int(10) - 5``)
and reads, wrapped in a filter that drops negative adds. A rejected op makes the filter ask the mix
again, and the mix re-picks its branch after every op it emits, so each draw is an add with
probability 1/2 and passes with probability 1/2 only for deltas 0..4. The emitted stream is about
1/3 adds (delta uniform in 0..4, zero included) and 2/3 reads.

The client does not use ``with-errors``: every error reply, timeout or malformed reply becomes an
``info`` op with an exception, so adds are never ``fail``. Clients are not reusable. The final
phase is one ``{:f :read, :final? true}`` per thread.
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
class GCounter(Workload):
    name: ClassVar[str] = "g-counter"
    idempotent: ClassVar[frozenset[str]] = frozenset()
    reusable_client: ClassVar[bool] = False
    with_errors: ClassVar[bool] = False
    has_final: ClassVar[bool] = True

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        while True:
            if self.rng.randrange(2) == 0:
                return {"f": "read", "value": None}
            delta = self.rng.randrange(10) - 5
            if delta >= 0:  # the g-counter filter; a rejected add re-draws the whole mix
                return {"f": "add", "value": delta}

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        if op.f == "add":
            await client.rpc({"type": "add", "delta": op.value}, ADD_OK)
            return dataclasses.replace(op, type=OK, extra=dict(op.extra))
        if op.f == "read":
            reply = await client.rpc({"type": "read"}, READ_OK)
            return dataclasses.replace(op, type=OK, value=reply["value"], extra=dict(op.extra))
        raise ValueError(f"g-counter has no op {op.f!r}")

    async def final(self, worker: FinalWorker) -> None:
        await worker.invoke({"f": "read", "value": None, "final?": True})

    def check(self, history: list[Op]) -> dict[str, Any]:
        return counter.check(self.test, history)

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        return counter.summarize(result)
