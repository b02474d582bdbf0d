"""A WebAssembly node in the deterministic simulation: NodeProcess's interface, on virtual time.

Each incarnation of the node is a fresh wasmtime instance of the compiled module, run as a call
future of Wasmtime's async API (:mod:`harness.wasm.suspend`), on the simulation's own thread: the
WASI calls that wait (``poll_oneoff``, and ``fd_read`` of empty blocking stdin) suspend the program
where it is, and the loop resumes it with one :func:`~harness.wasm.suspend.poll` when its input
arrives or its timer falls due. So a turn of the node is one atomic step of the simulation, at one
instant of virtual time, like a Python node's callback; no thread, no lock, nothing concurrent.

What the node writes during its turn is handled after the turn, on the loop, in the order it was
written: stdout through NodeIO's line handling (a node fault for a bad line), stderr to its log.
Input is bytes appended to the instance's stdin and a resume scheduled with ``call_soon`` (so the
lines delivered in one instant are read in one turn); a clock subscription is a loop timer.
Pause keeps the instance suspended (its input and due timers wait); kill deletes the suspended
call and the instance with it, and undoes the file writes it had not synced.
"""

from __future__ import annotations

import asyncio
import ctypes
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from harness.net.network import Network
from harness.nodeio import NodeHooks, NodeIO, RunAborted
from harness.wasm import suspend
from harness.wasm.engine import FUEL_PER_TURN, engine, load_module
from harness.wasm.files import DataDir
from harness.wasm.wasi import EINVAL, NodeExit, Step, WasiHost

__all__ = ["WasmSimNode"]

_SUSPENDING = ("poll_oneoff", "fd_read")


