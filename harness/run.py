"""One test run end to end (``run_once``), a pipeline read top to bottom as Jepsen's ``run!`` is
(jepsen-io/jepsen, jepsen/src/jepsen/core.clj):

1. Records: a fresh ``store/<workload>/<timestamp>/`` with test.json and jepsen.log.
2. Wiring: the clock, the workload, the in-process network (latency, net journal) with the
   lin-kv, seq-kv, lww-kv and lin-tso services on it, the nodes, the nemesis, the interpreter.
3. Execution: every node starts in parallel and must answer ``init`` within the init timeout
   (history time 0 is taken after that); client setup (broadcast's topology); the main phase at
   ``--rate`` for ``--time-limit`` with the nemesis; the final phase, for workloads that have one.
   Teardown cannot be skipped (an ``AsyncExitStack``): clients closed, nodes killed, partitions
   healed, network and journal closed, the history written. A node crash or a failed init or
   setup ends the run there with exit 255: nothing is analysed.
4. Analysis: the workload's checker plus the common ones and the network's.
5. Publication: results.edn/json, plots, index.html; the results and the verdict line on the
   console; the exit code follows the verdict.

What differs between real processes and the simulation (clock, event loop, how a node is made,
its environment, GC and status-line policy) is the :class:`harness.runtime.Runtime` in
``RunConfig.runtime``; this module never asks which one it is. The command line
(``harness.cli``) parses arguments into ``TestOptions`` and ``RunConfig`` and runs ``run_once``
on the runtime's loop under ``cancel_on_signals``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checkers.core import check_all, check_safe
from harness.client import ClientTimeout, RPCClient
from harness.history import INVOKE, NEMESIS, Op
from harness.interpreter import ClientIds, Interpreter, derive_rngs
from harness.nemesis import DbNemesis, Nemesis, PartitionNemesis
from harness.net.checker import net_result
from harness.net.network import Network, latency_sampler
from harness.nodeio import NodeFault, NodeHooks, NodeIO, RunAborted
from harness.options import TestOptions
from harness.progress import Progress
from harness.report import write_report
from harness.results import (
    EXIT_ABORTED,
    exit_code,
    make_run_dir,
    verdict_line,
    write_history,
    write_results,
    write_test_json,
)
from harness.runtime import ProcessRuntime, Runtime
from harness.services import make_services
from harness.shrink.schedule import Schedule, write_schedule
from harness.timeline import write_timeline
from harness.workloads import REGISTRY
from harness.workloads.base import Workload

__all__ = ["RunConfig", "Terminated", "run_once"]


@dataclass
class RunConfig:
    """Run settings that are not test parameters."""

    recovery_seconds: float = 10.0
    init_timeout: float = 10.0
    plots: bool = True
    progress_stream: Any = None
    live_progress: bool | None = None
    #: print every operation on the console as Jepsen does (jepsen.log has them regardless)
    log_ops: bool = True
    #: write the run dir's path into this file (store/latest may be re-pointed by a concurrent run)
    run_dir_file: str | None = None
    #: what runs the nodes: real processes, or the deterministic simulation (harness.runtime)
    runtime: Runtime = field(default_factory=ProcessRuntime)
    #: called with (run dir, history) after a completed run's report, so a caller in this process
    #: (run-challenge's second report) uses the ops instead of reading history.edn back
    on_history: Callable[[Path, list[Op]], None] | None = None
    #: replay this explicit schedule instead of the generator and the nemesis (--schedule)
    schedule: Schedule | None = None


async def run_once(test: TestOptions, config: RunConfig) -> int:
    """Run one test end to end and return its exit code. Needs ``test.seed`` set."""
    progress = Progress(config.progress_stream, live=config.live_progress, show_ops=config.log_ops)
    try:
        return await _Run(test, config, progress).run()
    finally:
        progress.close_log()


class _Run:
    """One run's state; its stages are the methods below, in the order they run."""

    def __init__(self, test: TestOptions, config: RunConfig, progress: Progress) -> None:
        assert test.seed is not None
        self.test = test
        self.config = config
        self.runtime = config.runtime
        self.progress = progress
        self.say = progress.log
        self.rngs = derive_rngs(test.seed)
        self.faults: list[NodeFault] = []
        self.nodes: list[NodeIO] = []
        self.setup_clients: list[RPCClient] = []
        self.nemesis: Nemesis | None = None
        self.interp: Interpreter | None = None
        self.main_cpu: float | None = None  # harness CPU seconds spent in the main phase

    async def run(self) -> int:
        self._open_records()
        self.clock = self.runtime.clock()
        self.runtime.seed_process(self.rngs["nodes"], self.progress.log_file_only)
        try:
            latency = self._latency()
            workload = REGISTRY[self.test.workload](self.test, self.rngs["workload"])
        except (ValueError, AssertionError) as e:
            self.say(f"Oh jeez, I'm sorry, the harness broke: {e}")
            return EXIT_ABORTED
        async with contextlib.AsyncExitStack() as teardown:
            interp = self._wire(workload, latency, teardown)
            aborted = await self._execute(interp, teardown)
        if aborted is not None:
            return self._publish_abort(aborted)
        results = self._analyse(workload, interp)
        return self._publish(results, interp)

    # -- 1. records ---------------------------------------------------------------------------

    def _open_records(self) -> None:
        test, progress = self.test, self.progress
        self.run_dir = run_dir = make_run_dir(test.store, test.workload)
        progress.open_log(run_dir / "jepsen.log")
        write_test_json(test, run_dir)
        progress.log_file_only(f"Test options: {json.dumps(test.to_json(), sort_keys=True)}")
        if self.config.run_dir_file:
            Path(self.config.run_dir_file).write_text(str(run_dir.resolve()) + "\n")
        self.say(f"Running {test.workload} with seed {test.seed} in {run_dir}")

    # -- 2. wiring ----------------------------------------------------------------------------

    def _latency(self) -> Callable[[], int] | None:
        test = self.test
        if test.latency_mean > 0 or test.latency_dist != "constant":
            return latency_sampler(test.latency_mean, test.latency_dist, self.rngs["latency"])
        return None

    def _wire(
        self, workload: Workload, latency: Callable[[], int] | None, teardown: contextlib.AsyncExitStack
    ) -> Interpreter:
        """Network, services, nodes, nemesis and interpreter; each registers its own teardown
        (they run in reverse: the history is written last, after everything has stopped)."""
        test, run_dir, rngs = self.test, self.run_dir, self.rngs
        teardown.callback(self._write_history)
        journal = open(run_dir / "net-journal.jsonl", "wb", buffering=1 << 20)  # noqa: SIM115 (teardown closes it)
        teardown.callback(journal.close)
        # where a node may keep what must survive a kill: per run, so a restarted node finds its
        # files and the next run starts clean (real Maelstrom has none; common/durable.py copes)
        self.node_data = node_data = (run_dir / "node-data").resolve()
        node_data.mkdir(exist_ok=True)
        teardown.enter_context(self.runtime.node_environment(node_data))
        net = self.net = Network(
            latency,
            journal,
            t0_ns=self.clock(),
            log=self.say,
            log_send=test.log_net_send,
            log_recv=test.log_net_recv,
            clock=self.clock,
        )
        teardown.push_async_callback(net.close)
        _start_services(net, rngs["services"], self.say)
        self.fatal: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        hooks = NodeHooks(self._on_fault, self._on_crash, self.progress.node_stderr, test.log_stderr)
        self.nodes = self.runtime.make_nodes(
            test.nodes, net, run_dir / "node-logs", node_data, hooks, rngs["nodes"]
        )
        self.client_ids = ClientIds(net)
        self.nemesis = self._make_nemesis() if test.nemesis else None
        interp = self.interp = Interpreter(
            test,
            workload,
            net,
            self.client_ids,
            rngs["schedule"],
            nemesis=self.nemesis,
            progress=self.progress,
            recovery_seconds=self.config.recovery_seconds,
            t0_ns=net.t0_ns,
            clock=self.clock,
            freeze_gc=self.runtime.freeze_gc,
            schedule=self.config.schedule,
        )
        teardown.callback(self._heal)
        teardown.push_async_callback(self._stop_nodes)
        teardown.callback(self._close_clients)
        return interp

    def _make_nemesis(self) -> Nemesis:
        test, rng = self.test, self.rngs["nemesis"]
        partition = None
        if "partition" in test.nemesis:
            partition = PartitionNemesis(test.nodes, self.net, rng, test.nemesis_interval)
        db = None
        if test.nemesis & {"kill", "pause"}:
            db = DbNemesis(
                test.nemesis,
                self.nodes,
                rng,
                test.nemesis_interval,
                self._restart_init,
                self._on_failed_start,
            )
        return Nemesis(partition, db)

    # node hooks: what a node tells the run

    def _on_fault(self, fault: NodeFault) -> None:
        self.faults.append(fault)
        self.say(
            f"NODE FAULT ({fault.kind}): {fault.message}\n    line: {fault.line}\n    "
            f"(no further stdout of {fault.node} is read; the verdict will be invalid)"
        )

    def _on_crash(self, node: NodeIO) -> None:
        if not self.fatal.done():
            self.fatal.set_exception(RunAborted(node.crash_report()))

    async def _restart_init(self, node: NodeIO) -> None:
        # a fresh client, as at startup; its init passes the hold the killed node is under
        client = self.client_ids.open(node.id)
        self.net.admit(node.id, client.id)
        await _init(client, self.test.nodes, self.config.init_timeout, self.faults)

    def _on_failed_start(self, node: NodeIO, why: str) -> None:
        fault = NodeFault(
            node.id, "failed-restart", f"Node {node.id} did not come back after a kill: {why}", ""
        )
        self.faults.append(fault)
        self.say(f"NODE FAULT ({fault.kind}): {fault.message} (the verdict will be invalid)")

    # -- 3. execution -------------------------------------------------------------------------

    async def _execute(self, interp: Interpreter, teardown: contextlib.AsyncExitStack) -> str | None:
        """Run the phases until they end or a node crashes; returns why the run aborted, if it did.
        The teardown registered in wiring runs after this, whatever happens here."""
        task = asyncio.get_running_loop().create_task(self._phases(interp))
        teardown.push_async_callback(_cancel, task, self.fatal)
        teardown.callback(self.progress.stop)
        try:
            await asyncio.wait({task, self.fatal}, return_when=asyncio.FIRST_COMPLETED)
            if self.fatal.done():
                await _cancel(task)
                self.fatal.result()
            task.result()
        except RunAborted as e:
            return str(e)
        return None

    async def _phases(self, interp: Interpreter) -> None:
        test, progress, client_ids = self.test, self.progress, self.client_ids
        argv = [_program_path(test, self.say), *test.args]
        cwd = tempfile.gettempdir()
        await asyncio.gather(*(node.start(argv, cwd) for node in self.nodes))
        init_clients = [client_ids.open(n) for n in test.nodes]
        await asyncio.gather(
            *(_init(c, test.nodes, self.config.init_timeout, self.faults) for c in init_clients)
        )
        # history time 0 is here, after the nodes are up (Jepsen's with-relative-time)
        interp.t0 = self.clock()
        self.setup_clients.extend(client_ids.open(n, interp.workload.rpc_timeout) for n in test.nodes)
        try:
            await interp.setup({c.node: c for c in self.setup_clients})
        except RunAborted:
            raise
        except Exception as e:
            raise RunAborted(f"Client setup failed: {type(e).__name__}: {e}") from e
        self.say(
            f"Nodes {', '.join(test.nodes)} initialized; running for {test.time_limit:g} s at rate {test.rate:g}"
        )
        progress.phase = "main"
        if self.runtime.status_line:
            progress.start(test.time_limit, lambda: self.net.send_count)
        cpu = time.process_time()
        await interp.main_phase()
        self.main_cpu = time.process_time() - cpu
        progress.phase = "final"
        await interp.final_phase()

    # teardown steps (registered in wiring; they run in the reverse order of registration)

    def _close_clients(self) -> None:
        if self.interp is not None:
            self.interp.close_clients()
        for c in self.setup_clients:
            c.close()

    async def _stop_nodes(self) -> None:
        for node in self.nodes:
            node.kill()
        await asyncio.gather(*(node.stop() for node in self.nodes), return_exceptions=True)

    def _heal(self) -> None:
        if self.nemesis is not None and self.interp is not None:
            self.nemesis.heal(self.interp.now())

    def _write_history(self) -> None:
        interp = self.interp
        if interp is None:
            return
        edn_lines = write_history(interp.history, self.run_dir, interp.history_lines)
        self._write_schedule(interp)
        _write_timeline(interp.history, self.test, self.run_dir, self.say, edn_lines)

    def _write_schedule(self, interp: Interpreter) -> None:
        """The main phase as run (harness.shrink.schedule): ``--schedule`` replays it; ``maelstrom
        shrink`` reads it with the settings a rerun needs (only a repeatable run can be shrunk)."""
        interp.recorded.settings = {
            "repeatable": self.runtime.repeatable,
            "recovery-time": self.config.recovery_seconds,
            "init-timeout": self.config.init_timeout,
        }
        write_schedule(interp.recorded, self.run_dir / "schedule.edn")

    # -- 4. analysis --------------------------------------------------------------------------

    def _analyse(self, workload: Workload, interp: Interpreter) -> dict[str, Any]:
        history, net = interp.history, self.net
        self.op_count = sum(1 for op in history if op.type == INVOKE and op.process != NEMESIS)
        self.lateness = net.lateness_ms()
        net_res = net_result(net.counts(), self.op_count, self.lateness)
        extra = None
        if self.faults:
            extra = {"nodes": {"valid?": False, "faults": [f.to_result() for f in self.faults]}}
        workload_result = check_safe(workload.check, history)
        try:
            workload.write_files(workload_result, self.run_dir)
        except Exception as e:  # explanations are a courtesy: never lose the results over them
            self.say(f"Could not write the workload's explanation files: {e!r}")
        return check_all(self.test, history, workload_result, net_res, extra)

    # -- 5. publication -----------------------------------------------------------------------

    def _publish(self, results: dict[str, Any], interp: Interpreter) -> int:
        run_dir, say, net = self.run_dir, self.say, self.net
        results_edn = write_results(results, run_dir)
        if self.config.plots:
            _write_plots(interp.history, self.test, run_dir, say)
        _write_report(run_dir, say, interp.history)
        if self.config.on_history is not None:  # as the report above: the ops in memory, not history.edn
            self.config.on_history(run_dir, interp.history)
        _print_results(results_edn, run_dir, say)
        lateness = self.lateness
        say(
            f"net: {net.send_count} messages, delivery lateness p50 {lateness.get('p50', 0)} ms, "
            f"p99 {lateness.get('p99', 0)} ms, max {lateness.get('max', 0)} ms ({lateness.get('count', 0)} timed deliveries)"
        )
        if self.main_cpu is not None and self.op_count:
            say(
                f"harness CPU in the main phase: {self.main_cpu:.2f} s, {1e6 * self.main_cpu / max(net.send_count, 1):.0f} µs per message"
            )
        for f in self.faults:
            say(f"NODE FAULT ({f.kind}): {f.message}\n    line: {f.line}")
        say(verdict_line(results["valid?"]))
        return exit_code(results["valid?"])

    def _publish_abort(self, why: str) -> int:
        _write_report(self.run_dir, self.say)
        self.say(why)
        self.say(f"The run could not complete (exit 255). History so far: {self.run_dir / 'history.txt'}")
        return EXIT_ABORTED


