"""A WebAssembly node in the deterministic simulation: NodeProcess's interface, on virtual time.

Each incarnation of the node is a fresh wasmtime instance of the compiled module, run on its own
OS thread, but never concurrently with anything: the simulation's loop hands the instance the
baton (a pair of locks) and blocks until the instance hands it back, which it does only inside
``poll_oneoff`` when it has nothing to do (or when it ends). So a turn of the node is one atomic
step of the simulation, at one instant of virtual time, like a Python node's callback.

What the node writes during its turn is handled after the turn, on the loop, in the order it was
written: stdout through NodeIO's line handling (a node fault for a bad line), stderr to its log.
Input is bytes appended to the instance's stdin and a resume scheduled with ``call_soon`` (so the
lines delivered in one instant are read in one turn); a clock subscription is a loop timer.
Pause keeps the instance parked (its input and due timers wait); kill drops the instance:
its thread is woken with the instance marked killed, and unwinds with a trap.
"""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path
from typing import Any

import wasmtime

from harness.net.network import Network
from harness.nodeio import NodeHooks, NodeIO, RunAborted
from harness.wasm.engine import FUEL_PER_TURN, engine, load_module
from harness.wasm.files import DataDir
from harness.wasm.wasi import NodeExit, WasiHost

__all__ = ["WasmSimNode"]


class _Killed(BaseException):
    """Raised inside a killed instance's poll_oneoff, to unwind its thread."""


class _SimHost(WasiHost):
    """One incarnation: WASI on virtual time, run on its own thread by baton passing."""

    def __init__(self, owner: WasmSimNode, number: int, loop: Any) -> None:
        seed = random.Random(f"{owner.seed}:{owner.id}:{number}")
        data_dir = getattr(owner, "data_dir", None)
        files = DataDir(data_dir, simulated=True) if data_dir is not None else None
        super().__init__(owner._argv, owner._env, seed.randbytes, files)
        self.owner = owner
        self.loop = loop
        self.killed = False
        self.ended = False
        #: how the instance ended: an exit code, or a text saying why it was stopped
        self.exit_code: int | None = None
        self.problem: str | None = None
        self.output: list[tuple[int, bytes]] = []
        #: where it waits: for input, and/or until this monotonic ns (None: no timer)
        self.waiting_input = False
        self.deadline: int | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timed_out = False
        self.resume_scheduled = False
        self.started = False
        #: the instance holds the baton (a turn is running)
        self.in_turn = False
        self._node_turn = threading.Lock()
        self._node_turn.acquire()
        self._runner_turn = threading.Lock()
        self._runner_turn.acquire()
        self.thread = threading.Thread(target=self._main, name=f"wasm-{owner.id}-{number}", daemon=True)

    # -- WASI on virtual time -------------------------------------------------------------------

    def now_ns(self) -> int:
        return int(self.loop.time_ns())

    def wall_ns(self) -> int:
        return int(self.loop.wall_time_ns())

    def write(self, fd: int, data: bytes) -> None:
        self.output.append((fd, data))

    def on_unsupported(self, name: str) -> None:
        self.output.append(
            (2, f"[maelstrom] the program called WASI {name}: not provided (ENOSYS)\n".encode())
        )

    def wait(self, deadline_ns: int | None, for_input: bool) -> bool:
        """Hand the baton back to the loop; return when the loop resumes this instance."""
        self.waiting_input = for_input
        self.deadline = deadline_ns
        self.timed_out = False
        self._runner_turn.release()
        self._node_turn.acquire()
        if self.killed:
            raise _Killed
        assert self.store is not None
        self.store.set_fuel(FUEL_PER_TURN)
        return self.timed_out

    # -- the instance's thread ------------------------------------------------------------------

    def _main(self) -> None:
        self._node_turn.acquire()
        try:
            if self.killed:
                return
            self._run()
        finally:
            self.ended = True
            self._runner_turn.release()

    def _run(self) -> None:
        owner = self.owner
        module = owner._module
        assert module is not None
        store = self.store = wasmtime.Store(engine())
        store.set_fuel(FUEL_PER_TURN)
        try:
            instance = owner._linker(self, module).instantiate(store, module)
            exports = instance.exports(store)
            memory = exports.get("memory") if "memory" in [e.name for e in module.exports] else None
            start = exports.get("_start") if "_start" in [e.name for e in module.exports] else None
            if not isinstance(memory, wasmtime.Memory) or not isinstance(start, wasmtime.Func):
                self.problem = (
                    f"{owner._argv[0]} is not a WASI command module (it needs to export _start and "
                    "memory): build a program with a main function (GOOS=wasip1, --target wasm32-wasip1)"
                )
                return
            self.run(store, memory, start)
            self.exit_code = 0
        except NodeExit as e:
            self.exit_code = e.code
        except _Killed:
            pass
        except wasmtime.Trap as e:
            if e.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
                self.problem = (
                    f"Node {owner.id} ran {FUEL_PER_TURN:,} WebAssembly instructions without waiting "
                    "for input or a timer, so the simulation stopped it: virtual time cannot pass "
                    "while a node computes, and a loop that never waits (a busy loop, or spinning on "
                    "time.Now()) would hang the run."
                )
            else:
                self.problem = f"Node {owner.id} trapped (a WebAssembly runtime error): {e}"
        except (wasmtime.WasmtimeError, ValueError, RuntimeError) as e:
            self.problem = f"Node {owner.id} could not run {owner._argv[0]}: {e}"

    # -- the loop's side ----------------------------------------------------------------------------

    def resume(self) -> None:
        """Let the instance run until it waits again or ends (called on the loop)."""
        self.resume_scheduled = False
        if self.killed or self.ended:
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.started:
            self.started = True
            self.thread.start()
        self.in_turn = True
        self._node_turn.release()
        self._runner_turn.acquire()
        self.in_turn = False

    def kill(self) -> None:
        """Drop the instance: what it had not written is lost; its thread unwinds."""
        if self.killed:
            return
        self.killed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.ended:
            return
        if not self.started:
            self.ended = True
            return
        if self.in_turn:
            # the loop was interrupted (Ctrl-C) while the instance ran: no baton to hand over;
            # the daemon thread stays parked once it waits, and goes with the process
            return
        self._node_turn.release()
        self._runner_turn.acquire()
        self.thread.join()
        if self.files is not None:
            self.files.lose_unsynced()
        # its linear memory and compiled state go now, not when the run ends: a run with many
        # restarts keeps one instance per node
        self._view = memoryview(b"")
        self.memory = self.store = None


