"""The runtime seam: what differs between running nodes as real processes and simulating them.

A run (``harness.run``) is the same pipeline whatever runs the nodes; a :class:`Runtime` supplies
the rest, and the command line's flag parsing picks one (``--sim``: :class:`SimRuntime`, else
:class:`ProcessRuntime`). Nothing else in the harness asks which runtime it is on.

What a runtime decides:

- ``run``: the event loop a run goes on (a precise selector loop, or the simulation's virtual-time
  :class:`harness.sim.SimLoop`) and ``clock``: the ns clock history, network and schedule read;
- ``program_problem``: why a ``--bin`` cannot run on it (checked at flag parsing, exit 254);
- ``seed_process``: what else must follow the seed in this process (the simulation seeds the
  global ``random`` that node code may draw from);
- ``make_nodes``: how a node is made (a :class:`harness.nodeio.NodeIO` per node id: a
  subprocess, or an in-process instance of the program) and ``node_environment``: what the nodes
  share of this process while they run (the simulation names the nodes' data directory in
  ``os.environ``; processes get their own environment);
- ``freeze_gc`` (freeze the runner's objects during the main phase: real time only) and
  ``status_line`` (a live status line: pointless on virtual time);
- ``repeatable``: the same seed gives the same run, so ``--test-count N`` runs seeds S..S+N-1, goes
  on past a failure and names every failing seed with the command that replays it.

Adding a runtime (say, WebAssembly nodes under ``--sim``) is one new subclass here and one line
in the flag parsing that picks it; ``harness.run`` does not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from time import monotonic_ns
from typing import TYPE_CHECKING, Any

from harness.net.network import Network
from harness.nodeio import NodeHooks, NodeIO

if TYPE_CHECKING:
    from harness.processes import NodeProcess

__all__ = [
    "ProcessRuntime",
    "Runtime",
    "SimRuntime",
    "WasmProcessRuntime",
    "WasmSimRuntime",
    "precise_event_loop",
    "runtime_for",
]

#: the environment variable that names a node's data directory (common/durable.py reads it)
DATA_DIR_VARIABLE = "MAELSTROM_DATA_DIR"


def precise_event_loop() -> asyncio.AbstractEventLoop:
    """An event loop whose timers fire within microseconds, not milliseconds.

    The default epoll selector rounds every wait up to a whole millisecond, so each timed
    delivery and each scheduled op would be up to 1 ms late. select() takes microseconds; with
    a few dozen pipes its cost is negligible.
    """
    import selectors

    return asyncio.SelectorEventLoop(selectors.SelectSelector())


class Runtime:
    """Real processes or in-process simulation: see the module docstring. Subclasses override."""

    #: shown in the run's log and the CLI's messages
    name = "processes"
    #: the same seed gives the same run (see the module docstring)
    repeatable = False
    #: gc.freeze() the runner's objects in the main phase (fewer full collections mid-run)
    freeze_gc = True
    #: a live status line on a terminal during the main phase
    status_line = True

    def program_problem(self, program: str) -> str | None:
        """Why ``program`` (the ``--bin``) cannot run on this runtime; None: it can."""
        return None

    def run(self, main: Coroutine[Any, Any, int]) -> int:
        """Run a whole test (``main``) on this runtime's event loop."""
        raise NotImplementedError

    def clock(self) -> Callable[[], int]:
        """The ns clock of the run (called inside the running loop)."""
        raise NotImplementedError

    def seed_process(self, rng: random.Random, log: Callable[[str], None]) -> None:
        """Make what the process shares with the nodes follow the seed (nothing by default)."""

    def make_nodes(
        self,
        node_ids: list[str],
        net: Network,
        logs: Path,
        data_dir: Path,
        hooks: NodeHooks,
        rng: random.Random,
    ) -> list[NodeIO]:
        """One node per id, registered on ``net`` when started; logs in ``logs/<id>.log``."""
        raise NotImplementedError

    @contextlib.contextmanager
    def node_environment(self, data_dir: Path) -> Iterator[None]:
        """What the nodes see of this process's environment while the run goes on."""
        yield