async def _cancel(task: asyncio.Task[None], fatal: asyncio.Future[None] | None = None) -> None:
    """Cancel ``task`` (and ``fatal``) if still pending, and wait until it has finished."""
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    if fatal is not None and not fatal.done():
        fatal.cancel()


def _program_path(test: TestOptions, say: Callable[[str], None]) -> str:
    """The absolute path of ``--bin`` (nodes run in another directory), with a warning when it is
    reached through a symlink."""
    bin_path = os.path.abspath(os.path.expanduser(test.bin or ""))
    if os.path.realpath(bin_path) != bin_path and os.path.exists(bin_path):
        say(
            f"WARNING: --bin {test.bin} is reached through a symlink ({os.path.realpath(bin_path)}). Real "
            "Maelstrom starts the canonical path instead, so a symlinked interpreter (a venv's "
            "bin/python) becomes the system one without the venv's packages there. A script whose #! "
            "line finds its interpreter (as every <challenge>/main.py does) runs the same under both."
        )
    return bin_path


async def _init(client: Any, node_ids: list[str], timeout: float, faults: list[NodeFault]) -> None:
    node = client.node
    try:
        reply = await client.request({"type": "init", "node_id": node, "node_ids": list(node_ids)}, timeout)
    except ClientTimeout:
        why = [f for f in faults if f.node == node]
        hint = f" It had a fault first: {why[0].message} (line: {why[0].line})" if why else ""
        raise RunAborted(
            f"Expected node {node} to respond to an init message, but node did not respond within {timeout:g} s.{hint}"
        ) from None
    finally:
        client.close()
    if reply.get("type") == "error":
        raise RunAborted(f"Node {node} answered init with an error: {reply}")
    if reply.get("type") != "init_ok":
        raise RunAborted(f"Expected an init_ok message, but node {node} responded with {reply}")


