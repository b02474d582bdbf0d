"""Maelstrom's built-in services as sans-I/O state machines (jepsen-io/maelstrom, src/maelstrom/service.clj).

Each service has ``handle(src, body) -> reply body | None``. The reply has no ``in_reply_to``
(the caller adds the request's ``msg_id``); ``None`` means Maelstrom would send nothing: an
unknown ``type`` or a handler exception only logs "Error in service worker!".

Keys and values are arbitrary JSON compared with Clojure's ``=`` (:func:`harness.history.ckey`),
so ``1``, ``1.0``, ``true`` and ``"1"`` are four different keys.

- ``lin-kv``: one map, updated in request order (linearizable).
- ``seq-kv``: Maelstrom's ``Sequential``: a ring of the last 32 states, a ``last-index`` and,
  per requesting node, the index it last observed. A request runs on a state drawn uniformly
  from the node's index up to and including the latest (``(rand-int (inc (- last-index
  client-index)))`` above the node's index in Maelstrom's ``service.clj``). If that leaves the
  state unchanged the reply comes from that stale state; otherwise the request re-runs on the
  latest state, whose result is appended as a new state even if the re-run failed.
- ``lww-kv``: Maelstrom's ``Eventual`` over 2 replicas that never merge (the merge result is
  discarded upstream); each request hits a random replica; no ``create_if_not_exists``.
- ``lin-tso``: ``ts`` -> 0, 1, 2, ...
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from harness.edn import pr
from harness.history import ckey

__all__ = ["KVState", "LinKV", "LinTSO", "LwwKV", "SeqKV", "Service", "make_services"]

#: Ring size of seq-kv (Maelstrom's default).
SEQ_KV_STATES = 32
#: Replicas of lww-kv (Maelstrom's default; its docs say 5, its code uses 2).
LWW_REPLICAS = 2

_KEY_MISSING = {"type": "error", "code": 20, "text": "key does not exist"}


class Service(Protocol):
    def handle(self, src: str, body: dict[str, Any]) -> dict[str, Any] | None: ...


def _truthy(v: Any) -> bool:
    """Clojure truthiness: everything but nil and false (0 and "" are true)."""
    return v is not None and v is not False


def _str(v: Any) -> str:
    """Clojure's ``str``: strings raw, nil empty, everything else as ``pr-str``."""
    if v is None:
        return ""
    return v if isinstance(v, str) else pr(v)


class KVState:
    """An immutable key-value map: ckey(key) -> value. Operations return a new state when they
    change it, so an unchanged state is the same object (Maelstrom compares states with ``=``)."""

    __slots__ = ("m",)

    def __init__(self, m: dict[Any, Any] | None = None) -> None:
        self.m: dict[Any, Any] = m if m is not None else {}

    def _with(self, k: Any, value: Any) -> KVState:
        current = self.m.get(k, _ABSENT)
        if current is not _ABSENT and ckey(current) == ckey(value):
            return self  # Clojure `=` on the maps would say unchanged
        m = dict(self.m)
        m[k] = value
        return KVState(m)

    def apply(
        self, body: dict[str, Any], create_if_not_exists: bool = True, quote_from: bool = True
    ) -> tuple[KVState, dict[str, Any]]:
        """(new state, reply) for one request; raises KeyError for an unknown type."""
        k = ckey(body.get("key"))
        kind = body.get("type")
        if kind == "read":
            if k in self.m:
                return self, {"type": "read_ok", "value": self.m[k]}
            return self, dict(_KEY_MISSING)
        if kind == "write":
            return self._with(k, body.get("value")), {"type": "write_ok"}
        if kind == "cas":
            if k in self.m:
                current = self.m[k]
                if ckey(body.get("from")) == ckey(current):
                    return self._with(k, body.get("to")), {"type": "cas_ok"}
                shown = pr(body.get("from")) if quote_from else _str(body.get("from"))
                return self, {
                    "type": "error",
                    "code": 22,
                    "text": f"current value {pr(current)} is not {shown}",
                }
            if create_if_not_exists and _truthy(body.get("create_if_not_exists")):
                return self._with(k, body.get("to")), {"type": "cas_ok"}
            return self, dict(_KEY_MISSING)
        raise KeyError(f"no handler for type {kind!r}")


_ABSENT = object()


class LinKV:
    """lin-kv: a single linearizable map."""

    def __init__(self) -> None:
        self.state = KVState()

    def handle(self, src: str, body: dict[str, Any]) -> dict[str, Any] | None:
        try:
            self.state, reply = self.state.apply(body)
        except Exception:
            return None
        return reply


class SeqKV:
    """seq-kv: Maelstrom's sequentially consistent stale-state model (see the module docstring)."""

    def __init__(self, rng: random.Random, size: int = SEQ_KV_STATES) -> None:
        self.rng = rng
        self.size = size
        self.ring: list[KVState] = [KVState()]  # oldest first, at most `size`
        self.last_index = 0
        self.clients: dict[str, int] = {}  # src -> index of the state it last observed

    def state_at(self, index: int) -> KVState:
        """The state numbered ``index``; one older than the ring wraps around it, as amalloy's
        ring buffer does with a negative offset."""
        return self.ring[(index - self.last_index - 1) % len(self.ring)]

    def handle(self, src: str, body: dict[str, Any]) -> dict[str, Any] | None:
        client_index = self.clients.get(src, 0)
        # any state from the one the node last observed up to and including the latest, uniformly
        index = client_index + self.rng.randrange(self.last_index - client_index + 1)
        try:
            state = self.state_at(index)
            new_state, reply = state.apply(body)
            if new_state is state:
                self.clients[src] = index
                return reply
            latest, reply = self.ring[-1].apply(body)
        except Exception:
            return None
        self.last_index += 1
        self.ring.append(latest)
        if len(self.ring) > self.size:
            del self.ring[0]
        self.clients[src] = self.last_index
        return reply


class LwwKV:
    """lww-kv: independent replicas that never converge; each request hits a random one."""

    def __init__(self, rng: random.Random, replicas: int = LWW_REPLICAS) -> None:
        self.rng = rng
        self.replicas = [KVState() for _ in range(replicas)]

    def handle(self, src: str, body: dict[str, Any]) -> dict[str, Any] | None:
        n = len(self.replicas)
        # Maelstrom draws a merge source and destination, then throws the merge away.
        self.rng.randrange(n)
        self.rng.randrange(n)
        i = self.rng.randrange(n)
        try:
            self.replicas[i], reply = self.replicas[i].apply(
                body, create_if_not_exists=False, quote_from=False
            )
        except Exception:
            return None
        return reply


class LinTSO:
    """lin-tso: a linearizable counter of timestamps starting at 0."""

    def __init__(self) -> None:
        self.next_ts = 0

    def handle(self, src: str, body: dict[str, Any]) -> dict[str, Any] | None:
        if body.get("type") != "ts":
            return None
        ts = self.next_ts
        self.next_ts += 1
        return {"type": "ts_ok", "ts": ts}


def make_services(rng: random.Random) -> dict[str, Service]:
    """Maelstrom's default services by node id, drawing randomness from ``rng``."""
    return {"lww-kv": LwwKV(rng), "seq-kv": SeqKV(rng), "lin-kv": LinKV(), "lin-tso": LinTSO()}
