"""Operations and histories, shaped like Jepsen's.

A history is a list of :class:`Op` in the order the interpreter recorded them. Values keep the
shapes Maelstrom writes into ``history.edn``:

* JSON-derived data stays plain Python (``dict`` with ``str`` keys, ``list``, ``int``, ``float``,
  ``str``, ``bool``, ``None``);
* where Clojure has a keyword (a txn micro-op's ``:r``/``:w``, kafka's ``:send``/``:poll``, an
  error name such as ``:net-timeout``) the value is an :class:`edn_format.Keyword`, which never
  equals a ``str``;
* EDN vectors and lists become ``list``, sets ``frozenset``, maps ``dict`` (keys as read: an EDN
  keyword key stays a ``Keyword``).

Python's ``1 == 1.0 == True`` is not Clojure's equality. Wherever a checker puts values in a set
or a dict, or compares them, it uses :func:`ckey`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edn_format import Keyword

__all__ = ["FAIL", "INFO", "INVOKE", "NEMESIS", "OK", "UNKNOWN", "Keyword", "Op", "ckey", "kw"]

INVOKE, OK, FAIL, INFO = "invoke", "ok", "fail", "info"
NEMESIS = "nemesis"
#: The third truth value of ``:valid?``. Written as ``:unknown`` in EDN and ``"unknown"`` in JSON.
UNKNOWN = "unknown"


def kw(name: str) -> Keyword:
    """A Clojure keyword, e.g. ``kw("r")`` for ``:r``."""
    return Keyword(name)


@dataclass(slots=True)
class Op:
    """One history entry.

    ``type`` is one of ``invoke ok fail info``; ``f`` is the op function without its colon
    (``"echo"``, ``"start-partition"``); ``process`` is an int for clients and ``"nemesis"`` for the
    nemesis; ``time`` is nanoseconds since the test started. Keys Maelstrom adds only sometimes
    (``:final?``, ``:exception``, ``:seek-to-beginning?`` ...) live in ``extra`` under their
    names without the colon.
    """

    type: str
    f: str
    process: int | str
    value: Any = None
    time: int = 0
    index: int = -1
    error: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_client(self) -> bool:
        return isinstance(self.process, int)

    @property
    def final(self) -> bool:
        return bool(self.extra.get("final?"))


def ckey(value: Any) -> Any:
    """A hashable key that is equal for two values exactly when Clojure's ``=`` says so.

    ``1``, ``1.0``, ``True`` and ``"1"`` all get different keys; lists compare element-wise, maps
    by their entries, and a JSON array equals an EDN vector or list with the same elements.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("i", value)
    if isinstance(value, float):
        return ("d", value)
    if isinstance(value, Keyword):
        return ("k", value.name)
    if isinstance(value, (list, tuple)):
        return ("v", tuple(ckey(v) for v in value))
    if isinstance(value, dict):
        return ("m", frozenset((ckey(k), ckey(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return ("s", frozenset(ckey(v) for v in value))
    return ("o", repr(value))
