"""One test run end to end: ``run_once`` and its helpers.

The order mirrors Jepsen's core ``run!`` (maelstrom-runner.md §2.1):

1. Store dir: a fresh ``store/<workload>/<timestamp>/`` with test.json.
2. Network and services: the in-process network (latency, net journal) and the lin-kv, seq-kv,
   lww-kv and lin-tso services as endpoints on it.
3. Nodes and init: every node process starts in parallel and must answer ``init`` with
   ``init_ok`` within the init timeout; history time 0 is taken after that.
4. Client setup: one setup client per node and the workload's ``setup`` (broadcast's topology).
5. Main phase with nemesis: the interpreter runs the generator at ``--rate`` for ``--time-limit``
   while the partition nemesis (if any) cuts the network.
6. Final phase, only for workloads that have one: heal, recovery sleep, final reads.
7. Teardown, always: clients closed, nodes killed, partitions healed, network and journal
   closed, the history written. A node crash or a failed init or setup ends the run here with
   exit 255: the checkers do not run.
8. Checkers: the workload's checker plus the common ones; results.edn/json, plots, index.html.
9. Results: printed with the verdict line; the exit code follows the verdict.

The command line (``harness.cli``) parses arguments into ``TestOptions`` and ``RunConfig`` and
drives ``run_once`` on ``precise_event_loop`` under ``cancel_on_signals``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import selectors
import signal
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import monotonic_ns
from typing import Any

from harness.checkers.core import check_all, check_safe
from harness.client import ClientTimeout
from harness.history import INVOKE, NEMESIS, Op
from harness.interpreter import ClientIds, Interpreter, derive_rngs
from harness.nemesis import DbNemesis, Nemesis, PartitionNemesis
from harness.net.checker import net_result
from harness.net.network import Network, latency_sampler
from harness.nodeio import NodeFault, RunAborted
from harness.options import TestOptions
from harness.processes import NodeProcess
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
from harness.services import make_services
from harness.timeline import write_timeline
from harness.workloads import REGISTRY

__all__ = ["RunConfig", "Terminated", "precise_event_loop", "run_once"]


@dataclass
class RunConfig:
    """Runtime settings that are not test parameters."""

    recovery_seconds: float = 10.0
    init_timeout: float = 10.0
    plots: bool = True
    progress_stream: Any = None
    live_progress: bool | None = None
    #: print every operation on the console as Jepsen does (jepsen.log has them regardless)
    log_ops: bool = True
    #: write the run dir's path into this file (store/latest may be re-pointed by a concurrent run)
    run_dir_file: str | None = None
    #: deterministic simulation (harness.sim): nodes in-process, on the loop's virtual clock
    sim: bool = False
    #: called with (run dir, history) after a completed run's report, so a caller in this process
    #: (run-challenge's second report) uses the ops instead of reading history.edn back
    on_history: Callable[[Path, list[Op]], None] | None = None


async def run_once(test: TestOptions, config: RunConfig) -> int:
    """Run one test end to end and return its exit code. Needs ``test.seed`` set."""
    progress = Progress(config.progress_stream, live=config.live_progress, show_ops=config.log_ops)
    try:
        return await _run_once(test, config, progress)
    finally:
        progress.close_log()


async def _run_once(test: TestOptions, config: RunConfig, progress: Progress) -> int:
    assert test.seed is not None
    say = progress.log
    rngs = derive_rngs(test.seed)
    run_dir = make_run_dir(test.store, test.workload)
    progress.open_log(run_dir / "jepsen.log")
    write_test_json(test, run_dir)
    progress.log_file_only(f"Test options: {json.dumps(test.to_json(), sort_keys=True)}")
    if config.run_dir_file:
        Path(config.run_dir_file).write_text(str(run_dir.resolve()) + "\n")
    say(f"Running {test.workload} with seed {test.seed} in {run_dir}")

    loop = asyncio.get_running_loop()
    if config.sim:
        from harness.sim import SimLoop

        if not isinstance(loop, SimLoop):
            raise RuntimeError("a --sim run needs the simulation's event loop (harness.sim.SimLoop)")
        # history, network and schedule all on the virtual clock (ns); nothing reads the wall clock
        clock: Callable[[], int] = loop.time_ns
        # node code that draws from the global random (not its node's) still repeats with the seed
        random.seed(rngs["nodes"].getrandbits(64))
        progress.log_file_only("Deterministic simulation (--sim): nodes in-process, on virtual time")
    else:
        clock = monotonic_ns
    try:
        latency = None
        if test.latency_mean > 0 or test.latency_dist != "constant":
            latency = latency_sampler(test.latency_mean, test.latency_dist, rngs["latency"])
        workload = REGISTRY[test.workload](test, rngs["workload"])
    except (ValueError, AssertionError) as e:
        say(f"Oh jeez, I'm sorry, the harness broke: {e}")
        return EXIT_ABORTED

    journal = open(run_dir / "net-journal.jsonl", "wb", buffering=1 << 20)  # noqa: SIM115 (closed in finally)
    t0 = clock()
    net = Network(
        latency,
        journal,
        t0_ns=t0,
        log=say,
        log_send=test.log_net_send,
        log_recv=test.log_net_recv,
        clock=clock,
    )
    faults: list[NodeFault] = []
    fatal: asyncio.Future[None] = loop.create_future()

    def on_fault(fault: NodeFault) -> None:
        faults.append(fault)
        say(
            f"NODE FAULT ({fault.kind}): {fault.message}\n    line: {fault.line}\n    "
            f"(no further stdout of {fault.node} is read; the verdict will be invalid)"
        )

    def on_crash(node: Any) -> None:
        if not fatal.done():
            fatal.set_exception(RunAborted(node.crash_report()))

    _start_services(net, rngs["services"], say)
    bin_path = os.path.abspath(os.path.expanduser(test.bin or ""))
    if os.path.realpath(bin_path) != bin_path and os.path.exists(bin_path):
        say(
            f"WARNING: --bin {test.bin} is reached through a symlink ({os.path.realpath(bin_path)}). Real "
            "Maelstrom starts the canonical path instead, so a symlinked interpreter (a venv's "
            "bin/python) becomes the system one without the venv's packages there. A script whose #! "
            "line finds its interpreter (as every <challenge>/main.py does) runs the same under both."
        )
    argv = [bin_path, *test.args]
    # where a node may keep what must survive a kill: per run, so a restarted node finds its files
    # and the next run starts clean (real Maelstrom has no such directory; common/durable.py copes)
    node_data = (run_dir / "node-data").resolve()
    node_data.mkdir(exist_ok=True)
    node_env = {**os.environ, "MAELSTROM_DATA_DIR": str(node_data)}
    nodes: list[Any]

    def node_kwargs(n: str) -> dict[str, Any]:
        return {
            "on_fault": on_fault,
            "on_crash": on_crash,
            "console": functools.partial(progress.node_stderr, n),
            "log_stderr": test.log_stderr,
        }

    if config.sim:
        from harness.sim import SimNode

        node_seed = rngs["nodes"].getrandbits(64)
        nodes = [
            SimNode(
                n,
                net,
                run_dir / "node-logs" / f"{n}.log",
                data_dir=node_data,
                seed=node_seed,
                **node_kwargs(n),
            )
            for n in test.nodes
        ]
    else:
        nodes = [
            NodeProcess(n, net, run_dir / "node-logs" / f"{n}.log", env=node_env, **node_kwargs(n))
            for n in test.nodes
        ]
    client_ids = ClientIds(net)
    nemesis = None
    if test.nemesis:

        async def restart_init(node: Any) -> None:
            # a fresh client, as at startup; its init passes the hold the killed node is under
            client = client_ids.open(node.id)
            net.admit(node.id, client.id)
            await _init(client, test.nodes, config.init_timeout, faults)

        def on_failed_start(node: Any, why: str) -> None:
            fault = NodeFault(
                node.id, "failed-restart", f"Node {node.id} did not come back after a kill: {why}", ""
            )
            faults.append(fault)
            say(f"NODE FAULT ({fault.kind}): {fault.message} (the verdict will be invalid)")

        nemesis = Nemesis(
            PartitionNemesis(test.nodes, net, rngs["nemesis"], test.nemesis_interval)
            if "partition" in test.nemesis
            else None,
            DbNemesis(
                test.nemesis,
                nodes,
                rngs["nemesis"],
                test.nemesis_interval,
                restart_init,
                on_failed_start,
            )
            if test.nemesis & {"kill", "pause"}
            else None,
        )
    interp = Interpreter(
        test,
        workload,
        net,
        client_ids,
        rngs["schedule"],
        nemesis=nemesis,
        progress=progress,
        recovery_seconds=config.recovery_seconds,
        t0_ns=t0,
        clock=clock,
        freeze_gc=not config.sim,
    )
    setup_clients: list[Any] = []
    main_cpu: list[float] = []  # harness CPU seconds spent in the main phase

    async def body() -> None:
        cwd = tempfile.gettempdir()
        await asyncio.gather(*(node.start(argv, cwd) for node in nodes))
        init_clients = [client_ids.open(n) for n in test.nodes]
        await asyncio.gather(*(_init(c, test.nodes, config.init_timeout, faults) for c in init_clients))
        # history time 0 is here, after the nodes are up (Jepsen's with-relative-time)
        interp.t0 = clock()
        setup_clients.extend(client_ids.open(n, workload.rpc_timeout) for n in test.nodes)
        try:
            await interp.setup({c.node: c for c in setup_clients})
        except RunAborted:
            raise
        except Exception as e:
            raise RunAborted(f"Client setup failed: {type(e).__name__}: {e}") from e
        say(
            f"Nodes {', '.join(test.nodes)} initialized; running for {test.time_limit:g} s at rate {test.rate:g}"
        )
        progress.phase = "main"
        if not config.sim:  # a status line on virtual time would only flicker past
            progress.start(test.time_limit, lambda: net.send_count)
        cpu = time.process_time()
        await interp.main_phase()
        main_cpu.append(time.process_time() - cpu)
        progress.phase = "final"
        await interp.final_phase()

    aborted: str | None = None
    saved_data_dir = os.environ.get("MAELSTROM_DATA_DIR")
    if config.sim:  # the simulated nodes share this process's environment: name their dir there
        os.environ["MAELSTROM_DATA_DIR"] = str(node_data)
    task = loop.create_task(body())
    try:
        await asyncio.wait({task, fatal}, return_when=asyncio.FIRST_COMPLETED)
        if fatal.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            fatal.result()
        task.result()
    except RunAborted as e:
        aborted = str(e)
    finally:
        progress.stop()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if not fatal.done():
            fatal.cancel()
        interp.close_clients()
        for c in setup_clients:
            c.close()
        for node in nodes:
            node.kill()
        await asyncio.gather(*(node.stop() for node in nodes), return_exceptions=True)
        if nemesis is not None:
            nemesis.heal(interp.now())
        await net.close()
        journal.close()
        if config.sim:
            if saved_data_dir is None:
                os.environ.pop("MAELSTROM_DATA_DIR", None)
            else:
                os.environ["MAELSTROM_DATA_DIR"] = saved_data_dir
        edn_lines = write_history(interp.history, run_dir, interp.history_lines)
        _write_timeline(interp.history, test, run_dir, say, edn_lines)

    if aborted is not None:
        _write_report(run_dir, say)
        say(aborted)
        say(f"The run could not complete (exit 255). History so far: {run_dir / 'history.txt'}")
        return EXIT_ABORTED

    op_count = sum(1 for op in interp.history if op.type == INVOKE and op.process != NEMESIS)
    lateness = net.lateness_ms()
    net_res = net_result(net.counts(), op_count, lateness)
    extra = None
    if faults:
        extra = {"nodes": {"valid?": False, "faults": [f.to_result() for f in faults]}}
    workload_result = check_safe(workload.check, interp.history)
    try:
        workload.write_files(workload_result, run_dir)
    except Exception as e:  # explanations are a courtesy: never lose the results over them
        say(f"Could not write the workload's explanation files: {e!r}")
    results = check_all(test, interp.history, workload_result, net_res, extra)
    write_results(results, run_dir)
    if config.plots:
        _write_plots(interp.history, test, run_dir, say)
    _write_report(run_dir, say, interp.history)
    if config.on_history is not None:  # as the report above: the ops in memory, not history.edn
        config.on_history(run_dir, interp.history)
    _print_results(results, run_dir, say)
    say(
        f"net: {net.send_count} messages, delivery lateness p50 {lateness.get('p50', 0)} ms, "
        f"p99 {lateness.get('p99', 0)} ms, max {lateness.get('max', 0)} ms ({lateness.get('count', 0)} timed deliveries)"
    )
    if main_cpu and op_count:
        say(
            f"harness CPU in the main phase: {main_cpu[0]:.2f} s, {1e6 * main_cpu[0] / max(net.send_count, 1):.0f} µs per message"
        )
    for f in faults:
        say(f"NODE FAULT ({f.kind}): {f.message}\n    line: {f.line}")
    say(verdict_line(results["valid?"]))
    return exit_code(results["valid?"])


async def _init(client: Any, node_ids: list[str], timeout: float, faults: list[Any]) -> None:
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


def _print_results(results: dict[str, Any], run_dir: Path, say: Callable[[str], None]) -> None:
    text = (run_dir / "results.edn").read_text()
    lines = text.splitlines()
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


def precise_event_loop() -> asyncio.AbstractEventLoop:
    """An event loop whose timers fire within microseconds, not milliseconds.

    The default epoll selector rounds every wait up to a whole millisecond, so each timed
    delivery and each scheduled op would be up to 1 ms late. select() takes microseconds; with
    a few dozen pipes its cost is negligible.
    """
    return asyncio.SelectorEventLoop(selectors.SelectSelector())
