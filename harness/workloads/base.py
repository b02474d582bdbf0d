"""The contract between the interpreter and a workload (see docs/architecture.md).

The interpreter owns threads, processes, clients, the --rate schedule, timeouts and the mapping of
errors to ``fail``/``info``; a workload says which ops to run, how to run one against a node, and
how to check the history.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from harness.history import Op
from harness.options import TestOptions
from harness.summary import FileSection, Summary

if TYPE_CHECKING:
    from harness.schema import Body


class RPCClient(Protocol):
    """What a workload sees of a Maelstrom client bound to one node."""

    node: str

    async def rpc(self, body: dict[str, Any], response: Body, timeout: float | None = None) -> dict[str, Any]:
        """Send ``body`` (``type`` set; ``msg_id`` is assigned) and return the validated reply body.

        Raises ``harness.client.RPCErrorReply``, ``ClientTimeout`` or ``MalformedResponse``.
        """
        ...


class FinalWorker(Protocol):
    """A worker thread in the final phase."""

    thread: int

    async def invoke(self, op: dict[str, Any]) -> Op: ...

    async def sleep(self, seconds: float) -> None: ...


class Workload:
    name: ClassVar[str]
    #: fs whose timeouts and error replies are ``fail`` rather than ``info``
    idempotent: ClassVar[frozenset[str]] = frozenset()
    reusable_client: ClassVar[bool] = False
    #: False: every error, timeout or malformed reply is ``info`` with an exception (g-counter)
    with_errors: ClassVar[bool] = True
    rpc_timeout: ClassVar[float] = 5.0
    has_final: ClassVar[bool] = False

    def __init__(self, test: TestOptions, rng: random.Random) -> None:
        self.test = test
        self.rng = rng

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        """The next main-phase op for free ``thread``: ``{"f": ..., "value": ..., **extra}``."""
        raise NotImplementedError

    def on_complete(self, op: Op) -> None:
        """Called with every client completion, in history order."""

    async def setup(self, clients: Mapping[str, RPCClient]) -> None:
        """Once, before the main phase, with one client per node."""

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        """Run ``op`` (an invocation) and return its ``ok`` completion."""
        raise NotImplementedError

    async def final(self, worker: FinalWorker) -> None:
        """The final phase of one thread (only when ``has_final``)."""

    def check(self, history: list[Op]) -> dict[str, Any]:
        raise NotImplementedError

    def write_files(self, result: Mapping[str, Any], run_dir: Path) -> None:
        """Extra files the checker ``result`` explains itself with (txn-list-append's ``elle/``);
        :meth:`report_files` names them for the report."""

    @classmethod
    def report_files(cls, out_dir: Path) -> FileSection | None:
        """The files :meth:`write_files` wrote that are in ``out_dir``, as the report's section on
        them (None: none there)."""
        return None

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        """The key figures and findings of this workload's checker ``result`` (see harness/summary.py)."""
        return Summary()


REGISTRY: dict[str, type[Workload]] = {}


def register(cls: type[Workload]) -> type[Workload]:
    REGISTRY[cls.name] = cls
    return cls
