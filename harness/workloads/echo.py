"""Maelstrom's echo workload (M:workload/echo.clj): send a string, expect it echoed back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from harness.checkers import echo as checker
from harness.history import OK, Op
from harness.schema import ANY, body
from harness.summary import Summary
from harness.workloads.base import RPCClient, Workload, register

ECHO_OK = body("echo_ok", echo=ANY)


@register
class Echo(Workload):
    name: ClassVar[str] = "echo"

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        return {"f": "echo", "value": f"Please echo {self.rng.randrange(128)}"}

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        reply = await client.rpc({"type": "echo", "echo": op.value}, ECHO_OK)
        # Maelstrom records the whole reply body as the ok value
        return replace(op, type=OK, value=reply)

    def check(self, history: list[Op]) -> dict[str, Any]:
        return checker.check(self.test, history)

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        return checker.summarize(result)
