"""The sans-I/O core of a Maelstrom node: bytes in, bytes out, no asyncio.

``Protocol.feed(data)`` takes whatever bytes arrived on stdin (any chunking), decodes each
complete line, runs the handler for its ``body.type`` and appends the resulting lines to an
output buffer that ``data_to_send()`` drains. It allocates ``msg_id``s, tracks which requests
are waiting for a reply, and turns handler outcomes into replies or error replies.

Rules it keeps (Maelstrom's protocol, ``doc/protocol.md``):
- a line that is not a JSON object with string ``src``/``dest`` and an object ``body`` is
  logged to stderr and skipped; blank lines are skipped silently;
- a message with ``in_reply_to`` is a reply: it goes to the pending request with that id, or is
  dropped quietly (late or unknown); it is never answered and never dispatched to a handler;
- a request is answered only if it has an int ``msg_id``; unknown type -> error 10, an
  ``RPCError`` -> its code (a handler raises ``MalformedRequest``, 12, for a body it rejects,
  before it changes anything: see ``common.requests``), any other exception -> 13 (crash,
  indefinite) with a traceback on stderr. A ``KeyError`` is 13 too, never 12: the handler may
  already have changed state when it tripped, and 12 would promise that nothing happened.

Coroutine results are handed to ``run_async(msg, coroutine)``; the asyncio shell (``common.node``)
runs them as tasks and reports back with ``finish``/``finish_exception``. The default runner
drives a coroutine inline and only works if it never suspends, which is enough for tests.
"""

from __future__ import annotations

import reprlib
import sys
import traceback
from collections.abc import Callable, Coroutine
from types import CoroutineType
from typing import Any

import msgspec

from common.errors import Crash, ErrorCode, MalformedRequest, RPCError

Body = dict[str, Any]
Handler = Callable[["Message"], Any]
ReplyCallback = Callable[["Message"], None]
AsyncRunner = Callable[["Message", Coroutine[Any, Any, Any]], None]

#: longest excerpt of a bad line or a value quoted in a log line or an error text
_EXCERPT = 200


class Message(msgspec.Struct, omit_defaults=True, gc=False):
    """One Maelstrom message. ``id`` is the network's message id (absent on what we send)."""

    src: str
    dest: str
    body: Body
    id: int | None = None

    @property
    def msg_id(self) -> int | None:
        """The body's ``msg_id`` if it is an int (only then can the message be answered)."""
        msg_id = self.body.get("msg_id")
        return msg_id if type(msg_id) is int else None

    @property
    def type(self) -> Any:
        return self.body.get("type")


