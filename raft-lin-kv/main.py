#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Maelstrom's Raft chapter: a linearizable key-value store for the lin-kv workload.

Every node runs ``raft.Raft`` (raft.py beside this file) over a key-value state machine. Writes and CASes go through
the log; reads use Raft's read-index (the leader confirms it still leads with one heartbeat round,
no log entry). A node that is not the leader forwards the client's request to the leader it knows
(one hop: the leader never forwards again) and relays the answer; with no leader known it answers
11 at once. A forwarded request carries an id and is resent until answered; the leader runs each
id once and repeats its answer.

Error codes keep Maelstrom's promise that a definite error means no effect:
- 12 for a request that is not a whole read, write or cas (checked before anything happens);
- 11 (temporarily unavailable) only when nothing was appended (not the leader, no leader known),
  or when the request's log index was committed with another entry, so it never can be;
- 20 and 22 come from applying the committed command (it ran and failed);
- 0 (timeout, indefinite) when no outcome was known in time: the entry may still commit;
- 13 (crash, indefinite) for anything unexpected once a request is under way.
A reply is never sent after ``REPLY_DEADLINE``, shortly before the client's own 1 s timeout, so no
answer reaches a client that may already be gone.

Relaying around one-way links: Maelstrom's ``majorities-ring`` partition of three nodes is
one-way (a drops b, b drops c, c drops a), so no two nodes can exchange a request and its reply
directly and Raft alone stalls until the partition heals. Every node pings its peers every
``PING_INTERVAL`` and says in each ping which peers it has not heard from for ``DEAF_AFTER``; a
node told that a peer cannot hear it also sends its messages (Raft's and forwarded requests) to
that peer through every other peer (one hop, in a ``relay`` envelope). Raft tolerates the
duplicates; forwarded requests are de-duplicated by id. The argument ``no-relay`` turns it off.

Crashes (Maelstrom's kill fault): term, vote and log are a ``JournalStorage`` whose records go to a
``common.durable.Journal``, replayed at ``init``. The node commits (write + fdatasync) every record
appended so far before it writes any line to stdout, and Raft appends a record before it produces
the message that depends on it, so no vote, acknowledgement or entry goes out that the disk does
not hold: Raft's "persist before responding". The commit index and the map are not stored: the
restarted node learns the commit index from a leader and re-applies the log from index 1. A
forwarded write or cas is journalled too, when it is taken on: a restarted node answers a copy of
one that its earlier incarnation took on with 13 (indefinite) instead of running it again or
refusing it with a definite 11.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import msgspec

from common import (
    Crash,
    KeyDoesNotExist,
    MalformedRequest,
    Node,
    PreconditionFailed,
    RPCError,
    RPCTimeout,
    TemporarilyUnavailable,
    error_from_code,
)
from common.durable import Journal
from common.requests import Request

from raft import Config, JournalStorage, Outcome, Raft

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
FORWARD_RETRY = 0.2  # resend a forwarded request not answered within this
PING_INTERVAL = 0.05
DEAF_AFTER = 0.15  # three pings missed
RELAY_FOR = 0.2  # keep relaying this long after the last ping that asked for it
RELAY = not {"no-relay", "--no-relay"} & set(sys.argv[1:])
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
waiting: dict[Hashable, asyncio.Future[Outcome]] = {}  # Raft token -> its outcome
forwards: dict[int, asyncio.Future[dict[str, Any]]] = {}  # forward id -> the leader's reply
#: (origin, forward id) -> [when first seen, the reply once there is one]
seen_forwards: dict[tuple[str, int], list[Any]] = {}
heard_from: dict[str, float] = {}  # peer -> when a message from it last arrived directly
relay_to: dict[str, float] = {}  # peer -> until when to send to it through the others as well
tokens = itertools.count()
#: forward ids start at the wall clock (ns), so an id this node used before a restart is never
#: reused: a leader's answer cached for the old request cannot be taken for the new one's
forward_ids: Iterator[int] | None = None
flush_scheduled = False
#: forwarded requests that an earlier incarnation of this node took on (from the journal)
ran_before: list[tuple[str, int]] = []


def replay(record: Any) -> None:
    if type(record) is list and record[:1] == ["f"] and len(record) == 3:
        ran_before.append((record[1], record[2]))
    else:
        storage.replay(record)


storage = JournalStorage()
journal = Journal(node, "raft", replay)  # replayed at init, before start() below
storage.record = journal.append


@node.on_init
def start() -> None:
    global raft, forward_ids
    now = node.now()
    forward_ids = itertools.count(node.wall_ns())
    if journal.replayed:
        node.log(
            f"restarted: {journal.replayed} journal records, term {storage.term}, "
            f"vote {storage.voted_for}, log up to {storage.last_index()}"
        )
    for key in ran_before:
        # an earlier incarnation may have appended it, so a copy must not run again, nor end in a
        # definite error: the answer to it is indefinite
        answer = {"type": "error", "code": Crash.default_code, "text": "taken on before a restart"}
        seen_forwards[key] = [now, {"type": "forward_res", "id": key[1], "reply": answer}]
    raft = Raft(
        node.node_id,
        node.node_ids,
        KVStore(),
        now=now,
        rng=node.random,
        storage=storage,
        config=CONFIG,
        log=lambda text: node.log(f"{node.now():.3f} {text}"),
    )
    node.every(TICK, tick)
    if RELAY:
        heard_from.update(dict.fromkeys(raft.peers, now))
        node.every(PING_INTERVAL, ping)
    node.every(1.0, forget_old_forwards)


def tick() -> None:
    if raft is not None:
        raft.tick(node.now())
        flush()


def flush() -> None:
    """Send what Raft wants sent and hand finished requests to their handlers."""
    global flush_scheduled
    flush_scheduled = False
    assert raft is not None
    for dest, body in raft.take_messages():
        send_peer(dest, body)
    for outcome in raft.take_outcomes():
        future = waiting.pop(outcome.token, None)
        if future is not None and not future.done():
            future.set_result(outcome)


def flush_soon() -> None:
    # once per turn of the event loop: every request read in one chunk shares one AppendEntries
    global flush_scheduled
    if not flush_scheduled:
        flush_scheduled = True
        node.call_soon(flush)


# -- talking to peers: directly, and through the others when a peer says it cannot hear us ---------


def send_peer(dest: str, body: dict[str, Any]) -> None:
    node.send(dest, body)
    if relay_to.get(dest, 0.0) > node.now():
        assert raft is not None
        for via in raft.peers:
            if via != dest:
                node.send(via, {"type": "relay", "dest": dest, "origin": node.node_id, "body": body})


def ping() -> None:
    assert raft is not None
    now = node.now()
    deaf = [p for p in raft.peers if now - heard_from.get(p, now) > DEAF_AFTER]
    for peer in raft.peers:
        node.send(peer, {"type": "link", "deaf": deaf})


def from_peer(msg) -> bool:
    """Note that ``msg.src`` can reach us; False if it is not a peer (ignore the message)."""
    if raft is None or msg.src not in raft.peers:
        return False
    heard_from[msg.src] = node.now()
    return True


@node.handler("link")
def on_link(msg) -> None:
    if from_peer(msg) and node.node_id in msg.body.get("deaf", ()):
        relay_to[msg.src] = node.now() + RELAY_FOR


@node.handler("relay")
def on_relay(msg) -> None:
    if not from_peer(msg):
        return
    assert raft is not None
    body, dest, origin = msg.body.get("body"), msg.body.get("dest"), msg.body.get("origin")
    if type(body) is not dict or origin not in raft.peers:
        return
    if dest == node.node_id:
        deliver(origin, body)
    elif dest in raft.peers and origin != dest:
        node.send(dest, msg.body)  # one hop only: the next node delivers it


def deliver(src: str, body: dict[str, Any]) -> None:
    """A message from peer ``src``, whichever way it came."""
    assert raft is not None
    kind = body.get("type")
    if kind in RAFT_MESSAGES:
        raft.receive(src, body, node.now())
        flush_soon()
    elif kind == "forward":
        on_forward(src, body)
    elif kind == "forward_res":
        on_forward_res(body)


def on_peer_message(msg) -> None:
    if from_peer(msg):
        deliver(msg.src, msg.body)


for _kind in (*RAFT_MESSAGES, "forward", "forward_res"):
    node.handler(_kind)(on_peer_message)


# -- client requests --------------------------------------------------------------------------------


async def submit(start: Callable[[Raft, Hashable, float], None]) -> Outcome:
    if raft is None:
        raise TemporarilyUnavailable("not initialised yet")
    token = next(tokens)
    future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
    waiting[token] = future
    start(raft, token, node.now())
    flush_soon()
    try:
        # Raft gives every request an outcome within request_timeout; this is only a backstop
        return await asyncio.wait_for(future, CONFIG.request_timeout + 1.0)
    except TimeoutError:
        return Outcome(token, "unknown")
    finally:
        waiting.pop(token, None)


class ReadRequest(Request):
    key: Any


class WriteRequest(Request):
    key: Any
    value: Any


class CasRequest(Request):
    key: Any
    from_: Any = msgspec.field(name="from")
    to: Any


SHAPES: dict[str, type[Request]] = {"read": ReadRequest, "write": WriteRequest, "cas": CasRequest}


def validated(body: Any) -> dict[str, Any]:
    """``body`` if it is a whole read, write or cas request; ``MalformedRequest`` (12) if not."""
    kind = body.get("type") if type(body) is dict else None
    shape = SHAPES.get(kind) if type(kind) is str else None
    if shape is None:
        raise MalformedRequest(f"not a read, write or cas request: {body!r}"[:300])
    try:
        msgspec.convert(body, shape)
    except msgspec.ValidationError as exc:
        raise MalformedRequest(f"malformed {kind} request: {exc}") from None
    return body


async def execute(body: dict[str, Any], may_forward: bool) -> dict[str, Any]:
    """Run one validated client request (read, write or cas); its reply body, or raise its error."""
    kind, key = body["type"], body["key"]
    if kind == "read":
        outcome = await submit(lambda r, token, now: r.read(token, key, now))
    else:
        command = ["write", key, body["value"]] if kind == "write" else ["cas", key, body["from"], body["to"]]
        outcome = await submit(lambda r, token, now: r.propose(token, command, now))
    if outcome.kind == "ok":
        reply = outcome.value
        if reply["type"] == "error":
            raise error_from_code(reply["code"], reply["text"])
        return reply
    if outcome.kind == "not-leader":
        if may_forward and outcome.value is not None and outcome.value != node.node_id:
            return await forward(outcome.value, body)
        raise TemporarilyUnavailable("not the leader, and no leader known")
    if outcome.kind == "superseded":
        raise TemporarilyUnavailable("leadership changed; the request was not committed and never will be")
    raise RPCTimeout("no outcome in time; the request may still take effect")


async def forward(leader: str, body: dict[str, Any]) -> dict[str, Any]:
    """Have the leader run the request; its reply body, or its error raised here unchanged.

    Not ``node.rpc``: the request and its answer go through ``send_peer``, so they are relayed
    like Raft's messages, and the leader runs a request at most once however many copies come."""
    assert forward_ids is not None
    forward_id = next(forward_ids)
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    forwards[forward_id] = future
    request = {k: v for k, v in body.items() if k != "msg_id"}
    message = {"type": "forward", "id": forward_id, "request": request}
    deadline = node.now() + FORWARD_TIMEOUT
    try:
        while True:  # resent until answered: the leader runs it once and repeats its answer
            send_peer(leader, message)
            left = deadline - node.now()
            if left <= 0:
                raise RPCTimeout(f"no answer from the leader {leader} in time; the request may take effect")
            done, _ = await asyncio.wait({future}, timeout=min(FORWARD_RETRY, left))
            if done:
                reply = future.result()
                break
    finally:
        forwards.pop(forward_id, None)
    if reply.get("type") == "error":
        code, text = reply.get("code"), reply.get("text", "")
        raise error_from_code(code, str(text)) if type(code) is int else Crash(f"bad error from {leader}")
    return reply


def on_forward(src: str, body: dict[str, Any]) -> None:
    forward_id, request = body.get("id"), body.get("request")
    if type(forward_id) is not int:
        return
    seen = seen_forwards.get((src, forward_id))
    if seen is None:
        seen_forwards[src, forward_id] = [node.now(), None]
        node.spawn(run_forwarded(src, forward_id, request))
    elif seen[1] is not None:  # a copy or a resend of one already run: the same answer again
        send_peer(src, seen[1])


async def run_forwarded(src: str, forward_id: int, request: Any) -> None:
    try:
        body = validated(request)
        if body["type"] != "read":  # a read has no effect: running a copy again is harmless
            # appended in the same turn as the proposal, so one commit (one fdatasync) makes both
            # durable before anything the request causes goes out
            journal.append(["f", src, forward_id])
        reply = await execute(body, may_forward=False)
    except RPCError as exc:
        reply = {"type": "error", "code": exc.code, "text": exc.text}
    except Exception as exc:  # after validation: it may have taken effect, so indefinite
        node.log(f"forwarded request {request!r} failed: {exc!r}")
        reply = {"type": "error", "code": Crash.default_code, "text": f"{type(exc).__name__}: {exc}"}
    answer = {"type": "forward_res", "id": forward_id, "reply": reply}
    seen = seen_forwards.get((src, forward_id))
    if seen is not None:
        seen[1] = answer
    send_peer(src, answer)


def on_forward_res(body: dict[str, Any]) -> None:
    future = forwards.get(body.get("id"))  # type: ignore[arg-type]
    reply = body.get("reply")
    if future is not None and not future.done():
        if type(reply) is dict:
            future.set_result(reply)
        else:  # the leader did answer, so it may have run it: indefinite
            future.set_exception(Crash(f"malformed forward_res: {body!r}"[:300]))


def forget_old_forwards() -> None:
    # a copy arrives within moments of the first; long after, the id is only memory
    horizon = node.now() - 10 * FORWARD_TIMEOUT
    for key in [k for k, seen in seen_forwards.items() if seen[0] < horizon]:
        del seen_forwards[key]


async def client_request(msg) -> dict[str, Any] | None:
    started = node.now()
    try:
        reply = await execute(validated(msg.body), may_forward=True)
    except Exception:
        if node.now() - started > REPLY_DEADLINE:
            return None  # the client has given up (or is about to): it may be gone
        raise
    return reply if node.now() - started <= REPLY_DEADLINE else None


for _kind in ("read", "write", "cas"):
    node.handler(_kind)(client_request)


if __name__ == "__main__":
    node.run()
