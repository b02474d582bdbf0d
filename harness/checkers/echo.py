"""Maelstrom's echo checker: every ok or fail completion must echo what its invocation sent.

Invocations are paired with their completions per process; ``:info`` completions (timeouts,
malformed replies) are ignored. A ``:fail`` keeps the request string as its value, which has no
``echo`` field, so every definite error counts as an error, as in Maelstrom.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.checkers.core import pairs
from harness.history import FAIL, OK, Keyword, Op, ckey
from harness.options import TestOptions
from harness.summary import Figure, Summary, compact

_ECHO = Keyword("echo")


def _echoed(value: Any) -> Any:
    """``(:echo value)``: the reply's echo field; keys are keywords when read from EDN."""
    if not isinstance(value, dict):
        return None
    if _ECHO in value:
        return value[_ECHO]
    return value.get("echo")


def check(test: TestOptions, history: list[Op]) -> dict[str, Any]:
    errors = []
    for inv, comp in pairs(history):
        if comp is None or comp.type not in (OK, FAIL) or inv.f != "echo":
            continue
        if ckey(_echoed(comp.value)) != ckey(inv.value):
            errors.append(["Expected a message with :echo", inv.value, "But received", comp.value])
    return {"valid?": not errors, "errors": errors}


def summarize(result: Mapping[str, Any]) -> Summary:
    errors = result.get("errors") or []
    first = f", first: {compact(errors[0], 250)}" if errors else ""
    return Summary(
        figures=(Figure("error-count", "errors", len(errors)),),
        findings=(f"{len(errors)} errors{first}",),
    )
