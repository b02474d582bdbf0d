"""Validating a request body before a handler acts on it.

A definite error reply (12 malformed-request among them) promises the client that the request
had no effect. So a handler checks the *whole* body first, with ``parse(msg, Shape)``, and only
then changes state: a body that does not fit raises ``MalformedRequest`` (12) while nothing has
happened yet. Anything a handler raises later that it did not mean to (a ``KeyError`` from a bug)
is answered 13 (crash, indefinite) by ``common.protocol``, because by then it may have changed
something.

A shape is a ``Request`` subclass: a msgspec Struct whose fields are the body's fields (``type``
and ``msg_id`` are ignored, like any field the shape does not name). msgspec checks the types
strictly: ``true`` is not an int, ``1.0`` is not an int, a missing field is an error::

    class Add(Request):
        delta: NonNegativeInt

    @node.handler("add")
    def add(msg):
        delta = parse(msg, Add).delta  # MalformedRequest unless delta is an int >= 0

A handler whose effect takes several steps (RPCs to a store) uses ``with taking_effect(...)``
around them: a definite error from a later step (a store's 22, say) must not reach the client
as definite once an earlier step may have changed something, so it is answered 13 instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import msgspec

from common.errors import Crash, MalformedRequest, RPCError
from common.protocol import Message

__all__ = ["NonNegativeInt", "Request", "parse", "taking_effect"]

#: an int >= 0 (offsets, deltas)
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]


class Request(msgspec.Struct, gc=False):
    """Base of request shapes (the fields a handler reads from a body)."""


R = TypeVar("R", bound=Request)


def parse(msg: Message, shape: type[R]) -> R:
    """``msg.body`` as a ``shape``; ``MalformedRequest`` (definite) if it does not fit."""
    try:
        return msgspec.convert(msg.body, shape)
    except msgspec.ValidationError as exc:
        kind = msg.body.get("type")
        raise MalformedRequest(f"malformed {kind} request: {exc}") from None


@contextmanager
def taking_effect(what: str) -> Iterator[None]:
    """Inside, state may change part-way: a definite ``RPCError`` becomes ``Crash`` (13, indefinite)."""
    try:
        yield
    except RPCError as exc:
        if exc.definite:
            raise Crash(f"{what} may have taken effect in part: {exc}") from exc
        raise
