"""The generator interpreter: worker threads, processes, the --rate schedule, phases, history.

Mirrors Jepsen's interpreter as Maelstrom drives it (jepsen-io/jepsen,
jepsen/src/jepsen/generator/interpreter.clj; jepsen-io/maelstrom, src/maelstrom/core.clj):

* threads ``0..concurrency-1``; thread t talks to ``nodes[t mod n]``; its process starts at t and
  becomes ``p + concurrency`` after every ``info`` completion, when a non-reusable client is
  closed and a fresh one (new ``cK``) is opened for the next op;
* one global schedule: each op at the previous op's time + U[0, 2/rate); when no thread is free
  the op goes as soon as one frees and the schedule restarts there (no catch-up burst); the
  invocation's ``time`` is its scheduled time; free threads are picked round-robin;
* the main phase ends ``time_limit`` after its first op; in-flight ops drain; then, for
  workloads with a final phase: heal, "Waiting for recovery...", a sleep (10 s), and
  ``workload.final`` on every thread.
"""

from __future__ import annotations

import asyncio
import gc
import random
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic_ns
from typing import Any

from edn_format import Symbol

from harness.client import ClientTimeout, MalformedResponse, RPCClient, RPCErrorReply
from harness.edn import history_txt_line
from harness.history import FAIL, INFO, INVOKE, NEMESIS, OK, Keyword, Op, kw
from harness.nemesis import Nemesis
from harness.net.network import Network
from harness.options import TestOptions
from harness.progress import Progress
from harness.shrink.schedule import ClientStep, FaultStep, Schedule, fault_effect
from harness.workloads.base import Workload

__all__ = ["ClientIds", "Interpreter", "datafy_exception", "derive_rngs"]


def derive_rngs(seed: int) -> dict[str, random.Random]:
    """Independent streams from the one run seed, so e.g. message latencies (which depend on
    timing) never shift the generated ops or the partition schedule."""
    master = random.Random(seed)
    return {
        name: random.Random(master.getrandbits(64))
        # "nodes" (simulation only) and "swarm" (--swarm) come last: they change no stream before them
        for name in ("workload", "schedule", "nemesis", "latency", "services", "nodes", "swarm")
    }


