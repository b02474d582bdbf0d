"""Maelstrom's RPC client (M:client.clj): one outstanding request, reply matched by in_reply_to.

A client is a network id ``cK`` (K from one global counter per run). Its ``msg_id``s start at 1.
It accepts the first delivered message whose ``body.in_reply_to`` is the integer it waits for
(``1.0`` and ``true`` do not match ``1``) and silently discards every other message. Error
replies are examined before the closed-schema check of the reply.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from harness.history import Keyword, kw

if TYPE_CHECKING:
    from harness.net.network import Message, Network
    from harness.schema import Body

__all__ = [
    "DEFINITE_CODES",
    "ERROR_NAMES",
    "ClientTimeout",
    "MalformedResponse",
    "RPCClient",
    "RPCErrorReply",
    "error_name",
]

#: Maelstrom's resources/errors.edn
ERROR_NAMES: dict[int, str] = {
    0: "timeout",
    1: "node-not-found",
    10: "not-supported",
    11: "temporarily-unavailable",
    12: "malformed-request",
    13: "crash",
    14: "abort",
    20: "key-does-not-exist",
    21: "key-already-exists",
    22: "precondition-failed",
    30: "txn-conflict",
}
DEFINITE_CODES = frozenset({1, 10, 11, 12, 14, 20, 21, 22, 30})


def error_name(code: Any) -> Keyword:
    """The keyword Maelstrom records for an error code (``:unknown`` for codes not in its table)."""
    if isinstance(code, int) and not isinstance(code, bool):
        return kw(ERROR_NAMES.get(code, "unknown"))
    return kw("unknown")


class RPCErrorReply(Exception):
    """The node answered with ``{"type": "error", "code": c, "text": t}``."""

    def __init__(self, code: Any, text: Any, body: dict[str, Any]) -> None:
        super().__init__(f"error {code}: {text}")
        self.code = code
        self.text = text
        self.body = body

    @property
    def definite(self) -> bool:
        return isinstance(self.code, int) and not isinstance(self.code, bool) and self.code in DEFINITE_CODES

    @property
    def name(self) -> Keyword:
        return error_name(self.code)


class ClientTimeout(Exception):
    """No matching reply within the RPC timeout."""

    def __init__(self, message: str = "Client read timeout") -> None:
        super().__init__(message)


class MalformedResponse(Exception):
    """The reply does not fit the closed schema of the expected response."""


class RPCClient:
    """A Maelstrom client bound to one node. Create with :meth:`open`, end with :meth:`close`."""

    __slots__ = ("_epoch", "_expect", "_net", "_reply", "_timer", "closed", "id", "msg_id", "node", "timeout")

    def __init__(self, net: Network, id: str, node: str, timeout: float = 5.0) -> None:
        self._net = net
        self.id = id
        self.node = node
        self.timeout = timeout
        self.msg_id = 0
        self._expect = -1
        self._reply: asyncio.Future[dict[str, Any]] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.closed = False
        self._epoch = net.fault_epoch
        net.register(id, self._on_message, direct=True)

    def _on_message(self, msg: Message) -> None:
        fut = self._reply
        if fut is None or fut.done():
            return  # nobody waits: discarded, as Maelstrom's recv! does
        irt = msg.body.get("in_reply_to")
        if type(irt) is int and irt == self._expect:
            fut.set_result(msg.body)

    def _on_timeout(self) -> None:
        fut = self._reply
        if fut is not None and not fut.done():
            fut.set_exception(ClientTimeout())

    async def request(self, body: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send ``body`` with the next msg_id and return the matching reply body, unvalidated."""
        if self.closed:
            raise RuntimeError(f"client {self.id} is closed")
        if self.node not in self._net:
            raise ClientTimeout(f"node {self.node} is not reachable")
        self.msg_id += 1
        mid = self.msg_id
        self._epoch = self._net.fault_epoch
        body = {**body, "msg_id": mid}
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._reply = fut
        self._expect = mid
        self._timer = loop.call_later(self.timeout if timeout is None else timeout, self._on_timeout)
        try:
            self._net.send(self.id, self.node, body)
            return await fut
        finally:
            self._timer.cancel()
            self._reply = None
            self._expect = -1

    async def rpc(self, body: dict[str, Any], response: Body, timeout: float | None = None) -> dict[str, Any]:
        """Send ``body`` (its ``type`` set) and return the reply body, validated against ``response``.

        Raises RPCErrorReply, ClientTimeout or MalformedResponse.
        """
        reply = await self.request(body, timeout)
        if reply.get("type") == "error":
            raise RPCErrorReply(reply.get("code"), reply.get("text"), reply)
        errors = response.errors(reply)
        if errors:
            raise MalformedResponse(
                f"Malformed RPC response. Maelstrom sent node {self.node} the request "
                f"{_compact(body)} and expected a {response.type} reply, but received "
                f"{_compact(reply)}. This is malformed because: {'; '.join(errors)}"
            )
        return reply

    def close(self) -> None:
        """Unregister: a later message to this id is a node fault (unknown destination)."""
        if not self.closed:
            self.closed = True
            net = self._net
            if net.faulted or net.fault_epoch != self._epoch:
                net.excused.add(self.id)
            net.unregister(self.id)
            if self._reply is not None and not self._reply.done():
                self._reply.set_exception(ClientTimeout("client closed"))


def _compact(value: Any) -> str:
    import json

    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(value)
