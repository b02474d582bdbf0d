"""Maelstrom's error codes, and the exceptions a node raises or receives for them.

A handler raises ``RPCError(code, text)`` (or a typed subclass) to answer with an error reply; an
``rpc`` that receives an error reply raises the subclass that matches the code.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar


class ErrorCode(IntEnum):
    """Maelstrom's error table (``resources/errors.edn``)."""

    TIMEOUT = 0
    NODE_NOT_FOUND = 1
    NOT_SUPPORTED = 10
    TEMPORARILY_UNAVAILABLE = 11
    MALFORMED_REQUEST = 12
    CRASH = 13
    ABORT = 14
    KEY_DOES_NOT_EXIST = 20
    KEY_ALREADY_EXISTS = 21
    PRECONDITION_FAILED = 22
    TXN_CONFLICT = 30


# A definite error means the operation certainly did not happen. Anything else (timeout, crash,
# codes we do not know) may or may not have taken effect: when in doubt, indefinite is safe.
_DEFINITE = frozenset({1, 10, 11, 12, 14, 20, 21, 22, 30})


def is_definite(code: int) -> bool:
    """True when an error with this code means the request certainly had no effect."""
    return code in _DEFINITE


class RPCError(Exception):
    """An error reply: raise it in a handler to answer with it; ``rpc`` raises it on one."""

    #: the code a subclass stands for; the base class takes the code as an argument
    default_code: ClassVar[int] = ErrorCode.CRASH

    def __init__(self, code: int, text: str = "") -> None:
        super().__init__(code, text)
        self.code = code
        self.text = text

    @property
    def definite(self) -> bool:
        return is_definite(self.code)

    def __str__(self) -> str:
        try:
            name = ErrorCode(self.code).name.lower().replace("_", "-")
        except ValueError:
            name = "error"
        return f"{name} ({self.code}): {self.text}" if self.text else f"{name} ({self.code})"


class _CodedError(RPCError):
    """Base of the typed errors: the code is fixed by the class, only the text varies."""

    def __init__(self, text: str = "") -> None:
        super().__init__(self.default_code, text)


class RPCTimeout(_CodedError):
    """No reply in time (raised locally by ``rpc``, or received as code 0). Indefinite."""

    default_code = ErrorCode.TIMEOUT


class NodeNotFound(_CodedError):
    default_code = ErrorCode.NODE_NOT_FOUND


class NotSupported(_CodedError):
    default_code = ErrorCode.NOT_SUPPORTED


class TemporarilyUnavailable(_CodedError):
    default_code = ErrorCode.TEMPORARILY_UNAVAILABLE


class MalformedRequest(_CodedError):
    default_code = ErrorCode.MALFORMED_REQUEST


class Crash(_CodedError):
    default_code = ErrorCode.CRASH


class Abort(_CodedError):
    default_code = ErrorCode.ABORT


class KeyDoesNotExist(_CodedError):
    default_code = ErrorCode.KEY_DOES_NOT_EXIST


class KeyAlreadyExists(_CodedError):
    default_code = ErrorCode.KEY_ALREADY_EXISTS


class PreconditionFailed(_CodedError):
    default_code = ErrorCode.PRECONDITION_FAILED


class TxnConflict(_CodedError):
    default_code = ErrorCode.TXN_CONFLICT


_BY_CODE: dict[int, type[_CodedError]] = {
    cls.default_code: cls
    for cls in (
        RPCTimeout,
        NodeNotFound,
        NotSupported,
        TemporarilyUnavailable,
        MalformedRequest,
        Crash,
        Abort,
        KeyDoesNotExist,
        KeyAlreadyExists,
        PreconditionFailed,
        TxnConflict,
    )
}


def error_from_code(code: int, text: str = "") -> RPCError:
    """The most specific ``RPCError`` for ``code`` (the base class for codes outside the table)."""
    cls = _BY_CODE.get(code)
    return cls(text) if cls is not None else RPCError(code, text)


def error_from_body(body: dict[str, Any]) -> RPCError:
    """The exception an error reply body stands for; a body without an int code is a crash."""
    code = body.get("code")
    text = body.get("text", "")
    if not isinstance(text, str):
        text = repr(text)
    if type(code) is not int:
        return Crash(f"malformed error reply: {body!r}"[:500])
    return error_from_code(code, text)