class ClientIds:
    """One global counter of client ids: init clients, then setup clients, then workers."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.next = 0

    def open(self, node: str, timeout: float = 5.0) -> RPCClient:
        cid = f"c{self.next}"
        self.next += 1
        return RPCClient(self.net, cid, node, timeout)


def _edn_str(value: Any) -> str:
    """A short Clojure-ish rendering of a reply body for exception messages."""
    if isinstance(value, dict):
        return "{" + ", ".join(f":{k} {_edn_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + " ".join(_edn_str(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _kw_keys(data: dict[str, Any]) -> dict[Keyword, Any]:
    return {kw(k): v for k, v in data.items()}


def datafy_exception(e: BaseException) -> tuple[dict[Keyword, Any], str]:
    """``(exception, message)`` shaped like the datafied Clojure exception Maelstrom records."""
    if isinstance(e, RPCErrorReply):
        definite = "true" if e.definite else "false"
        data = {
            "type": kw("rpc-error"),
            "code": e.code,
            "name": e.name,
            "definite?": e.definite,
            "body": _kw_keys(e.body),
        }
        message = (
            f"throw+: {{:type :rpc-error, :code {_edn_str(e.code)}, :name :{e.name.name}, "
            f":definite? {definite}, :body {_edn_str(e.body)}}}"
        )
        cls = "clojure.lang.ExceptionInfo"
    elif isinstance(e, ClientTimeout):
        data = {"type": kw("maelstrom.client/timeout"), "name": kw("timeout"), "definite?": False, "code": 0}
        message = str(e)
        cls = "clojure.lang.ExceptionInfo"
    elif isinstance(e, MalformedResponse):
        data = {"type": kw("malformed-rpc-response")}
        message = str(e)
        cls = "clojure.lang.ExceptionInfo"
    else:
        data = None
        message = f"{type(e).__name__}: {e}"
        cls = f"python.{type(e).__name__}"
    # keyword keys and a symbol class, as in the history.edn Maelstrom writes
    via: dict[Keyword, Any] = {kw("type"): Symbol(cls), kw("message"): message}
    if data is not None:
        via[kw("data")] = _kw_keys(data)
    exception: dict[Keyword, Any] = {kw("via"): [via], kw("cause"): message}
    if data is not None:
        exception[kw("data")] = _kw_keys(data)
    return exception, message


async def _freeze_survivors(period: float = 1.0) -> None:
    """Move everything alive into the GC's permanent generation, every ``period`` seconds.

    The history only grows, so without this each full collection walks all of it, and those
    pauses (tens of ms late in a long run) would show up as message lateness and op latency.
    """
    gc.set_threshold(20_000, 20, 20)
    while True:
        await asyncio.sleep(period)
        gc.freeze()


@dataclass(slots=True)
class Worker:
    thread: int
    node: str
    process: int
    client: RPCClient | None = None
    busy: bool = False


@dataclass
class FinalWorkerImpl:
    """What ``Workload.final`` gets: one thread's normal op path, plus sleep."""

    interpreter: Interpreter
    worker: Worker
    thread: int = field(init=False)

    def __post_init__(self) -> None:
        self.thread = self.worker.thread

    async def invoke(self, op: dict[str, Any]) -> Op:
        return await self.interpreter.run_op(self.worker, op)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Interpreter:
    def __init__(
        self,
        test: TestOptions,
        workload: Workload,
        net: Network,
        client_ids: ClientIds,
        schedule_rng: random.Random,
        *,
        nemesis: Nemesis | None = None,
        progress: Progress | None = None,
        recovery_seconds: float = 10.0,
        t0_ns: int | None = None,
        clock: Callable[[], int] = monotonic_ns,
        freeze_gc: bool = True,
        schedule: Schedule | None = None,
    ) -> None:
        #: ns on the event loop's clock (monotonic_ns, or the simulation's virtual time)
        self.clock = clock
        #: move survivors into the GC's permanent generation (real time only: see _freeze_survivors)
        self.freeze_gc = freeze_gc
        self.test = test
        self.workload = workload
        self.net = net
        self.client_ids = client_ids
        self.rng = schedule_rng
        self.nemesis = nemesis
        self.progress = progress or Progress(live=False)
        self.recovery_seconds = recovery_seconds
        self.t0 = clock() if t0_ns is None else t0_ns
        self.history: list[Op] = []
        #: each op's history.txt line, made once when it is recorded (for jepsen.log) and written
        #: to history.txt at the end (ops are not changed once recorded)
        self.history_lines: list[str] = []
        self.concurrency = test.concurrency
        nodes = test.nodes
        self.workers = [Worker(t, nodes[t % len(nodes)], t) for t in range(self.concurrency)]
        self._next_thread = 0
        self._freed: asyncio.Event = asyncio.Event()
        self._inflight: set[asyncio.Task[Op]] = set()
        self.log: Callable[[str], None] = self.progress.log
        #: an explicit schedule to replay instead of the generator and the nemesis (--schedule)
        self.replay = schedule
        #: what the main phase ran, replayable (written as the run's schedule.edn)
        self.recorded = Schedule()
        self._main_start: int | None = None

    # -- time and history -----------------------------------------------------------------------

    def now(self) -> int:
        return self.clock() - self.t0

    def record(self, op: Op) -> Op:
        op.index = len(self.history)
        self.history.append(op)
        line = history_txt_line(op)
        self.history_lines.append(line)
        self.progress.op("nemesis" if op.process == NEMESIS else self._thread_of(op.process), line)
        return op

    def _thread_of(self, process: Any) -> Any:
        return process % self.concurrency if isinstance(process, int) and self.concurrency else process

    # -- running one op -------------------------------------------------------------------------

    async def run_op(self, worker: Worker, op: dict[str, Any], time_ns: int | None = None) -> Op:
        """Invoke ``op`` on ``worker``'s node, record invocation and completion, return the latter."""
        wl = self.workload
        extra = {k: v for k, v in op.items() if k not in ("f", "value")}
        f = op["f"]
        if worker.client is None:
            worker.client = self.client_ids.open(worker.node, wl.rpc_timeout)
        invoke = self.record(
            Op(
                INVOKE,
                f,
                worker.process,
                op.get("value"),
                self.now() if time_ns is None else time_ns,
                extra=extra,
            )
        )
        try:
            done = await wl.invoke(worker.client, invoke)
            completion = Op(
                done.type or OK,
                done.f or f,
                worker.process,
                done.value,
                0,
                error=done.error,
                extra={**extra, **done.extra},
            )
        except asyncio.CancelledError:
            raise
        except Exception as e:
            completion = self._map_error(invoke, e)
        completion.time = self.now()
        self.record(completion)
        self.progress.completed(completion.type)
        if completion.type == INFO:
            worker.process += self.concurrency
            if not wl.reusable_client:
                worker.client.close()
                worker.client = None
        wl.on_complete(completion)
        return completion

    def _map_error(self, invoke: Op, e: Exception) -> Op:
        wl = self.workload
        f = invoke.f
        base = dict(invoke.extra)
        if wl.with_errors and isinstance(e, RPCErrorReply):
            type_ = FAIL if (e.definite or f in wl.idempotent) else INFO
            return Op(type_, f, invoke.process, invoke.value, error=[e.name, e.text], extra=base)
        if wl.with_errors and isinstance(e, ClientTimeout):
            type_ = FAIL if f in wl.idempotent else INFO
            return Op(type_, f, invoke.process, invoke.value, error=kw("net-timeout"), extra=base)
        if not isinstance(e, (RPCErrorReply, ClientTimeout, MalformedResponse)):
            # not a node's doing: most likely a bug in a workload client; show it
            self.log(
                f"WARN unexpected exception in {f} (process {invoke.process}):\n{traceback.format_exc()}"
            )
        exception, message = datafy_exception(e)
        return Op(
            INFO,
            f,
            invoke.process,
            invoke.value,
            error=f"indeterminate: {message}",
            extra={**base, "exception": exception},
        )

    async def _run_and_free(self, worker: Worker, op: dict[str, Any], time_ns: int) -> Op:
        try:
            return await self.run_op(worker, op, time_ns)
        finally:
            worker.busy = False
            self._freed.set()

    def _free_worker(self) -> Worker | None:
        n = self.concurrency
        for i in range(n):
            w = self.workers[(self._next_thread + i) % n]
            if not w.busy:
                self._next_thread = (w.thread + 1) % n
                return w
        return None

    # -- phases ---------------------------------------------------------------------------------

    async def setup(self, clients_by_node: dict[str, RPCClient]) -> None:
        await self.workload.setup(clients_by_node)

    async def main_phase(self) -> None:
        """Client ops at --rate and the nemesis, until time_limit after the first op; then drain."""
        start = self.now()
        cutoff = start + int(self.test.time_limit * 1e9)
        nemesis_task = None
        gc_task = asyncio.get_running_loop().create_task(
            _freeze_survivors() if self.freeze_gc else asyncio.sleep(0)
        )
        self._main_start = start
        if self.replay is not None:
            try:
                await self._replay(self.replay, start, cutoff)
            finally:
                gc_task.cancel()
                self._main_start = None
            return
        if self.nemesis is not None:
            nemesis_task = asyncio.get_running_loop().create_task(self._nemesis_loop(start, cutoff))
        try:
            if self.test.rate <= 0 or self.concurrency <= 0:
                await asyncio.sleep(max(0, cutoff - self.now()) / 1e9)
            else:
                await self._client_loop(start, cutoff)
            if nemesis_task is not None:
                await nemesis_task
            if self._inflight:
                await asyncio.gather(*self._inflight, return_exceptions=True)
        finally:
            gc_task.cancel()
            if nemesis_task is not None and not nemesis_task.done():
                nemesis_task.cancel()
            for t in self._inflight:
                t.cancel()
            self._main_start = None

    async def _client_loop(self, start: int, cutoff: int) -> None:
        mean_gap = 1e9 / self.test.rate
        loop = asyncio.get_running_loop()
        next_time = start
        wl = self.workload
        while next_time < cutoff:
            delay = next_time - self.now()
            if delay > 0:
                await asyncio.sleep(delay / 1e9)
            worker = self._free_worker()
            if worker is None:
                # every thread busy: issue when one frees, and restart the schedule there
                while worker is None:
                    self._freed.clear()
                    remaining = (cutoff - self.now()) / 1e9
                    if remaining <= 0:
                        return
                    try:
                        await asyncio.wait_for(self._freed.wait(), remaining)
                    except TimeoutError:
                        return
                    worker = self._free_worker()
                next_time = self.now()
                if next_time >= cutoff:
                    return
            op = wl.next_op(worker.thread, next_time)
            if op is None:
                # nothing to do for now: look again shortly
                next_time = self.now() + 10_000_000
                continue
            worker.busy = True
            self.recorded.record_op(next_time - start, worker.thread, op)
            task = loop.create_task(self._run_and_free(worker, op, next_time))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            next_time += int(self.rng.random() * 2 * mean_gap)

    async def _nemesis_loop(self, start: int, cutoff: int) -> None:
        assert self.nemesis is not None
        await asyncio.gather(*(self._nemesis_stream(s, start, cutoff) for s in self.nemesis.streams))

    async def _nemesis_stream(self, stream: Any, start: int, cutoff: int) -> None:
        t = start
        while t < cutoff:
            delay = t - self.now()
            if delay > 0:
                await asyncio.sleep(delay / 1e9)
            f, value = stream.next_op()
            await self.nemesis_op(f, value, t)
            t = max(t, self.now()) + int(stream.next_delay() * 1e9)

    # -- an explicit schedule (--schedule) -------------------------------------------------------

    async def _replay(self, schedule: Schedule, start: int, cutoff: int) -> None:
        """The schedule's ops, each on its thread at its time (or once the thread's previous op
        is done), and its nemesis events with their recorded effects; then drain."""
        threads: dict[int, list[ClientStep]] = {}
        for step in schedule.ops:
            if step.thread < self.concurrency and start + step.time < cutoff:
                threads.setdefault(step.thread, []).append(step)
        jobs = [self._replay_thread(self.workers[t], steps, start) for t, steps in sorted(threads.items())]
        if self.nemesis is not None:
            faults = [s for s in schedule.faults if start + s.time < cutoff]
            jobs.append(self._replay_faults(faults, start))
        await asyncio.gather(*jobs)

    async def _replay_thread(self, worker: Worker, steps: list[ClientStep], start: int) -> None:
        for step in steps:
            at = start + step.time
            if at > self.now():
                await asyncio.sleep((at - self.now()) / 1e9)
            self.recorded.ops.append(step)
            worker.busy = True
            try:
                await self.run_op(worker, step.op, max(at, self.now()))
            finally:
                worker.busy = False

    async def _replay_faults(self, steps: list[FaultStep], start: int) -> None:
        for step in steps:
            at = start + step.time
            if at > self.now():
                await asyncio.sleep((at - self.now()) / 1e9)
            await self.nemesis_op(step.f, step.value, at, replay=step)

    async def nemesis_op(
        self, f: str, value: Keyword | None, time_ns: int | None = None, replay: FaultStep | None = None
    ) -> Op:
        """One nemesis op through the single nemesis thread: invocation and completion, both :info.
        ``replay``: apply this recorded event's effect rather than drawing targets."""
        nemesis = self.nemesis
        assert nemesis is not None
        waited = nemesis.lock.locked()  # behind another nemesis op (a restart's init, say)
        async with nemesis.lock:
            invoked = self.now() if time_ns is None or waited else time_ns
            self.record(Op(INFO, f, NEMESIS, value, invoked))
            try:
                if replay is not None:
                    result = await nemesis.invoke(f, value, self.now(), effect=replay.effect)
                else:
                    result = await nemesis.invoke(f, value, self.now())
                if self._main_start is not None:  # a main-phase event (not the final heal)
                    if replay is not None:
                        self.recorded.faults.append(replay)
                    else:
                        self.recorded.record_fault(
                            invoked - self._main_start, f, value, fault_effect(f, result)
                        )
                done = Op(INFO, f, NEMESIS, result, self.now())
            except asyncio.CancelledError:
                raise
            except Exception as e:
                # Jepsen: a nemesis op that throws completes :info with the error; the test goes on
                self.log(f"WARN nemesis {f} failed:\n{traceback.format_exc()}")
                exception, message = datafy_exception(e)
                done = Op(
                    INFO,
                    f,
                    NEMESIS,
                    value,
                    self.now(),
                    error=f"indeterminate: {message}",
                    extra={"exception": exception},
                )
            return self.record(done)

    async def final_phase(self) -> None:
        """Heal, wait for recovery, then the workload's final ops on every thread."""
        if not self.workload.has_final:
            return
        if self.nemesis is not None:
            for f, value in self.nemesis.final_ops():
                await self.nemesis_op(f, value)
        self.log("Waiting for recovery...")
        await asyncio.sleep(self.recovery_seconds)
        await asyncio.gather(*(self.workload.final(FinalWorkerImpl(self, w)) for w in self.workers))

    def close_clients(self) -> None:
        for w in self.workers:
            if w.client is not None:
                w.client.close()
                w.client = None
