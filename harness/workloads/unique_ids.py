"""Maelstrom's unique-ids workload: ``generate`` returns an id; no id may be handed out twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

from harness.history import OK, Op
from harness.schema import ANY, body
from harness.workloads.base import RPCClient, Workload, register

GENERATE_OK = body("generate_ok", id=ANY)


def _checker() -> Callable[..., dict[str, Any]]:
    # written by another engineer; imported lazily so a missing module fails clearly, at check time
    try:
        from harness.checkers.unique_ids import check
    except ModuleNotFoundError as e:
        raise RuntimeError(f"the unique-ids checker is not available ({e})") from e
    return check


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
        return _checker()(self.test, history)
