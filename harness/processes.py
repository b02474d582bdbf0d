"""Node processes: spawn, pipe stdin/stdout into the network, log stderr, detect faults.

Mirrors M:process.clj and M:db.clj (maelstrom-runner.md §2-3), but stricter:

* a stdout line that is not a valid message, or names an unknown/closed src or dest, is a
  *node fault*: like Maelstrom we stop reading that node's stdout, and unlike Maelstrom the
  fault makes the verdict invalid (the run reports every fault, naming the node and the line);
* a node that exits during the run ends it at once (exit 255, as Maelstrom does at teardown),
  with its exit status, last stdout/stderr lines and log path.

Every node runs in its own process group, killed with SIGKILL when the run ends; the set of live
groups is kept module-wide so the CLI can kill them even after an unexpected exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from harness.history import Keyword, kw
from harness.network import Network
from harness.nodelog import DEFAULT_LIMIT, NodeLog, format_size

__all__ = ["LIVE_PROCESS_GROUPS", "NodeFault", "NodeIO", "NodeProcess", "RunAborted", "kill_all"]

_decode = msgspec.json.Decoder().decode
_ENVELOPE_KEYS = frozenset({"src", "dest", "body", "id"})
_TAIL = 32
#: about the bytes a --log-stderr line gains in jepsen.log (timestamp, thread, logger)
_ECHO_PREFIX = 64
#: a stderr "line" longer than this is handled (tail, --log-stderr echo) in pieces of this size
_MAX_LINE = 1 << 16
#: seconds stop() waits for a killed node's exit to be seen
STOP_TIMEOUT = 5.0

#: process-group ids of every node still running (for last-resort cleanup)
LIVE_PROCESS_GROUPS: set[int] = set()


def kill_all() -> None:
    """SIGKILL every node process group this process started and has not reaped."""
    for pgid in list(LIVE_PROCESS_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        LIVE_PROCESS_GROUPS.discard(pgid)


class RunAborted(Exception):
    """The run cannot go on (a node crashed, init failed, setup failed): exit 255."""


@dataclass(slots=True)
class NodeFault:
    """One node misbehaviour that Maelstrom would answer by no longer reading the node's stdout."""

    node: str
    kind: str
    message: str
    line: str

    def to_result(self) -> dict[str, Any]:
        return {"node": self.node, "kind": self.kind, "message": self.message, "line": self.line}


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


