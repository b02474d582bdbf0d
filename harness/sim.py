"""Deterministic simulation (``maelstrom test --sim``): the whole run in one process, on virtual time.

The runner, its network, clients, nemesis and checkers, and every node instance run on one
:class:`SimLoop`, whose clock jumps to the next timer whenever nothing is ready, so a 20 s test
takes as long as its computation. Each node id runs a fresh instance of the program's own module
(``importlib`` under a unique module name, with ``common.Node`` swapped for :class:`_SimNodeBase`'s
subclass while the module runs its top level and ``main()``). A node gets the lines the network
delivers through ``protocol.feed`` and its output goes through the same stdout line handling as a
process's (``harness.nodeio.NodeIO``), so encoding, decoding and node faults are as in real
mode.

Pause and kill without processes: every callback a node instance schedules (tasks, timers,
done-callbacks) runs in a context that names the instance (``_INSTANCE``; asyncio copies the
context into tasks and handles). The loop wraps such callbacks in a gate: while the instance is
paused a callback that falls due is kept, and run at resume (SIGSTOP/SIGCONT: what fell due
during the pause runs once the process continues); once the instance is killed it is dropped. A
delivery to a node is such a callback too, so a paused node's input waits with its timers. Kill
also drops the journals' uncommitted buffers (a SIGKILLed process's memory) and closes their fds.

What cannot be simulated is refused: a ``--bin`` that is not a Python program built on ``common``
(:func:`sim_program_problem`) and real network I/O from a node (Redis in unique-ids), which would
make the run depend on the world outside; see :meth:`SimLoop.create_connection`.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib.util
import inspect
import itertools
import random
import re
import sys
import time
import traceback
import weakref
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import common
from common.clock import VirtualTimeLoop
from common.durable import Journal, lose_as_sigkill
from common.node import Node
from harness.net.network import Network
from harness.nodeio import STOP_TIMEOUT, NodeHooks, NodeIO, RunAborted
from harness.wasm import BUILD_HINT

__all__ = ["EPOCH_NS", "SimLoop", "SimNode", "run_simulation", "sim_program_problem"]

T = TypeVar("T")

#: a simulated node's wall clock starts here (2026-01-01T00:00:00Z), so ids built from it are
#: the same every run with the same seed
EPOCH_NS = 1_767_225_600 * 1_000_000_000

_INSTANCE: contextvars.ContextVar[_Instance | None] = contextvars.ContextVar("sim_instance", default=None)
_loaded = itertools.count()
#: ELF and Mach-O executables: a compiled program, which only WebAssembly lets --sim run
_NATIVE_MAGICS = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_COMMON_IMPORT = re.compile(rb"^\s*(from\s+common(\.\w+)*\s+import\b|import\s+common\b)", re.MULTILINE)


def sim_program_problem(path: str) -> str | None:
    """Why ``path`` cannot run in-process under ``--sim`` (None: it can). Only a Python program
    whose module builds a ``common.Node`` can (whether it builds one shows when it is loaded); a
    WebAssembly module has a runtime of its own (harness.runtime.WasmSimRuntime)."""
    p = Path(path)
    if not p.is_file():
        return f"--sim needs --bin to be a Python program built on common; {path} is not a file."
    try:
        with p.open("rb") as f:
            source = f.read(1 << 20)
    except OSError as e:
        return f"--sim cannot read --bin {path}: {e.strerror}."
    if source.startswith(_NATIVE_MAGICS):
        return (
            f"--sim cannot simulate the native program {path}: it runs Python programs built on common "
            f"and WebAssembly programs. {BUILD_HINT} Or run it without --sim."
        )
    first = source.split(b"\n", 1)[0]
    if not (p.suffix == ".py" or (first.startswith(b"#!") and b"python" in first)):
        return (
            f"--sim runs node programs in-process, so it needs a Python program built on common "
            f"(a .py file or a python script) or a WebAssembly module; --bin {path} is neither. "
            "Run it without --sim."
        )
    if not _COMMON_IMPORT.search(source):
        return (
            f"--sim needs a node built on common (from common import Node): {path} does not import "
            "common, so it cannot be loaded in-process. Run it without --sim."
        )
    return None


class SimulationRefused(OSError):
    """A node asked for real I/O (a network connection, a subprocess) inside the simulation."""


class _Gated:
    """A node instance's callback behind its pause/kill gate (see the module docstring)."""

    __slots__ = ("args", "callback", "context", "handle", "instance")

    def __init__(
        self,
        instance: _Instance,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        context: contextvars.Context,
    ) -> None:
        self.instance = instance
        self.callback = callback
        self.args = args
        self.context = context
        self.handle: asyncio.Handle | None = None

    def __call__(self) -> None:
        instance = self.instance
        if instance.killed and not instance.reaping:
            return
        if self.handle is not None and self.handle.cancelled():
            return  # cancelled after it fell due during a pause
        if instance.paused:
            instance.stashed.append(self)
            return
        instance.run(self.callback, self.args)


