"""What every node runner shares, a process or a simulated instance: :class:`NodeIO`.

A node's stdout is read line by line, each line checked as a message and sent on the network, or
a *node fault* (:class:`NodeFault`): like Maelstrom, the runner then stops reading that node's
stdout; unlike Maelstrom, the fault makes the verdict invalid. Its stderr goes to its log file
(and tails, and the console under ``--log-stderr``). The nemesis's bookkeeping (kill, restart,
pause, resume) is here too; how a node is started, stopped, frozen and thawed is the runtime's
subclass's: ``NodeProcess`` (harness/processes.py) and ``SimNode`` (harness/sim.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec

from harness.history import Keyword, kw
from harness.net.network import Network

__all__ = ["STOP_TIMEOUT", "NodeFault", "NodeHooks", "NodeIO", "RunAborted"]

_decode = msgspec.json.Decoder().decode
_ENVELOPE_KEYS = frozenset({"src", "dest", "body", "id"})
_TAIL = 32
#: seconds stop() waits for a killed node's exit to be seen
STOP_TIMEOUT = 5.0


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


@dataclass(frozen=True, slots=True)
class NodeHooks:
    """What a node tells the run, in one object (every runtime's node gets the same one)."""

    #: a node fault: the node's stdout is no longer read and the verdict will be invalid
    on_fault: Callable[[NodeFault], None]
    #: the node exited (or its instance ended) while the run needed it: the run ends (exit 255)
    on_crash: Callable[[NodeIO], None]
    #: (node id, line): where each stderr line goes under --log-stderr (the run's log)
    console: Callable[[str, str], None] = lambda node_id, line: None
    #: --log-stderr: every stderr line to ``console`` too, not only to the node's log file
    log_stderr: bool = False


def _clip(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


class NodeIO:
    """What every node runner shares, process or simulated instance: the stdout line handling
    (each line checked as a message and sent on the network, or a node fault), the stderr log
    (node log file, tails, ``--log-stderr``), the crash report and the fault flags."""

    def __init__(self, node_id: str, net: Network, log_path: Path, hooks: NodeHooks) -> None:
        self.id = node_id
        self.net = net
        self.log_path = log_path
        self.hooks = hooks
        self._log: IO[bytes] | None = None
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
            self._log.write(f"--- {self.id} restarted by the nemesis ({self._incarnation()}) ---\n".encode())
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

    # -- what each runtime's node supplies ------------------------------------------------------

    async def start(self, argv: list[str], cwd: str) -> None:
        """Register in the network, then start the node (``argv``: the program and its words)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Kill the node, wait until it is gone, unregister it and close its log."""
        raise NotImplementedError

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
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in _close_log)

    def _close_log(self) -> None:
        if self._log is not None:
            self._flush_stderr_tail()
            self._log.close()
            self._log = None

    def crash_report(self) -> str:
        out = "\n".join(self.stdout_tail) or "(nothing)"
        err = "\n".join(self.stderr_tail) or "(nothing)"
        return (
            f"Node {self.id} crashed with exit status {self.returncode}. "
            f"Before crashing, it wrote to STDOUT:\n\n{out}\n\nAnd to STDERR:\n\n{err}\n\n"
            f"Full STDERR logs are available in {self.log_path}"
        )

    def _on_stderr(self, data: bytes) -> None:
        data = self._stderr_buf + data
        *lines, self._stderr_buf = data.split(b"\n")
        if self._log is not None:
            self._log.write(data[: len(data) - len(self._stderr_buf)])
            self._log.flush()
        for raw in lines:
            text = raw.decode("utf-8", "replace")
            self.stderr_tail.append(text)
            if self.hooks.log_stderr:
                self.hooks.console(self.id, text)

    def _flush_stderr_tail(self) -> None:
        if self._stderr_buf and self._log is not None:
            self._log.write(self._stderr_buf)
            self.stderr_tail.append(self._stderr_buf.decode("utf-8", "replace"))
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
        self.hooks.on_fault(NodeFault(self.id, kind, message, line))

    def _stop_reading(self) -> None:
        """After a node fault: read nothing more of this node's stdout."""