def _clip(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


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


class NodeIO:
    """What every node runner shares, process or simulated instance: the stdout line handling
    (each line checked as a message and sent on the network, or a node fault), the stderr log
    (node log file, tails, ``--log-stderr``), the crash report and the fault flags."""

    def __init__(
        self,
        node_id: str,
        net: Network,
        log_path: Path,
        *,
        on_fault: Callable[[NodeFault], None],
        on_crash: Callable[[Any], None],
        console: Callable[[str], None],
        log_stderr: bool = False,
        log_limit: int = DEFAULT_LIMIT,
    ) -> None:
        self.id = node_id
        self.net = net
        self.log_path = log_path
        self._on_fault_cb = on_fault
        self._on_crash_cb = on_crash
        #: where each stderr line goes under --log-stderr (the run gives it the node's log thread)
        self._console = console
        self._log_stderr = log_stderr
        #: the node log keeps at most this many bytes (harness.nodelog; 0: all of them); the
        #: --log-stderr echo shows the first half of it, then, at the end, the last lines
        self._log_limit = log_limit
        self._log: NodeLog | None = None
        self._echoed = 0
        self._echo_dropped = 0
        #: after the run, when the node log was cut: {"total", "kept", "dropped", "limit"} (bytes)
        self.log_truncation: dict[str, int] | None = None
        self._stdout_buf = b""
        self._stderr_buf = b""
        self.stdout_tail: deque[str] = deque(maxlen=_TAIL)
        self.stderr_tail: deque[str] = deque(maxlen=_TAIL)
        self.reading = True
        self.stopping = False
        self.returncode: int | None = None
        #: every pid this node id has run under (a kill and restart adds one)
        self.pids: list[int] = []
        #: killed by the nemesis and not started again
        self.down = False
        #: stopped by the nemesis (SIGSTOP, or its simulated equivalent)
        self.paused = False

    # -- nemesis faults -------------------------------------------------------------------------
    # The bookkeeping every node runner shares: flags, the network's hold and fault marks, the
    # keyword the history records for this node (Jepsen's {node -> result}). How a node is
    # stopped, started, frozen and thawed is the subclass's: kill, _reap, _spawn, _freeze, _thaw.

    async def crash(self) -> Keyword:
        """Kill: stop the node for good and wait until it is gone; messages to it now wait."""
        if self.down:
            return kw("not-running")
        self.down = True
        self.paused = False
        self.net.mark_faulted(self.id)
        self.net.hold(self.id)
        self.stopping = True
        self.kill()
        await self._reap()
        self._flush_stderr_tail()
        self._stdout_buf = b""
        return kw("killed")

    async def restart(self, init: Callable[[Any], Awaitable[None]]) -> Keyword:
        """Start: a fresh node under the same id; ``init`` sends it init (admitted through the
        hold) and raises if it gets no init_ok; only then do the messages that waited flow."""
        if not self.down:
            return kw("already-running")
        self.stopping = False
        self.reading = True
        self.returncode = None
        self._stdout_buf = b""
        await self._spawn()
        if self._log is not None:
            newline = "" if self._log.ends_line else "\n"
            self._log.write(
                f"{newline}--- {self.id} restarted by the nemesis ({self._incarnation()}) ---\n".encode()
            )
        try:
            await init(self)
        except BaseException:
            self.stopping = True  # it stays down
            self.kill()
            await self._reap()
            raise
        self.down = False
        self.net.release(self.id)
        self.net.mark_recovered(self.id)
        return kw("started")

    def pause(self) -> Keyword:
        if self.down:
            return kw("not-running")
        if self.paused:
            return kw("already-paused")
        self.net.mark_faulted(self.id)
        self._freeze()
        self.paused = True
        return kw("paused")

    def resume(self) -> Keyword:
        if not self.paused:
            return kw("not-paused")
        self._thaw()
        self.paused = False
        self.net.mark_recovered(self.id)
        return kw("resumed")

    def kill(self) -> None:
        raise NotImplementedError

    async def _reap(self) -> None:
        """Wait until a killed node is gone (nothing to wait for by default)."""

    async def _spawn(self) -> None:
        raise NotImplementedError

    def _freeze(self) -> None:
        raise NotImplementedError

    def _thaw(self) -> None:
        raise NotImplementedError

    def _incarnation(self) -> str:
        """Names the node's current incarnation in its log's restart line."""
        return f"incarnation {len(self.pids)}"

    def _open_log(self) -> None:
        self._log = NodeLog(self.log_path, self._log_limit)

    def _close_log(self) -> None:
        if self._log is not None:
            self._flush_stderr_tail()
            self.log_truncation = self._log.close()
            self._log = None
        if self._echo_dropped:
            self._console(
                f"--- --log-stderr: {self._echo_dropped} bytes ({format_size(self._echo_dropped)}) of "
                f"{self.id}'s stderr not shown (--node-log-limit {self._log_limit}); its last lines: ---"
            )
            for line in self.stderr_tail:
                self._console(line)
            self._echo_dropped = 0

    def log_truncation_text(self) -> str | None:
        """One sentence for the console when the node's log was cut, else None."""
        t = self.log_truncation
        if t is None:
            return None
        return (
            f"Node {self.id} wrote {format_size(t['total'])} to stderr: its log {self.log_path} keeps "
            f"the first and last parts ({format_size(t['kept'])}; {format_size(t['dropped'])} dropped "
            f"at the marker line; --node-log-limit {format_size(t['limit'])})"
        )

    def crash_report(self) -> str:
        out = "\n".join(self.stdout_tail) or "(nothing)"
        err = "\n".join(self.stderr_tail) or "(nothing)"
        return (
            f"Node {self.id} crashed with exit status {self.returncode}. "
            f"Before crashing, it wrote to STDOUT:\n\n{out}\n\nAnd to STDERR:\n\n{err}\n\n"
            f"Full STDERR logs are available in {self.log_path}"
        )

    def _on_stderr(self, data: bytes) -> None:
        if self._log is not None:
            self._log.write(data)  # as it came: the log needs no line boundaries
        data = self._stderr_buf + data
        echo = self._log_stderr and (not self._log_limit or self._echoed < self._log_limit // 2)
        if echo:
            *lines, rest = data.split(b"\n")
        else:  # only the last lines matter (the tail): do not split and decode the rest
            *lines, rest = data.rsplit(b"\n", _TAIL)
            if lines and len(lines) == _TAIL and b"\n" in lines[0]:
                lines[0] = lines[0].rpartition(b"\n")[2]
            if self._log_stderr:
                self._echo_dropped += len(data) - len(rest)
        if len(rest) > _MAX_LINE:  # a node that never ends its line: take it in pieces
            lines.append(rest[:_MAX_LINE])
            rest = rest[_MAX_LINE:][-_MAX_LINE:]
        self._stderr_buf = rest
        for raw in lines:
            text = raw[:2000].decode("utf-8", "replace")
            self.stderr_tail.append(text)
            if echo:  # counted with the line's log prefix, so that short lines cannot multiply it
                self._echoed += len(raw) + _ECHO_PREFIX
                self._console(raw.decode("utf-8", "replace"))

    def _flush_stderr_tail(self) -> None:
        """The node is gone: its unfinished last line goes to the tail (the log has it already)."""
        if self._stderr_buf:
            self.stderr_tail.append(self._stderr_buf[:2000].decode("utf-8", "replace"))
            self._stderr_buf = b""

    def _on_stdout(self, data: bytes) -> None:
        if not self.reading:
            return
        if self._stdout_buf:
            data = self._stdout_buf + data
        *lines, self._stdout_buf = data.split(b"\n")
        for raw in lines:
            self.stdout_tail.append(raw[:2000].decode("utf-8", "replace"))
            self._handle_line(raw)
            if not self.reading:
                self._stdout_buf = b""
                return

    def _handle_line(self, raw: bytes) -> None:
        try:
            msg = _decode(raw)
        except msgspec.DecodeError:
            return self._fault(
                "line-not-valid-json",
                f"Node {self.id} printed a line to STDOUT which was not well-formed JSON. "
                "Did you mean to write this to STDERR instead?",
                raw,
            )
        if type(msg) is not dict:
            return self._fault(
                "malformed-message", f"Node {self.id} printed a JSON value that is not an object", raw
            )
        src = msg.get("src")
        dest = msg.get("dest")
        problem = None
        if type(src) is not str:
            problem = "src must be a string"
        elif type(dest) is not str:
            problem = "dest must be a string"
        elif len(msg) > 2 and not _ENVELOPE_KEYS.issuperset(msg):
            extra = sorted(k for k in msg if k not in _ENVELOPE_KEYS)
            problem = f"disallowed top-level key(s) {extra} (only src, dest, body, id)"
        elif "id" in msg and type(msg["id"]) is not int:
            problem = "id must be an integer"
        body = msg.get("body")
        if body is None:
            body = {}
        elif problem is None and type(body) is not dict:
            problem = "body must be a JSON object"
        if problem is not None:
            return self._fault(
                "malformed-message", f"Malformed network message from node {self.id}: {problem}", raw
            )
        net = self.net
        if src not in net.endpoints:
            return self._fault(
                "invalid-src", f"Invalid source for message: node {self.id} sent from unknown id {src!r}", raw
            )
        if dest not in net.endpoints and dest in net.excused:
            # a late reply to a client that gave up while this node was paused or killed
            net.excused_replies += 1
            return None
        if dest not in net.endpoints:
            hint = (
                " (a client that is gone: a late reply after its request timed out or the client was closed?)"
                if isinstance(dest, str) and dest.startswith("c")
                else ""
            )
            return self._fault(
                "invalid-dest",
                f"Invalid dest for message: node {self.id} sent to unknown id {dest!r}{hint}",
                raw,
            )
        net.send(src, dest, body)

    def _fault(self, kind: str, message: str, raw: bytes) -> None:
        self.reading = False
        self._stop_reading()
        line = _clip(raw.decode("utf-8", "replace"))
        self._on_fault_cb(NodeFault(self.id, kind, message, line))

    def _stop_reading(self) -> None:
        """After a node fault: read nothing more of this node's stdout."""


class NodeProcess(NodeIO):
    """One node binary connected to the network under its node id."""

    def __init__(
        self,
        node_id: str,
        net: Network,
        log_path: Path,
        *,
        on_fault: Callable[[NodeFault], None],
        on_crash: Callable[[NodeProcess], None],
        console: Callable[[str], None],
        log_stderr: bool = False,
        log_limit: int = DEFAULT_LIMIT,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            node_id,
            net,
            log_path,
            on_fault=on_fault,
            on_crash=on_crash,
            console=console,
            log_stderr=log_stderr,
            log_limit=log_limit,
        )
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
            self._on_crash_cb(self)

    def _stop_reading(self) -> None:
        # like Maelstrom's dead stdout reader: stop reading (the node blocks once the pipe fills)
        if self._transport is not None:
            pipe = self._transport.get_pipe_transport(1)
            if pipe is not None:
                pipe.pause_reading()  # type: ignore[attr-defined]
