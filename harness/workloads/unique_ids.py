"""Maelstrom's unique-ids workload: ``generate`` returns an id; no id may be handed out twice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from harness.checkers import unique_ids as checker
from harness.history import OK, Op
from harness.schema import ANY, body
from harness.summary import Summary
from harness.workloads.base import RPCClient, Workload, register

GENERATE_OK = body("generate_ok", id=ANY)


@register
class UniqueIds(Workload):
    name: ClassVar[str] = "unique-ids"
    reusable_client: ClassVar[bool] = True

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        return {"f": "generate"}

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        reply = await client.rpc({"type": "generate"}, GENERATE_OK)
        return replace(op, type=OK, value=reply["id"])

    def check(self, history: list[Op]) -> dict[str, Any]:
        return checker.check(self.test, history)

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        return checker.summarize(result)
