"""Test doubles for workloads, in one place: a scripted client, a recording final-phase worker,
and generated lin-kv histories.

A workload meets the interpreter only through ``RPCClient`` and ``FinalWorker``
(``harness/workloads/base.py``); these stand in for them, so a workload's ``invoke``, ``setup``
and ``final`` run without a network or a node. For node logic see ``common.testing``.

:func:`generate_lin_kv` simulates clients of a correct linearizable store: every op gets an
interval and a linearization point inside it, and the register's values at those points decide
what reads return and whether a cas succeeds (``ok``) or fails (``fail``, a definite error). A
crashed op (``info``) took effect with probability 1/2. ``corrupt`` then changes that many ok
reads to a value they did not see, which usually (not always) makes the history
non-linearizable. The tests and the checker's benchmark (scripts/bench_linearizable.py) use it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from harness.client import MalformedResponse
from harness.history import FAIL, INFO, INVOKE, OK, Op
from harness.schema import Body

__all__ = ["RecordingWorker", "ScriptedClient", "generate_lin_kv"]


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


def generate_lin_kv(
    rng: random.Random,
    n_ops: int,
    keys: int = 1,
    concurrency: int = 2,
    info_fraction: float = 0.0,
    corrupt: int = 0,
    values: int = 5,
) -> list[Op]:
    """A lin-kv history (values ``[k v]``) of about ``n_ops`` client ops over ``keys`` keys;
    ``concurrency`` processes, split evenly over the keys (at least one per key)."""
    per_key = max(1, concurrency // keys)
    # per process: a timeline of ops back to back with random think times
    events: list[tuple[float, int, Op]] = []  # (time, order, op)
    order = 0
    applied: list[tuple[float, int, dict[str, Any]]] = []  # per key: (linearization time, key, op record)
    records: list[dict[str, Any]] = []
    clocks = [rng.random() for _ in range(per_key * keys)]
    for _ in range(n_ops):
        p = min(range(len(clocks)), key=clocks.__getitem__)  # the process that is free first
        k = p // per_key
        start = clocks[p]
        duration = rng.expovariate(1.0) + 0.01
        end = start + duration
        clocks[p] = end + rng.expovariate(4.0)
        f = rng.choice(("read", "write", "cas", "cas"))
        if f == "read":
            value: Any = None
        elif f == "write":
            value = rng.randrange(values)
        else:
            value = [rng.randrange(values), rng.randrange(values)]
        crashed = rng.random() < info_fraction
        rec = {"p": p, "k": k, "f": f, "value": value, "start": start, "end": end, "crashed": crashed}
        rec["point"] = rng.uniform(start, end)
        records.append(rec)
        if not crashed or rng.random() < 0.5:
            applied.append((rec["point"], k, rec))
    state: dict[int, Any] = {}
    for _, k, rec in sorted(applied, key=lambda x: x[0]):
        cur = state.get(k)
        if rec["f"] == "read":
            rec["result"] = cur
        elif rec["f"] == "write":
            state[k] = rec["value"]
        elif cur == rec["value"][0]:
            state[k] = rec["value"][1]
        else:
            rec["failed"] = True
    reads = [r for r in records if r["f"] == "read" and not r["crashed"] and r.get("result") is not None]
    for r in rng.sample(reads, min(corrupt, len(reads))):
        r["result"] = (r["result"] + 1 + rng.randrange(values - 1)) % values
    for rec in records:
        k, f = rec["k"], rec["f"]
        inv_value = [k, rec["value"]]
        events.append((rec["start"], order, Op(INVOKE, f, rec["p"], inv_value)))
        order += 1
        if rec["crashed"]:
            comp = Op(INFO, f, rec["p"], inv_value, error="indeterminate")
        elif f == "read":
            comp = Op(OK, f, rec["p"], [k, rec.get("result")])
        elif rec.get("failed"):
            comp = Op(FAIL, f, rec["p"], inv_value, error=["precondition-failed", "mismatch"])
        else:
            comp = Op(OK, f, rec["p"], inv_value)
        events.append((rec["end"], order, comp))
        order += 1
    events.sort(key=lambda e: (e[0], e[1]))
    history = []
    for i, (t, _, op) in enumerate(events):
        op.index, op.time = i, int(t * 1e9)
        history.append(op)
    # a crashed process gets a new process id for its next op, as Jepsen's interpreter does
    _renumber_after_crashes(history, len(clocks))
    return history


def _renumber_after_crashes(history: list[Op], processes: int) -> None:
    current = list(range(processes))
    for op in history:
        thread = op.process
        assert isinstance(thread, int)
        op.process = current[thread]
        if op.type == INFO:
            current[thread] += processes
    # the process field now carries Jepsen-style process numbers; nothing else refers to threads
