"""Clients for Maelstrom's built-in services: the key-value stores and the timestamp oracle.

Each call is one ``node.rpc`` to the service; error replies raise the typed ``RPCError``
subclasses (``KeyDoesNotExist``, ``PreconditionFailed``, ...), and no reply in time raises
``RPCTimeout`` (indefinite: the write or cas may still have happened).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from common.errors import KeyDoesNotExist

if TYPE_CHECKING:
    from common.node import Node


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: ``read``'s default: raise ``KeyDoesNotExist`` rather than return a value for a missing key
MISSING: Final = _Missing()


class KV:
    """A client for the key-value service named ``service`` (lin-kv, seq-kv or lww-kv)."""

    def __init__(self, node: Node, service: str = "seq-kv", timeout: float = 1.0) -> None:
        self.node = node
        self.service = service
        self.timeout = timeout

    async def read(self, key: Any, default: Any = MISSING) -> Any:
        """The value at ``key``; ``default`` if the key does not exist (when one is given)."""
        try:
            body = await self.node.rpc(self.service, {"type": "read", "key": key}, self.timeout)
        except KeyDoesNotExist:
            if default is MISSING:
                raise
            return default
        return body["value"]

    async def write(self, key: Any, value: Any) -> None:
        await self.node.rpc(self.service, {"type": "write", "key": key, "value": value}, self.timeout)

    async def cas(self, key: Any, from_: Any, to: Any, create_if_not_exists: bool = False) -> None:
        """Set ``key`` to ``to`` if it holds ``from_``; raises ``PreconditionFailed`` if it does not,
        ``KeyDoesNotExist`` if it is missing (unless ``create_if_not_exists``: then ``from_`` is
        ignored and the key is created; lww-kv does not support that).
        """
        body: dict[str, Any] = {"type": "cas", "key": key, "from": from_, "to": to}
        if create_if_not_exists:
            body["create_if_not_exists"] = True
        await self.node.rpc(self.service, body, self.timeout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.service!r})"


class LinKV(KV):
    """Linearizable key-value store."""

    def __init__(self, node: Node, timeout: float = 1.0) -> None:
        super().__init__(node, "lin-kv", timeout)


class SeqKV(KV):
    """Sequentially consistent key-value store."""

    def __init__(self, node: Node, timeout: float = 1.0) -> None:
        super().__init__(node, "seq-kv", timeout)


class LwwKV(KV):
    """Last-write-wins (eventually consistent) key-value store."""

    def __init__(self, node: Node, timeout: float = 1.0) -> None:
        super().__init__(node, "lww-kv", timeout)


class TSO:
    """Maelstrom's linearizable timestamp oracle (``lin-tso``): 0, 1, 2, ..."""

    def __init__(self, node: Node, timeout: float = 1.0) -> None:
        self.node = node
        self.timeout = timeout

    async def ts(self) -> int:
        body = await self.node.rpc("lin-tso", {"type": "ts"}, self.timeout)
        ts: int = body["ts"]
        return ts
