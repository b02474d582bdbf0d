"""g-set: a grow-only set of integers, adds and reads, read back once per thread at the end.

As Maelstrom's ``maelstrom.workload.g-set``: ``add {element}`` -> ``add_ok`` and ``read`` ->
``read_ok {value: [..]}`` (``null`` passes the schema). The generator is ``gen/mix`` of adds and
reads, each picked with probability 1/2; added elements come from one sequence 0, 1, 2, ...
shared by every thread, so each is a distinct integer. No ``with-errors``: every error reply,
timeout or malformed reply is ``info`` with an exception, reads included. Clients are not
reusable. The final phase (after the heal and the recovery sleep) is one ``{:f :read}`` per thread,
**without** ``:final? true``: Jepsen's ``set-full`` checker (``harness/checkers/set_full.py``)
looks at every ``ok`` read alike.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from typing import Any, ClassVar

from harness.checkers import set_full
from harness.history import OK, Op
from harness.options import TestOptions
from harness.schema import ANY, body, list_of
from harness.summary import Summary
from harness.workloads.base import FinalWorker, RPCClient, Workload, register

ADD_OK = body("add_ok")
READ_OK = body("read_ok", value=list_of(ANY))


@register
class GSet(Workload):
    name: ClassVar[str] = "g-set"
    idempotent: ClassVar[frozenset[str]] = frozenset()
    reusable_client: ClassVar[bool] = False
    with_errors: ClassVar[bool] = False
    has_final: ClassVar[bool] = True

    def __init__(self, test: TestOptions, rng: random.Random) -> None:
        super().__init__(test, rng)
        self._next_element = 0

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        if self.rng.randrange(2) == 0:
            element = self._next_element
            self._next_element += 1
            return {"f": "add", "value": element}
        return {"f": "read", "value": None}

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        if op.f == "add":
            await client.rpc({"type": "add", "element": op.value}, ADD_OK)
            return dataclasses.replace(op, type=OK, extra=dict(op.extra))
        if op.f == "read":
            reply = await client.rpc({"type": "read"}, READ_OK)
            return dataclasses.replace(op, type=OK, value=reply["value"], extra=dict(op.extra))
        raise ValueError(f"g-set has no op {op.f!r}")

    async def final(self, worker: FinalWorker) -> None:
        await worker.invoke({"f": "read", "value": None})

    def check(self, history: list[Op]) -> dict[str, Any]:
        return set_full.check(self.test, history)

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        return set_full.summarize(result, items="elements")