def _log_stderr(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _bounded_repr() -> reprlib.Repr:
    # reprlib, not repr: a hostile body nested hundreds deep would make repr() itself raise
    # RecursionError inside an error path, and only the first _EXCERPT characters are shown anyway
    bounded = reprlib.Repr()
    bounded.maxlevel = 8
    bounded.maxlist = bounded.maxtuple = bounded.maxdict = bounded.maxset = 20
    bounded.maxstring = bounded.maxother = bounded.maxlong = _EXCERPT
    return bounded


_REPR = _bounded_repr()


def _excerpt(value: Any) -> str:
    try:
        text = _REPR.repr(value)
    except Exception as exc:  # a value whose __repr__ fails must not break a log line
        return f"<{type(value).__name__} that cannot be shown: {type(exc).__name__}>"
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + f"... ({len(text)} chars)"


def _where(exc: BaseException) -> str:
    """``file:line`` where ``exc`` was raised, for one-line logs of rejected requests."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


class Protocol:
    """The node's protocol state machine. Not thread-safe: drive it from one thread."""

    def __init__(self, log: Callable[[str], None] = _log_stderr) -> None:
        self.node_id: str | None = None
        self.node_ids: list[str] = []
        self.log = log
        #: how coroutine results of handlers are run; the asyncio shell replaces it
        self.run_async: AsyncRunner = self._run_inline
        #: replies that matched no pending request (late after a timeout, or bogus)
        self.dropped_replies = 0
        self._handlers: dict[str, Handler] = {"init": self._handle_init}
        self._init_hooks: list[Callable[[], Any]] = []
        self._pending: dict[int, ReplyCallback] = {}
        self._last_msg_id = 0
        self._out = bytearray()
        self._partial: list[bytes] = []
        self._decode = msgspec.json.Decoder(Message).decode
        self._encode_into = msgspec.json.Encoder().encode_into

    # -- registration ------------------------------------------------------------------------

    def add_handler(self, kind: str, handler: Handler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for message type {kind!r} is already registered")
        self._handlers[kind] = handler

    def add_init_hook(self, hook: Callable[[], Any]) -> None:
        """Run ``hook()`` on init (after node_id/node_ids are set, before init_ok is sent)."""
        self._init_hooks.append(hook)

    # -- input -------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Process the complete lines in ``data``; a trailing partial line waits for more."""
        partial = self._partial
        if partial:
            partial.append(data)
            if b"\n" not in data:
                return
            data = b"".join(partial)
            partial.clear()
        lines = data.split(b"\n")
        tail = lines.pop()
        if tail:
            partial.append(tail)
        receive = self.receive
        for line in lines:
            if line:
                receive(line)

    def feed_eof(self) -> None:
        """End of input: a last line without a newline is still processed."""
        if self._partial:
            line = b"".join(self._partial)
            self._partial.clear()
            self.receive(line)

    def receive(self, line: bytes) -> None:
        """Process one line (without its newline). Never raises for bad input."""
        try:
            msg = self._decode(line)
        except Exception as exc:  # DecodeError, UnicodeDecodeError, RecursionError (deep nesting)
            if not line.isspace():
                self.log(f"ignoring a line that is not a Maelstrom message ({exc}): {_excerpt(line)}")
            return
        body = msg.body
        in_reply_to = body.get("in_reply_to")
        if in_reply_to is not None:
            self._receive_reply(msg, in_reply_to)
            return
        msg_id = body.get("msg_id")
        if msg_id is not None and type(msg_id) is not int:
            self.log(f"ignoring a request whose msg_id is not an int: {_excerpt(body)}")
            return
        kind = body.get("type")
        handler = self._handlers.get(kind) if type(kind) is str else None
        if handler is None:
            self._unhandled(msg, kind, msg_id)
            return
        try:
            result = handler(msg)
        except Exception as exc:
            self._answer_exception(msg, msg_id, exc)
            return
        if result is None:
            return
        if type(result) is dict:
            if msg_id is not None:
                self._emit_reply(msg, msg_id, result)
            return
        self._handle_result(msg, result)

    def _receive_reply(self, msg: Message, in_reply_to: Any) -> None:
        # type() rather than isinstance: True is not a msg_id, and 1.0 != 1 in Maelstrom (Clojure =)
        callback = self._pending.pop(in_reply_to, None) if type(in_reply_to) is int else None
        if callback is None:
            self.dropped_replies += 1
            return
        try:
            callback(msg)
        except Exception:
            self.log(f"reply callback failed for {_excerpt(msg.body)}:\n{traceback.format_exc()}")

    def _unhandled(self, msg: Message, kind: Any, msg_id: int | None) -> None:
        if msg_id is None:
            self.log(f"ignoring a message without msg_id that no handler takes: {_excerpt(msg.body)}")
        elif type(kind) is not str:
            self.reply_error(
                msg, ErrorCode.MALFORMED_REQUEST, f"body.type must be a string, got {_excerpt(kind)}"
            )
        else:
            self.reply_error(msg, ErrorCode.NOT_SUPPORTED, f"unsupported message type {_excerpt(kind)}")

    # -- handler outcomes ----------------------------------------------------------------------

    def _handle_result(self, msg: Message, result: Any) -> None:
        if type(result) is CoroutineType:
            self.run_async(msg, result)
        else:
            self.finish(msg, result)

    def finish(self, msg: Message, result: Any) -> None:
        """A handler of ``msg`` returned ``result``: a dict is the reply, None means no reply."""
        if result is None:
            return
        msg_id = msg.msg_id
        if type(result) is dict:
            if msg_id is not None:
                self._emit_reply(msg, msg_id, result)
            return
        text = f"handler for {_excerpt(msg.body.get('type'))} returned {type(result).__name__}, not a dict or None"
        self.log(text)
        self.finish_exception(msg, Crash(text))

    def finish_exception(self, msg: Message, exc: BaseException) -> None:
        """A handler of ``msg`` raised ``exc``: answer with the matching error."""
        self._answer_exception(msg, msg.msg_id, exc)

    def _answer_exception(self, msg: Message, msg_id: int | None, exc: BaseException) -> None:
        kind = _excerpt(msg.body.get("type"))
        if isinstance(exc, RPCError):
            code, text = exc.code, exc.text if isinstance(exc.text, str) else repr(exc.text)
            if msg_id is None:  # nobody to tell: say it here rather than drop it silently
                where = _where(exc)
                self.log(
                    f"{kind} without msg_id failed: {exc} (raised at {where}); body {_excerpt(msg.body)}"
                )
        else:
            # Any other exception is a bug (a body the handler did not validate, or worse), and
            # it may have struck after the handler changed state: indefinite, never 12.
            code, text = ErrorCode.CRASH, f"{type(exc).__name__}: {exc}"
            trace = "".join(traceback.format_exception(exc))
            self.log(f"handler for {kind} crashed on {_excerpt(msg.body)}:\n{trace}")
        if msg_id is None:
            return
        self._emit_error(msg, msg_id, int(code), text[:2000])

    def _handle_init(self, msg: Message) -> Any:
        body = msg.body
        node_id, node_ids = body.get("node_id"), body.get("node_ids")
        if (
            type(node_id) is not str
            or type(node_ids) is not list
            or any(type(n) is not str for n in node_ids)
        ):
            raise MalformedRequest("init needs node_id (a string) and node_ids (a list of strings)")
        self.node_id = node_id
        self.node_ids = list(node_ids)
        coroutines: list[Coroutine[Any, Any, Any]] = []
        try:
            for hook in self._init_hooks:
                outcome = hook()
                if type(outcome) is CoroutineType:
                    coroutines.append(outcome)
        except BaseException:
            for coroutine in coroutines:
                coroutine.close()
            raise
        if coroutines:
            return _await_all_then(coroutines, {"type": "init_ok"})
        return {"type": "init_ok"}

    def _run_inline(self, msg: Message, coroutine: Coroutine[Any, Any, Any]) -> None:
        try:
            coroutine.send(None)
        except StopIteration as stop:
            self.finish(msg, stop.value)
        except Exception as exc:
            self.finish_exception(msg, exc)
        else:
            coroutine.close()
            self.finish_exception(
                msg, RuntimeError("this coroutine handler suspends: run it under common.Node")
            )

    # -- output ------------------------------------------------------------------------------

    def send(self, dest: str, body: Body) -> None:
        """Queue a message from this node to ``dest`` (sent as is: no msg_id is added)."""
        self._emit(Message(self._require_node_id(), dest, body))

    def reply(self, msg: Message, body: Body) -> bool:
        """Queue ``body`` as the reply to ``msg``; False (nothing sent) if ``msg`` has no msg_id."""
        msg_id = msg.msg_id
        if msg_id is None:
            return False
        self._emit_reply(msg, msg_id, body)
        return True

    def reply_error(self, msg: Message, code: int, text: str = "") -> bool:
        msg_id = msg.msg_id
        if msg_id is None:
            return False
        self._emit_error(msg, msg_id, int(code), text)
        return True

    def request(self, dest: str, body: Body, on_reply: ReplyCallback) -> int:
        """Send ``body`` with a fresh msg_id; ``on_reply(reply)`` runs when its reply arrives.

        The caller owns the pending entry: ``cancel(msg_id)`` it on timeout (a reply arriving
        after that is dropped quietly).
        """
        src = self._require_node_id()
        self._last_msg_id += 1
        msg_id = self._last_msg_id
        self._emit(Message(src, dest, {**body, "msg_id": msg_id}))
        self._pending[msg_id] = on_reply
        return msg_id

    def cancel(self, msg_id: int) -> bool:
        """Forget a pending request; True if it was still waiting."""
        return self._pending.pop(msg_id, None) is not None

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def data_to_send(self) -> bytearray:
        """Drain the output buffer: whole lines, each ending in a newline."""
        out = self._out
        if not out:
            return out[:0]
        self._out = bytearray()
        return out

    def _require_node_id(self) -> str:
        if self.node_id is None:
            raise RuntimeError("this node has no id yet: it can send only after init")
        return self.node_id

    def _emit_reply(self, msg: Message, msg_id: int, body: Body) -> None:
        try:
            self._emit(Message(msg.dest, msg.src, {**body, "in_reply_to": msg_id}))
        except Exception as exc:  # a value the encoder cannot write: answer crash instead
            self.log(f"cannot encode the reply to {_excerpt(msg.body)}: {exc!r}")
            self._emit_error(msg, msg_id, ErrorCode.CRASH, f"reply not encodable: {exc!r}"[:2000])

    def _emit_error(self, msg: Message, msg_id: int, code: int, text: str) -> None:
        body = {"type": "error", "in_reply_to": msg_id, "code": code, "text": text}
        try:
            self._emit(Message(msg.dest, msg.src, body))
        except Exception as exc:
            self.log(f"cannot encode an error reply: {exc!r}")

    def _emit(self, msg: Message) -> None:
        out = self._out
        size = len(out)
        try:
            self._encode_into(msg, out, -1)
        except BaseException:
            del out[size:]  # never leave half a line in the buffer
            raise
        out += b"\n"


async def _await_all_then(coroutines: list[Coroutine[Any, Any, Any]], result: Body) -> Body:
    for coroutine in coroutines:
        await coroutine
    return result
