"""Protocol I/O for Maelstrom nodes: a sans-I/O core (``common.protocol``) and an asyncio shell."""

from common.errors import (
    Abort,
    Crash,
    ErrorCode,
    KeyAlreadyExists,
    KeyDoesNotExist,
    MalformedRequest,
    NodeNotFound,
    NotSupported,
    PreconditionFailed,
    RPCError,
    RPCTimeout,
    TemporarilyUnavailable,
    TxnConflict,
    error_from_code,
    is_definite,
)
from common.kv import KV, MISSING, TSO, LinKV, LwwKV, SeqKV
from common.node import Node
from common.protocol import Message, Protocol

__all__ = [
    "KV",
    "MISSING",
    "TSO",
    "Abort",
    "Crash",
    "ErrorCode",
    "KeyAlreadyExists",
    "KeyDoesNotExist",
    "LinKV",
    "LwwKV",
    "MalformedRequest",
    "Message",
    "Node",
    "NodeNotFound",
    "NotSupported",
    "PreconditionFailed",
    "Protocol",
    "RPCError",
    "RPCTimeout",
    "SeqKV",
    "TemporarilyUnavailable",
    "TxnConflict",
    "error_from_code",
    "is_definite",
]
