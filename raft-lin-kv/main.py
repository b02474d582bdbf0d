"""Maelstrom's Raft chapter: a linearizable key-value store for the lin-kv workload.

Every node runs ``common.raft.Raft`` over a key-value state machine. Writes and CASes go through
the log; reads use Raft's read-index (the leader confirms it still leads with one heartbeat round,
no log entry). A node that is not the leader forwards the client's request to the leader it knows
(once: the leader never forwards again) and relays the answer; with no leader known it answers
11 at once.

Error codes keep Maelstrom's promise that a definite error means no effect:
- 11 (temporarily unavailable) only when nothing was appended (not the leader, no leader known),
  or when the request's log index was committed with another entry, so it never can be;
- 20 and 22 come from applying the committed command (it ran and failed);
- 0 (timeout, indefinite) when no outcome was known in time: the entry may still commit.
A reply is never sent after ``REPLY_DEADLINE``, shortly before the client's own 1 s timeout, so no
answer reaches a client that may already be gone.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable, Hashable
from typing import Any

import msgspec

from common import (
    Crash,
    KeyDoesNotExist,
    MalformedRequest,
    Node,
    NotSupported,
    PreconditionFailed,
    RPCTimeout,
    TemporarilyUnavailable,
)
from common.raft import Config, Outcome, Raft

#: the lin-kv client gives up after 1 s (at Maelstrom's default latency)
REPLY_DEADLINE = 0.9
CONFIG = Config(
    election_timeout=(0.3, 0.6),
    heartbeat_interval=0.05,
    max_batch=128,
    request_timeout=0.8,
)
TICK = 0.01
FORWARD_TIMEOUT = 0.85
RAFT_MESSAGES = (
    "pre_vote",
    "pre_vote_res",
    "request_vote",
    "request_vote_res",
    "append_entries",
    "append_entries_res",
)

_canonical = msgspec.json.Encoder(order="sorted").encode


class KVStore:
    """The replicated state machine: a map with read, write and compare-and-set.

    Keys and values are any JSON, compared as Maelstrom does (Clojure equality on the decoded
    JSON: 1, 1.0, true and "1" all differ), by their canonical JSON encoding.
    """

    def __init__(self) -> None:
        self.values: dict[bytes, Any] = {}

    def apply(self, command: list[Any]) -> dict[str, Any]:
        kind, key = command[0], _canonical(command[1])
        if kind == "write":
            self.values[key] = command[2]
            return {"type": "write_ok"}
        if kind == "cas":
            if key not in self.values:
                return _error(KeyDoesNotExist("key does not exist"))
            current = self.values[key]
            if _canonical(current) != _canonical(command[2]):
                return _error(PreconditionFailed(f"expected {command[2]!r}, but had {current!r}"))
            self.values[key] = command[3]
            return {"type": "cas_ok"}
        raise ValueError(f"unknown command {command!r}")

    def query(self, key: Any) -> dict[str, Any]:
        value = self.values.get(_canonical(key), _MISSING)
        if value is _MISSING:
            return _error(KeyDoesNotExist("key does not exist"))
        return {"type": "read_ok", "value": value}


_MISSING = object()


def _error(exc: KeyDoesNotExist | PreconditionFailed) -> dict[str, Any]:
    return {"type": "error", "code": exc.code, "text": exc.text}


node = Node()
raft: Raft | None = None
waiting: dict[Hashable, asyncio.Future[Outcome]] = {}
tokens = itertools.count()
flush_scheduled = False


@node.on_init
def start() -> None:
    global raft
    raft = Raft(
        node.node_id,
        node.node_ids,
        KVStore(),
        now=time.monotonic(),
        rng=random.Random(),
        config=CONFIG,
        log=node.log,
    )
    node.every(TICK, tick)


def tick() -> None:
    if raft is not None:
        raft.tick(time.monotonic())
        flush()


def flush() -> None:
    """Send what Raft wants sent and hand finished requests to their handlers."""
    global flush_scheduled
    flush_scheduled = False
    assert raft is not None
    for dest, body in raft.take_messages():
        node.send(dest, body)
    for outcome in raft.take_outcomes():
        future = waiting.pop(outcome.token, None)
        if future is not None and not future.done():
            future.set_result(outcome)


def flush_soon() -> None:
    # once per turn of the event loop: every request read in one chunk shares one AppendEntries
    global flush_scheduled
    if not flush_scheduled:
        flush_scheduled = True
        asyncio.get_running_loop().call_soon(flush)


def on_raft_message(msg) -> None:
    if raft is not None:
        raft.receive(msg.src, msg.body, time.monotonic())
        flush_soon()


for _kind in RAFT_MESSAGES:
    node.handler(_kind)(on_raft_message)


async def submit(start: Callable[[Raft, Hashable, float], None]) -> Outcome:
    if raft is None:
        raise TemporarilyUnavailable("not initialised yet")
    token = next(tokens)
    future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
    waiting[token] = future
    start(raft, token, time.monotonic())
    flush_soon()
    try:
        return await future
    finally:
        waiting.pop(token, None)


async def execute(body: dict[str, Any], may_forward: bool) -> dict[str, Any]:
    """Run one client request (read, write or cas); its reply body, or raise its error."""
    kind, key = body["type"], body["key"]
    if kind == "read":
        outcome = await submit(lambda r, token, now: r.read(token, key, now))
    elif kind in ("write", "cas"):
        command = ["write", key, body["value"]] if kind == "write" else ["cas", key, body["from"], body["to"]]
        outcome = await submit(lambda r, token, now: r.propose(token, command, now))
    else:
        raise NotSupported(f"cannot {kind!r}")
    if outcome.kind == "ok":
        reply = outcome.value
        if reply["type"] == "error":
            raise (KeyDoesNotExist if reply["code"] == KeyDoesNotExist.default_code else PreconditionFailed)(
                reply["text"]
            )
        return reply
    if outcome.kind == "not-leader":
        if may_forward and outcome.value is not None and outcome.value != node.node_id:
            return await forward(outcome.value, body)
        raise TemporarilyUnavailable("not the leader, and no leader known")
    if outcome.kind == "superseded":
        raise TemporarilyUnavailable("leadership changed; the request was not committed and never will be")
    raise RPCTimeout("no outcome in time; the request may still take effect")


async def forward(leader: str, body: dict[str, Any]) -> dict[str, Any]:
    request = {k: v for k, v in body.items() if k != "msg_id"}
    # an error reply raises the same code here, and so reaches the client unchanged
    reply = await node.rpc(leader, {"type": "forward", "request": request}, timeout=FORWARD_TIMEOUT)
    inner = reply.get("reply")
    if type(inner) is not dict:  # the leader did answer, so it may have done it: indefinite
        raise Crash(f"malformed forward_ok from {leader}: {reply!r}"[:300])
    return inner


async def client_request(msg) -> dict[str, Any] | None:
    started = time.monotonic()
    try:
        reply = await execute(msg.body, may_forward=True)
    except Exception:
        if time.monotonic() - started > REPLY_DEADLINE:
            return None
        raise
    return reply if time.monotonic() - started <= REPLY_DEADLINE else None


for _kind in ("read", "write", "cas"):
    node.handler(_kind)(client_request)


@node.handler("forward")
async def forwarded(msg) -> dict[str, Any]:
    request = msg.body["request"]
    if type(request) is not dict or request.get("type") not in ("read", "write", "cas"):
        raise MalformedRequest("forward needs a read, write or cas request")
    return {"type": "forward_ok", "reply": await execute(request, may_forward=False)}


if __name__ == "__main__":
    node.run()
