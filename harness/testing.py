"""Test doubles for workloads, in one place: a scripted client and a recording final-phase worker.

A workload meets the interpreter only through ``RPCClient`` and ``FinalWorker``
(``harness/workloads/base.py``); these stand in for them, so a workload's ``invoke``, ``setup``
and ``final`` run without a network or a node. For node logic see ``common.testing``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.client import MalformedResponse
from harness.history import OK, Op
from harness.schema import Body

__all__ = ["RecordingWorker", "ScriptedClient"]


class ScriptedClient:
    """An ``RPCClient`` whose replies are scripted, and that checks them as the real one does.

    ``replies`` maps a request type to the fields of its reply (the reply's type is the one the
    workload expects), or is a list answered in order, where an exception is raised instead.
    A reply that does not match the expected schema raises ``MalformedResponse``. Every request
    body is kept in ``sent``.
    """

    def __init__(
        self, node: str = "n0", replies: dict[str, dict[str, Any]] | list[Any] | None = None
    ) -> None:
        self.node = node
        self.replies: dict[str, dict[str, Any]] | list[Any] = {} if replies is None else replies
        self.sent: list[dict[str, Any]] = []

    async def rpc(self, body: dict[str, Any], response: Body, timeout: float | None = None) -> dict[str, Any]:
        self.sent.append(body)
        if isinstance(self.replies, list):
            fields = self.replies.pop(0)
            if isinstance(fields, BaseException):
                raise fields
        else:
            fields = self.replies.get(body["type"], {})
        reply = {"type": response.type, "in_reply_to": 1, **fields}
        if errors := response.errors(reply):
            raise MalformedResponse(f"{errors}: {reply}")
        return reply


class RecordingWorker:
    """A ``FinalWorker`` that records the ops a final phase invokes.

    ``complete(op, worker)`` gives each op's completion (default: ``ok`` with the op's value);
    ``sleeps`` records every sleep, and ``max_sleep`` (seconds) bounds it (None: no sleep allowed).
    """

    def __init__(
        self,
        thread: int = 0,
        complete: Callable[[dict[str, Any], RecordingWorker], Op] | None = None,
        max_sleep: float | None = None,
    ) -> None:
        self.thread = thread
        self.ops: list[dict[str, Any]] = []
        self.sleeps: list[float] = []
        self._complete = complete
        self._max_sleep = max_sleep

    async def invoke(self, op: dict[str, Any]) -> Op:
        self.ops.append(op)
        if self._complete is not None:
            return self._complete(op, self)
        return Op(OK, op["f"], self.thread, op.get("value"))

    async def sleep(self, seconds: float) -> None:
        assert self._max_sleep is not None, "this final phase should not sleep"
        assert 0 <= seconds <= self._max_sleep, seconds
        self.sleeps.append(seconds)