def _gate(
    callback: Callable[..., Any], args: tuple[Any, ...], context: contextvars.Context | None
) -> _Gated | None:
    """``callback`` behind the gate of the node instance whose context it is scheduled in (the
    given one, else the current one); None for the runner's callbacks, which run ungated."""
    instance = _INSTANCE.get() if context is None else context.get(_INSTANCE)
    if instance is None:
        return None
    return _Gated(instance, callback, args, contextvars.copy_context() if context is None else context)


class SimLoop(VirtualTimeLoop):
    """The simulation's event loop: virtual time, plus each node instance's gate."""

    def __init__(self) -> None:
        super().__init__()
        # nothing real is read in a simulation but the loop's own wake-up pipe (signals): a
        # select() syscall per turn would only cost time
        self._autojump.poll_every = 64
        self.set_exception_handler(_exception_handler)
        self.set_task_factory(_task_factory)
        #: the tasks of every node instance (the rest are the runner's)
        self.node_tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()

    def call_soon(  # type: ignore[override]
        self, callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.Handle:
        gated = _gate(callback, args, context)
        if gated is None:
            return super().call_soon(callback, *args, context=context)
        gated.handle = handle = super().call_soon(gated, context=gated.context)
        return handle

    def call_at(  # type: ignore[override]
        self,
        when: float,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        gated = _gate(callback, args, context)
        if gated is None:
            return super().call_at(when, callback, *args, context=context)
        gated.handle = handle = super().call_at(when, gated, context=gated.context)
        return handle

    def wall_time_ns(self) -> int:
        """A simulated node's wall clock: a fixed epoch plus the virtual time."""
        return EPOCH_NS + self.time_ns()

    def wall_time(self) -> float:
        return self.wall_time_ns() / 1e9

    def resume_stashed(self, instance: _Instance) -> None:
        stashed, instance.stashed = instance.stashed, []
        for gated in stashed:
            asyncio.SelectorEventLoop.call_soon(self, gated, context=gated.context)

    # -- real I/O is outside the simulation -------------------------------------------------------

    def _refuse(self, what: str) -> None:
        instance = _INSTANCE.get()
        if instance is not None:
            instance.refuse(what)
            raise SimulationRefused(f"{what} is real I/O outside the simulation (--sim)")

    async def create_connection(self, *args: Any, **kwargs: Any) -> Any:
        where = ":".join(str(a) for a in args[1:3] if a is not None) or kwargs.get("host") or "a server"
        self._refuse(f"a network connection to {where}")
        return await super().create_connection(*args, **kwargs)

    async def create_unix_connection(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse("a unix-socket connection")
        return await super().create_unix_connection(*args, **kwargs)

    async def subprocess_exec(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse("a subprocess")
        return await super().subprocess_exec(*args, **kwargs)

    async def subprocess_shell(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse("a subprocess")
        return await super().subprocess_shell(*args, **kwargs)


def _task_factory(
    loop: asyncio.AbstractEventLoop, coro: Any, context: contextvars.Context | None = None
) -> asyncio.Task[Any]:
    """Every task, as asyncio makes it; a node instance's tasks are also listed on the instance,
    so that the end of the run can finish them (see ``SimNode.stop``)."""
    task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, context=context)
    instance = _INSTANCE.get() if context is None else context.get(_INSTANCE)
    if instance is not None:
        instance.tasks.add(task)
        assert isinstance(loop, SimLoop)
        loop.node_tasks.add(task)
    return task


def run_simulation(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on a fresh :class:`SimLoop`, except that the node instances' tasks
    left at the end are not cancelled and awaited: a killed instance's never run again, and one
    may wait on nothing that can ever happen (as a SIGKILLed process's would). The runner's own
    tasks are cancelled and awaited as ``asyncio.run`` does."""
    loop = SimLoop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if t not in loop.node_tasks]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    message = str(context.get("message", ""))
    if message.startswith("Task was destroyed but it is pending"):
        # a killed (or, at the end of the run, stopped) node instance's tasks are never resumed,
        # as a SIGKILLed process's are not: nothing to report
        return
    instance = _INSTANCE.get()
    if instance is not None:  # a node's callback raised: it goes to that node's log, as stderr would
        exc = context.get("exception")
        trace = "".join(traceback.format_exception(exc)) if isinstance(exc, BaseException) else ""
        instance.owner._log_text(f"{message}\n{trace}".rstrip("\n"))
        return
    loop.default_exception_handler(context)


class _StrayOutput:
    """``sys.stdout``/``sys.stderr`` while a node's code runs: text goes to the node's log (a real
    node's ``print()`` goes to stderr; stdout carries protocol lines only)."""

    def __init__(self, owner: SimNode) -> None:
        self.owner = owner

    def write(self, text: str) -> int:
        self.owner._on_stderr(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _enter(instance: _Instance) -> tuple[Any, ...]:
    """Make the process-wide things a node program may read or write as its own: argv, output
    (to its log) and the clock. ``time.monotonic()``/``time.time()`` read in node code give the
    virtual clock, so a program that takes time from ``time`` rather than from its node still
    runs on simulated time (``from time import monotonic`` binds the real one: not covered)."""
    loop = instance.loop
    saved = (sys.argv, sys.stdout, sys.stderr, time.monotonic, time.monotonic_ns, time.time, time.time_ns)
    sys.argv = instance.owner._argv
    sys.stdout = sys.stderr = instance._stray
    time.monotonic = loop.time
    time.monotonic_ns = loop.time_ns
    time.time = loop.wall_time
    time.time_ns = loop.wall_time_ns
    return saved


def _leave(saved: tuple[Any, ...]) -> None:
    sys.argv, sys.stdout, sys.stderr, time.monotonic, time.monotonic_ns, time.time, time.time_ns = saved


class _Instance:
    """One incarnation of a node: its program module, its ``Node``, its gate state."""

    def __init__(self, owner: SimNode, number: int) -> None:
        self.owner = owner
        self.number = number
        self.killed = False
        #: the run is over: a killed instance's tasks may run their cancellation (output stays off)
        self.reaping = False
        self.paused = False
        self.stashed: list[_Gated] = []
        self.tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self.node: Node | None = None
        self.module: ModuleType | None = None
        self.serving: asyncio.Task[None] | None = None
        self.context = contextvars.copy_context()
        self.context.run(_INSTANCE.set, self)
        self._stray = _StrayOutput(owner)
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimLoop)
        self.loop = loop

    def run(self, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        saved = _enter(self)
        try:
            callback(*args)
        except SystemExit as e:  # sys.exit() in node code ends the node, not the runner
            self.owner._exited(self, e.code if isinstance(e.code, int) else 1)
        finally:
            _leave(saved)

    def refuse(self, what: str) -> None:
        self.owner._refused(self, what)

    def kill(self) -> None:
        """What SIGKILL does to the process: nothing more runs, uncommitted records are lost."""
        self.killed = True
        self.stashed.clear()
        node = self.node
        if node is None:
            return
        lose_as_sigkill(node)
        node._stdout_closed = True
        if self.module is not None:
            sys.modules.pop(self.module.__name__, None)


def _siblings(folder: str, known: set[str]) -> set[str]:
    """The modules a program's load imported from its own folder (not listed in ``known`` before)."""
    return {
        name
        for name in set(sys.modules) - known
        if str(Path(getattr(sys.modules[name], "__file__", None) or "/").parent) == folder
    }


def _node_class(instance: _Instance, created: list[Node], seed: int) -> type[Node]:
    owner = instance.owner

    class SimulatedNode(Node):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.pop("stdin", None)
            kwargs.pop("stdout", None)
            kwargs.pop("seed", None)
            super().__init__(seed=seed, **kwargs)
            self.data_dir = owner.data_dir
            created.append(self)

        def run(self) -> None:  # a main() that ends in node.run(): the simulation serves it
            pass

        def _start_input(self) -> None:  # no stdin: the network's lines are fed by the simulation
            pass

        def wall_ns(self) -> int:
            return instance.loop.wall_time_ns()

        def add_commit_hook(self, fn: Callable[[], None]) -> None:
            journal = getattr(fn, "__self__", None)
            if isinstance(journal, Journal):
                # a simulated kill loses only what was never written, as SIGKILL with a written
                # but unsynced page cache does; syncing would only cost time
                journal.fsync = False
            super().add_commit_hook(fn)

        def _write_all(self, data: bytes | bytearray) -> None:
            if not instance.killed:
                # the runner's side of the pipe: what the network schedules for these lines
                # (delivery timers) belongs to the runner, not to this instance's gate
                owner._runner_context.run(owner._on_stdout, bytes(data))

        def _log_line(self, text: str) -> None:
            owner._log_text(text)

        def _exit(self, code: int) -> None:
            owner._exited(instance, code)

    return SimulatedNode


class SimNode(NodeIO):
    """A node id served by in-process instances of the program: NodeProcess's interface."""

    def __init__(
        self, node_id: str, net: Network, log_path: Path, hooks: NodeHooks, *, data_dir: Path, seed: int
    ) -> None:
        super().__init__(node_id, net, log_path, hooks)
        self.data_dir = data_dir
        self.seed = seed
        self._argv: list[str] = []
        self._instance: _Instance | None = None
        self._instances: list[_Instance] = []
        self._incarnations = itertools.count(1)
        self._refusal: str | None = None
        #: the runner's context (no instance in it), in which the node's output is handled
        self._runner_context = contextvars.Context()
        #: modules the program imported from its own folder (raft-lin-kv's raft), unlisted at stop
        self._sibling_modules: set[str] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, argv: list[str], cwd: str) -> None:
        """Register in the network, then load and serve the first instance."""
        self._open_log()
        self.net.register(self.id, self._deliver)
        self._argv = argv
        await self._spawn()

    async def _spawn(self) -> None:
        number = next(self._incarnations)
        instance = _Instance(self, number)
        self._instance = instance
        self._instances.append(instance)
        self.pids.append(number)  # incarnation numbers stand in for pids
        seed = random.Random(f"{self.seed}:{self.id}:{number}").getrandbits(64)
        created: list[Node] = []
        path = self._argv[0]
        folder = re.sub(r"\W", "_", Path(path).parent.name)
        name = f"_maelstrom_sim_{folder}_{self.id}_{next(_loaded)}"
        try:
            instance.context.run(self._load, instance, path, name, created, seed)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            code = e.code if isinstance(e, SystemExit) and isinstance(e.code, int) else 1
            if not isinstance(e, SystemExit):
                self._log_text("".join(traceback.format_exception(e)).rstrip("\n"))
            instance.kill()
            self.returncode = code
            raise RunAborted(self.crash_report()) from None
        if len(created) != 1:
            instance.kill()
            raise RunAborted(
                f"--sim: loading {path} built {len(created)} common.Node objects; a simulated node "
                "program must build exactly one (at its top level or in main())."
            )
        node = instance.node = created[0]
        loop = asyncio.get_running_loop()
        instance.serving = serving = loop.create_task(node.serve(), context=instance.context)
        serving.add_done_callback(lambda task: self._served(instance, task))

    def _load(self, instance: _Instance, path: str, name: str, created: list[Node], seed: int) -> None:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise RunAborted(f"--sim cannot load {path} as a Python module")
        module = importlib.util.module_from_spec(spec)
        instance.module = module
        # listed while it runs, as __main__ would be: msgspec resolves string annotations there
        sys.modules[name] = module
        node_class = _node_class(instance, created, seed)
        saved_node = common.Node
        common.Node = node_class  # type: ignore[misc]
        saved = _enter(instance)
        # the program's own directory first on the path, as Python runs a script, so that it
        # imports its sibling modules (raft-lin-kv's raft.py)
        folder = str(Path(path).resolve().parent)
        sys.path.insert(0, folder)
        known = set(sys.modules)
        try:
            spec.loader.exec_module(module)
            if not created:  # the program builds its node in main() (its __main__ block calls it)
                main = getattr(module, "main", None)
                if callable(main):
                    main(self._argv[1:]) if inspect.signature(main).parameters else main()
        finally:
            _leave(saved)
            common.Node = saved_node  # type: ignore[misc]
            sys.path.remove(folder)
            # listed until the run ends (msgspec resolves their annotations there), shared by the
            # instances of this run as common is; the next run imports its own copies
            self._sibling_modules |= _siblings(folder, known)

    def _served(self, instance: _Instance, task: asyncio.Task[None]) -> None:
        """The instance's serve() ended: for a process, that is its exit."""
        if instance.killed or instance is not self._instance:
            return
        code = 0
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._log_text("".join(traceback.format_exception(exc)).rstrip("\n"))
            code = 1
        self._exited(instance, code)

    def _exited(self, instance: _Instance, code: int) -> None:
        if instance.killed or instance is not self._instance:
            return
        instance.kill()
        self.returncode = code
        if not self.stopping:
            self.hooks.on_crash(self)

    def _refused(self, instance: _Instance, what: str) -> None:
        self._refusal = (
            f"Node {self.id} asked for {what}: real I/O is outside the simulation, so --sim cannot run "
            "this program as it is (unique-ids: run its coordination-free backend, main.py local)."
        )
        self._log_text(self._refusal)
        if not self.stopping:
            self._exited(instance, 1)

    def crash_report(self) -> str:
        if self._refusal is not None:
            return self._refusal
        return super().crash_report()

    # -- nemesis faults -------------------------------------------------------------------------

    # crash, restart, pause and resume are NodeIO's; these are the simulated mechanism

    def _freeze(self) -> None:
        if self._instance is not None:
            self._instance.paused = True

    def _thaw(self) -> None:
        instance = self._instance
        if instance is not None:
            instance.paused = False
            loop = asyncio.get_running_loop()
            assert isinstance(loop, SimLoop)
            loop.resume_stashed(instance)

    def _incarnation(self) -> str:
        return f"incarnation {self.pids[-1]}"

    def kill(self) -> None:
        self.stopping = True
        if self._instance is not None:
            self._instance.kill()

    async def stop(self) -> None:
        """Kill the instance; then finish the tasks of every instance this node had, so that the
        loop can close (a killed instance's tasks would otherwise wait forever for their gate)."""
        self.kill()
        self.net.unregister(self.id)
        tasks: list[asyncio.Task[Any]] = []
        for instance in self._instances:
            instance.reaping = True
            instance.paused = False
            tasks += [t for t in instance.tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
        for name in self._sibling_modules:
            sys.modules.pop(name, None)
        self._close_log()

    # -- input and output -----------------------------------------------------------------------

    def _deliver(self, msg: Any) -> None:
        instance = self._instance
        if instance is None or instance.killed or instance.node is None:
            return
        # through the instance's gate, like bytes in a pipe: a paused node reads them at resume
        asyncio.get_running_loop().call_soon(instance.node._feed, msg.line + b"\n", context=instance.context)

    def _log_text(self, text: str) -> None:
        self._on_stderr(text.encode("utf-8", "replace") + b"\n")