class _SimHost(WasiHost):
    """One incarnation: WASI on virtual time, its waits suspended calls of an async future."""

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
        #: the suspended call may go on (set by resume, taken by its continuation)
        self._woken = False
        self._future: Any = None
        self._trap = ctypes.POINTER(ffi.wasm_trap_t)()
        self._error = ctypes.POINTER(ffi.wasmtime_error_t)()
        self._continuation: Any = None
        self._done = suspend.ContinuationCallback(lambda _env: True)

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
        raise AssertionError("a simulated instance suspends its waiting calls; it never blocks")

    def _bind(
        self,
        linker: wasmtime.Linker,
        name: str,
        params: tuple[wasmtime.ValType, ...],
        results: tuple[wasmtime.ValType, ...],
    ) -> None:
        if name not in _SUSPENDING:
            return super()._bind(linker, name, params, results)
        begin = self.poll_oneoff_begin if name == "poll_oneoff" else self.fd_read_begin
        self._define_suspending(linker, name, params, results, begin)

    def _define_suspending(
        self,
        linker: wasmtime.Linker,
        name: str,
        params: tuple[wasmtime.ValType, ...],
        results: tuple[wasmtime.ValType, ...],
        begin: Callable[..., int | Step],
    ) -> None:
        """``name`` as an async host function: it answers at once when it can, else the program
        is suspended in it until :meth:`resume`, and its step decides (called again if not)."""
        count = len(params)
        trap_new = ffi.wasmtime_trap_new

        def callback(
            _env: Any, _caller: Any, args: Any, _nargs: int, out: Any, _nout: int, trap_ret: Any, cont: Any
        ) -> None:
            cont[0].callback = self._done
            cont[0].env = None
            cont[0].finalizer = suspend.NO_FINALIZER
            out[0].kind = 0  # WASMTIME_I32
            try:
                outcome = begin(*[args[k].of.i32 & 0xFFFFFFFF for k in range(count)])
            except BaseException as e:
                self.raised = e
                text = f"host function {name}: {e!r}".encode()
                trap_ret[0] = trap_new(text, len(text))
                return
            if isinstance(outcome, int):
                out[0].of.i32 = outcome
                return
            self.deadline, self.waiting_input = self.parked_on
            self._woken = self.timed_out = False

            def step(_env: Any) -> bool:
                if not self._woken:
                    return False
                self._woken = False
                try:
                    done = outcome(self.timed_out)
                except BaseException as e:  # noted; the turn's end stops the instance
                    self.raised, done = e, EINVAL
                if done is None:
                    return False
                out[0].of.i32 = done
                return True

            self._continuation = cont[0].callback = suspend.ContinuationCallback(step)

        self._link(linker, name, params, results, suspend.define, suspend.AsyncCallback(callback))

    # -- the loop's side ----------------------------------------------------------------------------

    def resume(self) -> None:
        """Let the instance run until it waits again or ends (called on the loop)."""
        self.resume_scheduled = False
        if self.killed or self.ended:
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        try:
            if self._future is None:
                self._start()
                if self.ended:
                    return
            else:
                self._woken = True
            assert self.store is not None
            self.store.set_fuel(FUEL_PER_TURN)
            if suspend.poll(self._future):
                self._finish()
            elif self.raised is not None:
                raise self.raised
        except _Stop as e:
            self.problem = str(e)
            self._end()
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            self.problem = f"Node {self.owner.id}'s WebAssembly host failed: {e!r}"
            self._end()

    def _start(self) -> None:
        owner = self.owner
        module = owner._module
        assert module is not None
        store = self.store = wasmtime.Store(engine())
        names = {e.name for e in module.exports}
        if "memory" not in names or "_start" not in names:
            raise _Stop(
                f"{owner._argv[0]} is not a WASI command module (it needs to export _start and "
                "memory): build a program with a main function (GOOS=wasip1, --target wasm32-wasip1)"
            )
        try:
            linker = owner._linker(self, module)
        except ValueError as e:
            raise _Stop(f"Node {owner.id} could not run {owner._argv[0]}: {e}") from None
        instance = ffi.wasmtime_instance_t()
        future = suspend.instantiate(
            linker.ptr(),
            store._context(),
            module.ptr(),
            ctypes.byref(instance),
            ctypes.byref(self._trap),
            ctypes.byref(self._error),
        )
        instantiated = suspend.poll(future)
        suspend.delete(future)
        if not instantiated:  # its start function waited for input or time: not a command module
            raise _Stop(f"{owner._argv[0]}'s start function waits (a WASI call) before _start runs")
        self._linker_ref = linker
        try:
            self._check_outcome()
        except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
            raise _Stop(f"Node {owner.id} could not instantiate {owner._argv[0]}: {e}") from None
        exports = wasmtime.Instance._from_raw(instance).exports(store)
        memory, start = exports["memory"], exports["_start"]
        if not isinstance(memory, wasmtime.Memory) or not isinstance(start, wasmtime.Func):
            raise _Stop(f"{owner._argv[0]} exports memory and _start of the wrong kinds")
        self.memory = memory
        self._ctx = store._context()
        self._memory_ref = ctypes.byref(memory._memory)
        self._start_func = start
        self._future = suspend.call(
            store._context(),
            ctypes.byref(start._func),
            None,
            0,
            None,
            0,
            ctypes.byref(self._trap),
            ctypes.byref(self._error),
        )

    def _check_outcome(self) -> None:
        """Raise what ended a call: a host function's exception, a trap, an error."""
        raised, self.raised = self.raised, None
        trap, error = self._trap, self._error
        self._trap = ctypes.POINTER(ffi.wasm_trap_t)()
        self._error = ctypes.POINTER(ffi.wasmtime_error_t)()
        if raised is not None:
            raise raised
        if trap:
            raise wasmtime.Trap._from_ptr(trap)
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)

    def _finish(self) -> None:
        """The program's ``_start`` returned, or trapped, or called proc_exit."""
        owner = self.owner
        try:
            self._check_outcome()
            self.exit_code = 0
        except NodeExit as e:
            self.exit_code = e.code
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
        self._end()

    def _end(self) -> None:
        self.ended = True
        self._drop()

    def _drop(self) -> None:
        """Delete the call (suspended or done) and the instance: its memory goes now, not when
        the run ends (a run with many restarts keeps one instance per node)."""
        if self._future is not None:
            suspend.delete(self._future)
            self._future = None
        self._view = memoryview(b"")
        self.memory = self.store = None
        self._continuation = None

    def kill(self) -> None:
        """Drop the instance: what it had not synced is lost."""
        if self.killed:
            return
        self.killed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._drop()
        if self.files is not None:
            self.files.lose_unsynced()


class _Stop(Exception):
    """The instance cannot start or go on; the text says why."""


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
