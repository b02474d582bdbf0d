"""Pure functions from a history to a result dict (see "Checker results" in docs/architecture.md).

:data:`REGISTRY` maps a workload name to its checker ``check(test, history) -> dict`` for
``harness analyze`` when the workload module is not available. Checkers are imported lazily so a
missing or broken one only affects its own workload.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from harness.history import Op
from harness.options import TestOptions

Checker = Callable[[TestOptions, list[Op]], dict[str, Any]]

#: workload name -> "module:function" of its checker
REGISTRY: dict[str, str] = {
    "echo": "harness.checkers.echo:check",
    "unique-ids": "harness.checkers.unique_ids:check",
    "broadcast": "harness.checkers.set_full:check",
    "g-set": "harness.checkers.set_full:check",
    "g-counter": "harness.checkers.counter:check",
    "pn-counter": "harness.checkers.counter:check",
    "kafka": "harness.checkers.kafka:check",
    "txn-rw-register": "harness.checkers.rw_register:check",
    "txn-list-append": "harness.checkers.list_append:check",
}


def get_checker(workload: str) -> Checker | None:
    """The checker for ``workload``, or ``None`` if it has none (yet)."""
    target = REGISTRY.get(workload)
    if target is None:
        return None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            return None
        raise
    return getattr(module, attr, None)


__all__ = ["REGISTRY", "Checker", "get_checker"]