def _start_services(net: Any, rng: random.Random, say: Callable[[str], None]) -> None:
    """Run lin-kv, seq-kv, lww-kv and lin-tso as network endpoints (one request at a time)."""
    for name, service in make_services(rng).items():

        def deliver(msg: Any, name: str = name, service: Any = service) -> None:
            try:
                reply = service.handle(msg.src, msg.body)
            except Exception:
                say(
                    f"WARN Error in service worker! {name} could not handle {msg.line.decode()}:\n{traceback.format_exc()}"
                )
                return
            if reply is None:
                return
            reply = {**reply, "in_reply_to": msg.body.get("msg_id")}
            if msg.src in net:
                net.send(name, msg.src, reply)

        net.register(name, deliver)


def _write_plots(history: list[Op], test: TestOptions, run_dir: Path, say: Callable[[str], None]) -> None:
    from harness.plots import write_plots  # here: matplotlib takes a while to import

    try:
        write_plots(history, test, run_dir)
    except Exception:
        say(f"WARN could not draw plots:\n{traceback.format_exc()}")


def _write_timeline(
    history: list[Op], test: TestOptions, run_dir: Path, say: Callable[[str], None], edn_lines: list[str]
) -> None:
    try:
        write_timeline(history, run_dir, f"{test.workload} {run_dir.name}", edn_lines)
    except Exception:
        say(f"WARN could not write timeline.html:\n{traceback.format_exc()}")


def _write_report(run_dir: Path, say: Callable[[str], None], history: list[Op] | None = None) -> None:
    try:
        write_report(run_dir, history=history)
    except Exception:
        say(f"WARN could not write index.html:\n{traceback.format_exc()}")


def _print_results(results_edn: str, run_dir: Path, say: Callable[[str], None]) -> None:
    lines = results_edn.splitlines()
    if len(lines) > 60:
        lines = [*lines[:60], f"... ({len(lines) - 60} more lines in {run_dir / 'results.edn'})"]
    say("\n".join(lines))
    say(f"Results in {run_dir}")


class Terminated(Exception):
    """SIGTERM or SIGHUP arrived; the run was cancelled and cleaned up."""


async def cancel_on_signals(coro: Any) -> int:
    """Run ``coro``; on SIGTERM/SIGHUP cancel it (so its cleanup runs) and raise Terminated.

    asyncio.Runner already turns SIGINT (Ctrl-C) into a cancellation followed by KeyboardInterrupt.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig)
        task.cancel()

    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        return await coro
    except asyncio.CancelledError:
        if received:
            raise Terminated(received[0]) from None
        raise
    finally:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