class WasmSimNode(NodeIO):
    """A node id served by simulated instances of a WebAssembly (WASI preview1) program."""

    def __init__(
        self,
        node_id: str,
        net: Network,
        log_path: Path,
        hooks: NodeHooks,
        *,
        data_dir: Path,
        seed: int,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(node_id, net, log_path, hooks)
        self.data_dir = data_dir
        self.seed = seed
        self._env = dict(env or {})
        self._argv: list[str] = []
        self._module: wasmtime.Module | None = None
        self._host: _SimHost | None = None
        self._hosts: list[_SimHost] = []
        self._problem: str | None = None

    def _linker(self, host: _SimHost, module: wasmtime.Module) -> wasmtime.Linker:
        return host.linker(engine(), module)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, argv: list[str], cwd: str) -> None:
        self._open_log()
        self.net.register(self.id, self._deliver)
        self._argv = argv
        try:
            self._module = load_module(argv[0])
        except (OSError, ValueError) as e:
            raise RunAborted(f"Could not load node {self.id}'s program {argv[0]}: {e}") from None
        await self._spawn()

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        host = _SimHost(self, len(self._hosts) + 1, loop)
        self._host = host
        self._hosts.append(host)
        self.pids.append(len(self._hosts))  # incarnation numbers stand in for pids
        host.resume_scheduled = True
        loop.call_soon(self._turn, host)

    def _incarnation(self) -> str:
        return f"incarnation {self.pids[-1]}"

    def _turn(self, host: _SimHost) -> None:
        """One turn of ``host``, then its output, then what wakes it next."""
        if host is not self._host or host.killed or self.paused:
            host.resume_scheduled = False
            return
        host.resume()
        output, host.output = host.output, []
        for fd, data in output:
            if fd == 1:
                self._on_stdout(data)
            else:
                self._on_stderr(data)
        if host.ended:
            self._ended(host)
            return
        if host.deadline is not None and not host.killed:
            loop = asyncio.get_running_loop()
            host.timer = loop.call_at(host.deadline / 1e9, self._timer, host)
        if host.waiting_input and host.stdin:
            self._schedule(host)

    def _timer(self, host: _SimHost) -> None:
        host.timer = None
        host.timed_out = True
        if not self.paused:
            self._schedule(host)

    def _schedule(self, host: _SimHost) -> None:
        if not host.resume_scheduled and not host.killed and not host.ended:
            host.resume_scheduled = True
            asyncio.get_running_loop().call_soon(self._turn, host)

    def _ended(self, host: _SimHost) -> None:
        if host is not self._host or host.killed:
            return
        host.killed = True
        if host.problem is not None:
            self._problem = host.problem
            self._log_text(host.problem)
        self.returncode = host.exit_code if host.exit_code is not None else 1
        if not self.stopping:
            self.hooks.on_crash(self)

    def crash_report(self) -> str:
        if self._problem is not None:
            return f"{self._problem}\nIts log: {self.log_path}"
        return super().crash_report()

    # -- nemesis faults (the bookkeeping is NodeIO's) ----------------------------------------------

    def _freeze(self) -> None:
        pass  # a paused instance is simply not resumed: see _timer, _deliver and _thaw

    def _thaw(self) -> None:
        host = self._host
        if host is not None and (host.timed_out or (host.waiting_input and host.stdin)):
            self._schedule(host)

    def kill(self) -> None:
        self.stopping = True
        if self._host is not None:
            self._host.kill()

    async def stop(self) -> None:
        self.kill()
        self.net.unregister(self.id)
        for host in self._hosts:
            host.kill()
        self._close_log()

    # -- input ----------------------------------------------------------------------------------------

    def _deliver(self, msg: Any) -> None:
        host = self._host
        if host is None or host.killed or host.ended:
            return
        host.stdin += msg.line + b"\n"
        if host.waiting_input and not self.paused:
            self._schedule(host)

    def _log_text(self, text: str) -> None:
        self._on_stderr(text.encode("utf-8", "replace") + b"\n")