class ProcessRuntime(Runtime):
    """Every node a subprocess (``harness.processes.NodeProcess``) on the wall clock."""

    def run(self, main: Coroutine[Any, Any, int]) -> int:
        with asyncio.Runner(loop_factory=precise_event_loop) as runner:
            return runner.run(main)

    def clock(self) -> Callable[[], int]:
        return monotonic_ns

    def make_nodes(
        self,
        node_ids: list[str],
        net: Network,
        logs: Path,
        data_dir: Path,
        hooks: NodeHooks,
        rng: random.Random,
    ) -> list[NodeIO]:
        process = self.process_class()
        env = {**os.environ, DATA_DIR_VARIABLE: str(data_dir)}
        return [process(n, net, logs / f"{n}.log", hooks, env=env) for n in node_ids]

    def process_class(self) -> type[NodeProcess]:
        """What runs each node's process (imported late: the WebAssembly one loads wasmtime)."""
        from harness.processes import NodeProcess

        return NodeProcess


class SimRuntime(Runtime):
    """The deterministic simulation (``harness.sim``): nodes in-process on virtual time."""

    name = "simulation"
    repeatable = True
    freeze_gc = False
    status_line = False  # a status line on virtual time would only flicker past

    def program_problem(self, program: str) -> str | None:
        from harness.sim import sim_program_problem

        return sim_program_problem(program)

    def run(self, main: Coroutine[Any, Any, int]) -> int:
        from harness.sim import run_simulation

        return run_simulation(main)

    def clock(self) -> Callable[[], int]:
        from harness.sim import SimLoop

        loop = asyncio.get_running_loop()
        if not isinstance(loop, SimLoop):
            raise RuntimeError("a --sim run needs the simulation's event loop (harness.sim.SimLoop)")
        # history, network and schedule all on the virtual clock (ns); nothing reads the wall clock
        return loop.time_ns

    def seed_process(self, rng: random.Random, log: Callable[[str], None]) -> None:
        # node code that draws from the global random (not its node's) still repeats with the seed
        random.seed(rng.getrandbits(64))
        log("Deterministic simulation (--sim): nodes in-process, on virtual time")

    def make_nodes(
        self,
        node_ids: list[str],
        net: Network,
        logs: Path,
        data_dir: Path,
        hooks: NodeHooks,
        rng: random.Random,
    ) -> list[NodeIO]:
        from harness.sim import SimNode

        seed = rng.getrandbits(64)
        return [SimNode(n, net, logs / f"{n}.log", hooks, data_dir=data_dir, seed=seed) for n in node_ids]

    @contextlib.contextmanager
    def node_environment(self, data_dir: Path) -> Iterator[None]:
        # the simulated nodes share this process's environment: name their directory there
        saved = os.environ.get(DATA_DIR_VARIABLE)
        os.environ[DATA_DIR_VARIABLE] = str(data_dir)
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(DATA_DIR_VARIABLE, None)
            else:
                os.environ[DATA_DIR_VARIABLE] = saved


class WasmSimRuntime(SimRuntime):
    """WebAssembly (WASI preview1) nodes in the simulation: each instance on the runner's own
    WASI host on virtual time (``harness.wasm.simnode``), whatever language it was built from."""

    name = "simulation (WebAssembly)"

    def program_problem(self, program: str) -> str | None:
        return None  # a module that cannot load or run ends the run with a message (exit 255)

    def make_nodes(
        self,
        node_ids: list[str],
        net: Network,
        logs: Path,
        data_dir: Path,
        hooks: NodeHooks,
        rng: random.Random,
    ) -> list[NodeIO]:
        from harness.wasm.simnode import WasmSimNode

        seed = rng.getrandbits(64)
        # as a process node's: the runner's environment and the data directory
        env = {**os.environ, DATA_DIR_VARIABLE: str(data_dir)}
        return [
            WasmSimNode(n, net, logs / f"{n}.log", hooks, data_dir=data_dir, seed=seed, env=env)
            for n in node_ids
        ]


class WasmProcessRuntime(ProcessRuntime):
    """WebAssembly nodes as real processes: each ``python -m harness.wasm node.wasm``, the same
    WASI host as the simulation's on the real clock, so one artifact runs in both modes."""

    def process_class(self) -> type[NodeProcess]:
        from harness.wasm.process import WasmProcess

        return WasmProcess


def runtime_for(program: str, sim: bool) -> Runtime:
    """The runtime for ``--bin program`` (``sim``: ``--sim`` was given): a WebAssembly module has
    its own, a native program or a script runs as a process or (Python on ``common``) in-process."""
    from harness.wasm import is_wasm

    if is_wasm(program):
        return WasmSimRuntime() if sim else WasmProcessRuntime()
    return SimRuntime() if sim else ProcessRuntime()
