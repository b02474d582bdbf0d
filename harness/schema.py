"""Closed schemas for RPC bodies, with the semantics of plumatic/schema as Maelstrom uses it.

A reply body is checked against ``{type: "<x>_ok", in_reply_to: Int, msg_id?: Int, **fields}``:
every listed field is required, **no other key is allowed**, ``Int`` rejects floats and bools,
a list schema also accepts ``null``, a map schema does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: A validator returns None when the value fits, else a short description of what is wrong.
Validator = Callable[[Any], "str | None"]


def ANY(value: Any) -> str | None:
    return None


def INT(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    return f"not an integer: {value!r}"


def STR(value: Any) -> str | None:
    return None if isinstance(value, str) else f"not a string: {value!r}"


def list_of(item: Validator) -> Validator:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, list):
            return f"not a list: {value!r}"
        for i, v in enumerate(value):
            if (err := item(v)) is not None:
                return f"[{i}] {err}"
        return None

    return check


def map_of(key: Validator, val: Validator) -> Validator:
    def check(value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"not a map: {value!r}"
        for k, v in value.items():
            if (err := key(k)) is not None:
                return f"key {k!r}: {err}"
            if (err := val(v)) is not None:
                return f"{k!r}: {err}"
        return None

    return check


def tuple_of(*items: Validator) -> Validator:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or len(value) != len(items):
            return f"not a {len(items)}-element list: {value!r}"
        for i, (item, v) in enumerate(zip(items, value, strict=True)):
            if (err := item(v)) is not None:
                return f"[{i}] {err}"
        return None

    return check


def one_of(*values: Any) -> Validator:
    def check(value: Any) -> str | None:
        return None if any(type(value) is type(v) and value == v for v in values) else f"not one of {values}"

    return check


@dataclass(frozen=True)
class Body:
    """The closed schema of one message body type."""

    type: str
    fields: dict[str, Validator] = field(default_factory=dict)

    def errors(self, body: Any, *, reply: bool = True) -> list[str]:
        """Every way ``body`` breaks the schema; empty when it fits."""
        if not isinstance(body, dict):
            return [f"body is not an object: {body!r}"]
        errs = []
        if body.get("type") != self.type:
            errs.append(f"type should be {self.type!r}, got {body.get('type')!r}")
        allowed = {"type", "msg_id", *self.fields}
        if reply:
            allowed.add("in_reply_to")
            if "in_reply_to" not in body:
                errs.append("missing required key in_reply_to")
            elif (e := INT(body["in_reply_to"])) is not None:
                errs.append(f"in_reply_to: {e}")
        if "msg_id" in body and (e := INT(body["msg_id"])) is not None:
            errs.append(f"msg_id: {e}")
        for name, validator in self.fields.items():
            if name not in body:
                errs.append(f"missing required key {name}")
            elif (e := validator(body[name])) is not None:
                errs.append(f"{name}: {e}")
        errs.extend(f"disallowed key {k}" for k in body if k not in allowed)
        return errs


def body(type_: str, **fields: Validator) -> Body:
    """``body("echo_ok", echo=ANY)`` is the closed schema of an echo reply."""
    return Body(type_, dict(fields))
