"""The asyncio shell around ``common.protocol.Protocol``: stdin, stdout, tasks, timers.

Input: a pipe (or socket, tty) is watched with ``loop.add_reader`` and read in big chunks on the
loop thread, with no thread hop and no line-length limit. A regular file (``node < input``) cannot
be polled, so it is read chunk by chunk in the default executor instead.

Output: every line the protocol produces while a chunk is processed is written with one
``os.write`` at the end of that chunk; lines produced elsewhere (task completions, timers) are
written together at the next turn of the loop. Only whole lines are written, from one thread.
Before each write the commit hooks run (``common.durable.Journal``): records appended meanwhile
reach the disk first, so a reply never promises what a crash could still lose (group commit).

Time and chance: program logic asks the node (``now``, ``wall_ns``, ``call_later``, ``random``),
never ``time``, ``secrets`` or the loop directly, so the same code runs on the real clock and
under the runner's deterministic simulation (``maelstrom test --sim``), which gives each node a
virtual clock and a seeded ``random``.

Handlers: sync handlers run inline. A coroutine result becomes a task; its outcome (value,
exception or cancellation) is always collected and answered.

At EOF the node stops reading, lets running handler tasks finish (at most ``eof_grace`` seconds),
cancels periodic and spawned tasks and returns, so the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import select
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

from common.errors import Crash, RPCTimeout, error_from_body
from common.protocol import Body, Message, Protocol

F = TypeVar("F", bound=Callable[..., Any])

_CHUNK = 1 << 18


class Node:
    """A Maelstrom node. Use it from the event-loop thread only (handlers, hooks, tasks)."""

    def __init__(
        self, *, stdin: int = 0, stdout: int = 1, eof_grace: float = 10.0, seed: int | None = None
    ) -> None:
        #: this node's source of chance (seeded from the OS unless ``seed`` is given)
        self.random = random.Random(seed)
        self.protocol = Protocol(log=self._log_line)
        self.protocol.run_async = self._start_handler_task
        self.eof_grace = eof_grace
        self._stdin = stdin
        self._stdout = stdout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._eof: asyncio.Future[None] | None = None
        self._handler_tasks: set[asyncio.Task[Any]] = set()
        self._background_tasks: set[asyncio.Task[Any]] = set()
        self._deferred: list[Coroutine[Any, Any, Any]] = []
        self._flush_scheduled = False
        self._in_chunk = False
        self._stdout_closed = False
        #: where ``common.durable`` keeps this node's files (None: $MAELSTROM_DATA_DIR or a default)
        self.data_dir: str | os.PathLike[str] | None = None
        self._commit_hooks: list[Callable[[], None]] = []

    # -- identity ----------------------------------------------------------------------------

    @property
    def node_id(self) -> str:
        """This node's id (set by init; empty before)."""
        return self.protocol.node_id or ""

    @property
    def node_ids(self) -> list[str]:
        return self.protocol.node_ids

    # -- registration ------------------------------------------------------------------------

    def handler(self, kind: str) -> Callable[[F], F]:
        """``@node.handler("echo")``: handle messages whose ``body.type`` is ``kind``.

        The handler gets the ``Message`` and returns the reply body (dict) or None (no reply); an
        ``async def`` handler runs as a task. Registering a type twice is an error.
        """
        if not isinstance(kind, str):
            raise TypeError('use @node.handler("<message type>")')

        def register(fn: F) -> F:
            self.protocol.add_handler(kind, fn)
            return fn

        return register

    def on_init(self, fn: F) -> F:
        """``@node.on_init``: run ``fn()`` (sync or async) once ids are known, before init_ok."""
        self.protocol.add_init_hook(fn)
        return fn

    def add_commit_hook(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` before every write to stdout: a journal makes its records durable there,
        so no reply (or peer message) ever promises what a crash could still lose."""
        self._commit_hooks.append(fn)

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds on this node's monotonic clock (the event loop's; virtual under simulation)."""
        return self._loop.time() if self._loop is not None else time.monotonic()

    def wall_ns(self) -> int:
        """Wall-clock time in ns since the Unix epoch (for ids that must differ across runs)."""
        return time.time_ns()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        """Call ``fn(*args)`` after ``delay`` seconds on this node's clock; ``cancel()`` the handle
        to call it off."""
        return self._running_loop().call_later(delay, fn, *args)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> asyncio.Handle:
        """Call ``fn(*args)`` at the next turn of this node's loop."""
        return self._running_loop().call_soon(fn, *args)

    # -- messaging ---------------------------------------------------------------------------

    def send(self, dest: str, body: Body) -> None:
        """Send ``body`` to ``dest`` as is (fire and forget: no msg_id is added)."""
        self.protocol.send(dest, body)
        self._flush_soon()

    def reply(self, msg: Message, body: Body) -> None:
        """Answer ``msg`` with ``body`` (``in_reply_to`` is added); no-op if ``msg`` has no msg_id."""
        self.protocol.reply(msg, body)
        self._flush_soon()

    def reply_error(self, msg: Message, code: int, text: str = "") -> None:
        self.protocol.reply_error(msg, code, text)
        self._flush_soon()

    async def rpc(self, dest: str, body: Body, timeout: float = 1.0) -> Body:
        """Send a request and return the reply body.

        Raises the ``RPCError`` subclass for an error reply, or ``RPCTimeout`` after ``timeout``
        seconds. The pending entry is removed in every case; a late reply is dropped quietly.
        """
        loop = self._running_loop()
        reply: asyncio.Future[Message] = loop.create_future()
        msg_id = self.protocol.request(dest, body, partial(_resolve, reply))
        self._flush_soon()
        timer = loop.call_later(timeout, _expire, reply, dest, body.get("type"), timeout)
        try:
            msg = await reply
        finally:
            timer.cancel()
            self.protocol.cancel(msg_id)
        reply_body = msg.body
        if reply_body.get("type") == "error":
            raise error_from_body(reply_body)
        return reply_body

    # -- tasks -------------------------------------------------------------------------------

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run ``coroutine`` in the background; an exception is logged, never lost.

        Before the node runs, the coroutine is kept and started by ``serve`` (returns None).
        """
        if self._loop is None:
            self._deferred.append(coroutine)
            return None
        task = self._loop.create_task(coroutine)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_done)
        return task

    def every(self, interval: float, fn: Callable[[], Any]) -> asyncio.Task[Any] | None:
        """Call ``fn()`` (sync or async) every ``interval`` seconds, first after one interval.

        Runs never overlap: an async ``fn`` that takes longer than ``interval`` delays the next.
        """
        if interval <= 0:
            raise ValueError("interval must be positive")
        return self.spawn(self._periodic(interval, fn))

    def log(self, *args: Any) -> None:
        """Write a line to stderr (stdout carries protocol lines only)."""
        self._log_line(" ".join(str(arg) for arg in args))

    # -- running -----------------------------------------------------------------------------

    def run(self) -> None:
        """Serve stdin until EOF, then return (the process exits 0).

        A stray ``print()`` goes to stderr meanwhile: stdout carries protocol lines only.
        """
        if self._stdout == 1:
            with contextlib.redirect_stdout(sys.stderr):
                asyncio.run(self.serve())
        else:
            asyncio.run(self.serve())

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._eof = loop.create_future()
        deferred, self._deferred = self._deferred, []
        for coroutine in deferred:
            self.spawn(coroutine)
        self._flush()
        self._start_input()
        await self._eof
        await self._drain_handlers()
        await self._stop_background()
        self._flush()

    def _start_input(self) -> None:
        """Start reading stdin (a node without fds, as under simulation, is fed by its runner)."""
        try:
            self._running_loop().add_reader(self._stdin, self._on_readable)
        except OSError:  # regular files (and /dev/null) cannot be polled with epoll
            self.spawn(self._read_unpollable())

    def _on_readable(self) -> None:
        try:
            data = os.read(self._stdin, _CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._log_line(f"reading stdin failed: {exc!r}; treating it as end of input")
            data = b""
        if not data:
            assert self._loop is not None
            self._loop.remove_reader(self._stdin)
            self._at_eof()
            return
        self._feed(data)

    async def _read_unpollable(self) -> None:
        loop = self._running_loop()
        while not self._stdout_closed:
            data = await loop.run_in_executor(None, os.read, self._stdin, _CHUNK)
            if not data:
                break
            self._feed(data)
        self._at_eof()

    def _feed(self, data: bytes) -> None:
        self._in_chunk = True
        try:
            self.protocol.feed(data)
        finally:
            self._in_chunk = False
            self._flush()

    def _at_eof(self) -> None:
        self.protocol.feed_eof()
        self._flush()
        if self._eof is not None and not self._eof.done():
            self._eof.set_result(None)

    async def _drain_handlers(self) -> None:
        loop = self._running_loop()
        deadline = loop.time() + self.eof_grace
        while self._handler_tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                tasks = list(self._handler_tasks)
                self._log_line(f"end of input: cancelling {len(tasks)} handler(s) still running")
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                break
            await asyncio.wait(set(self._handler_tasks), timeout=remaining)

    async def _stop_background(self) -> None:
        tasks = list(self._background_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- handler tasks -----------------------------------------------------------------------

    def _start_handler_task(self, msg: Message, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = self._running_loop().create_task(coroutine)
        self._handler_tasks.add(task)
        task.add_done_callback(partial(self._handler_done, msg))

    def _handler_done(self, msg: Message, task: asyncio.Task[Any]) -> None:
        self._handler_tasks.discard(task)
        if task.cancelled():
            self.protocol.finish_exception(msg, Crash("handler cancelled (node shutting down)"))
        else:
            exc = task.exception()
            if exc is None:
                self.protocol.finish(msg, task.result())
            else:
                self.protocol.finish_exception(msg, exc)
        self._flush_soon()

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background_tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            trace = "".join(traceback.format_exception(exc))
            self._log_line(f"background task {task.get_name()} failed:\n{trace}")
        self._flush_soon()

    async def _periodic(self, interval: float, fn: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                outcome = fn()
                if isinstance(outcome, Awaitable):
                    await outcome
            except Exception:
                self._log_line(f"periodic {getattr(fn, '__name__', fn)!s} failed:\n{traceback.format_exc()}")
            self._flush_soon()

    # -- output ------------------------------------------------------------------------------

    def _flush_soon(self) -> None:
        # Inside a chunk the chunk's own flush covers it; elsewhere batch with the loop turn.
        if self._flush_scheduled or self._in_chunk or self._loop is None:
            return
        self._flush_scheduled = True
        self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        for commit in self._commit_hooks:
            try:
                commit()
            except OSError as exc:  # nothing may go out that the disk does not hold: stop here
                self._log_line(f"durable commit failed ({exc!r}); exiting without replying")
                self._exit(70)
                return
        data = self.protocol.data_to_send()
        if data and not self._stdout_closed:
            self._write_all(data)

    def _write_all(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._stdout, view)
            except BlockingIOError:  # stdout was handed to us non-blocking: wait until writable
                select.select([], [self._stdout], [])
                continue
            except OSError as exc:  # BrokenPipeError and friends: nobody is listening any more
                self._stdout_closed = True
                self._log_line(f"stdout closed ({exc!r}); stopping")
                if self._eof is not None and not self._eof.done():
                    self._eof.set_result(None)
                return
            view = view[written:]

    def _exit(self, code: int) -> None:
        """End the process at once, flushing nothing (a simulated node ends its instance instead)."""
        os._exit(code)

    def _log_line(self, text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the node is not running yet (call this from a handler, hook or task)")
        return self._loop


def _resolve(reply: asyncio.Future[Message], msg: Message) -> None:
    if not reply.done():
        reply.set_result(msg)


def _expire(reply: asyncio.Future[Message], dest: str, kind: Any, timeout: float) -> None:
    if not reply.done():
        reply.set_exception(RPCTimeout(f"no reply from {dest} to {kind!r} within {timeout}s"))
