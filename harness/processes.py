"""Node processes: spawn, pipe stdin/stdout into the network, log stderr.

Mirrors Maelstrom's process.clj and db.clj (jepsen-io/maelstrom, src/maelstrom/process.clj and
src/maelstrom/db.clj); the stdout line handling and node faults are :class:`harness.nodeio.NodeIO`'s.
A node that exits during the run ends it at once (exit 255, as Maelstrom does at teardown), with
its exit status, last stdout/stderr lines and log path.

Every node runs in its own process group, killed with SIGKILL when the run ends; the set of live
groups is kept module-wide so the CLI can kill them even after an unexpected exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
from pathlib import Path
from typing import Any

from harness.net.network import Network
from harness.nodeio import STOP_TIMEOUT, NodeHooks, NodeIO, RunAborted

__all__ = ["LIVE_PROCESS_GROUPS", "NodeProcess", "explain_start_failure", "kill_all"]

#: process-group ids of every node still running (for last-resort cleanup)
LIVE_PROCESS_GROUPS: set[int] = set()


def kill_all() -> None:
    """SIGKILL every node process group this process started and has not reaped."""
    for pgid in list(LIVE_PROCESS_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        LIVE_PROCESS_GROUPS.discard(pgid)


def explain_start_failure(path: str, error: OSError) -> str:
    """Why the node binary ``path`` could not be executed, and what to do about it."""
    p = Path(path)
    if not p.exists():
        where = f" (a relative --bin is resolved against the directory you run from, {os.getcwd()})"
        return f"--bin {path} does not exist: check the path{where}."
    if p.is_dir():
        return f"--bin {path} is a directory: give the node program inside it (e.g. {p / 'main.py'})."
    if not os.access(p, os.X_OK):
        return f"--bin {path} has no run bit, so it cannot be executed: chmod +x {path}"
    try:
        with p.open("rb") as f:
            head = f.readline(256)
    except OSError as e:
        return f"--bin {path} cannot be read: {e.strerror}."
    if head.startswith(b"#!"):
        interpreter = head[2:].strip().split(b" ")[0].decode(errors="replace") if head[2:].strip() else ""
        if head.rstrip(b"\n").endswith(b"\r"):
            return (
                f"--bin {path} has Windows line endings: its #! line ends in a carriage return, so the "
                f"interpreter {interpreter!r} is not found. Convert the file (dos2unix {path})."
            )
        if error.errno == errno.ENOENT or (interpreter and not Path(interpreter).exists()):
            return (
                f"--bin {path} names the interpreter {interpreter!r} in its #! line, which does not exist: "
                "fix the first line (e.g. #!/usr/bin/env python3)."
            )
        return f"--bin {path} has a #! line ({head.strip().decode(errors='replace')}) that the system cannot run."
    if error.errno == errno.ENOEXEC:
        return (
            f"--bin {path} is neither a program for this machine nor a script with a #! line (Exec format "
            "error): add a first line naming its interpreter, e.g. #!/usr/bin/env python3 (a challenge's "
            "main.py here starts with a line that runs the repository's venv Python; see docs/architecture.md)."
        )
    if error.errno == errno.EACCES:
        return f"--bin {path} is executable but the system refused to run it (a noexec mount?): {error.strerror}."
    return f"--bin {path} could not be executed: {error.strerror}."


class _Protocol(asyncio.SubprocessProtocol):
    def __init__(self, node: NodeProcess) -> None:
        self.node = node
        #: done once the process has exited (its return code is known)
        self.exited: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if self is not self.node._protocol:
            return  # a killed incarnation's last bytes arriving after the restart
        if fd == 1:
            self.node._on_stdout(data)
        else:
            self.node._on_stderr(data)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)
        self.node._on_exit(self)


class NodeProcess(NodeIO):
    """One node binary connected to the network under its node id."""

    def __init__(
        self,
        node_id: str,
        net: Network,
        log_path: Path,
        hooks: NodeHooks,
        *,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(node_id, net, log_path, hooks)
        #: the process environment (None: the runner's own)
        self._env = env
        self._transport: asyncio.SubprocessTransport | None = None
        self._protocol: _Protocol | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self.pid: int | None = None
        self._argv: list[str] = []
        self._cwd = "."

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, argv: list[str], cwd: str) -> None:
        """Register in the network, then start the process (Maelstrom's order)."""
        self._open_log()
        self.net.register(self.id, self._deliver)
        self._argv, self._cwd = argv, cwd
        await self._spawn()

    async def _spawn(self) -> None:
        argv = self._argv
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _Protocol(self),
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self._cwd,
                env=self._env,
                start_new_session=True,  # own process group, so we can kill its children too
            )
        except OSError as e:
            raise RunAborted(
                f"Could not start node {self.id} with {argv!r}: {e}\n{explain_start_failure(argv[0], e)}"
            ) from e
        self._transport = transport
        self._protocol = protocol
        self.pid = transport.get_pid()
        self.pids.append(self.pid)
        LIVE_PROCESS_GROUPS.add(self.pid)
        self._stdin = transport.get_pipe_transport(0)  # type: ignore[assignment]

    # -- nemesis faults (the bookkeeping is NodeIO's) ------------------------------------------

    def _freeze(self) -> None:
        self._signal(signal.SIGSTOP)

    def _thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def _incarnation(self) -> str:
        return f"pid {self.pid}"

    def _signal(self, sig: signal.Signals) -> None:
        if self.pid is not None and self.pid in LIVE_PROCESS_GROUPS:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)

    def _deliver(self, msg: Any) -> None:
        stdin = self._stdin
        if stdin is not None and not stdin.is_closing() and self.returncode is None:
            stdin.write(msg.line + b"\n")

    def kill(self) -> None:
        """SIGKILL the node's whole process group (Maelstrom: destroyForcibly, no grace).

        SIGKILL ends a stopped (paused) process too; SIGCONT after it wakes any member of the
        group that might have missed it, so nothing stays behind stopped.
        """
        self.stopping = True
        if self.pid is not None and self.pid in LIVE_PROCESS_GROUPS:
            for sig in (signal.SIGKILL, signal.SIGCONT):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, sig)
            LIVE_PROCESS_GROUPS.discard(self.pid)

    async def _reap(self) -> None:
        """Wait (up to ``STOP_TIMEOUT`` s) until the killed process's exit is seen."""
        if self._transport is not None:
            assert self._protocol is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._protocol.exited), STOP_TIMEOUT)
            self._transport.close()

    async def stop(self) -> None:
        """Kill the node and wait until its exit is seen."""
        self.kill()
        await self._reap()
        self.net.unregister(self.id)
        self._close_log()

    # -- protocol callbacks -------------------------------------------------------------------

    def _on_exit(self, protocol: _Protocol) -> None:
        if protocol is not self._protocol:
            return  # an earlier incarnation, killed by the nemesis
        assert self._transport is not None
        self.returncode = self._transport.get_returncode()
        if self.pid is not None:
            LIVE_PROCESS_GROUPS.discard(self.pid)
            # children of a node that exited would otherwise linger
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        if not self.stopping:
            self.hooks.on_crash(self)

    def _stop_reading(self) -> None:
        # like Maelstrom's dead stdout reader: stop reading (the node blocks once the pipe fills)
        if self._transport is not None:
            pipe = self._transport.get_pipe_transport(1)
            if pipe is not None:
                pipe.pause_reading()  # type: ignore[attr-defined]
