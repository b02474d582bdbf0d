"""Property tests: a definite error changes nothing, in every challenge program.

A definite error code (12 malformed-request among them) tells the client that its request had
no effect, so Jepsen's checkers treat it as an op that never happened. Each test below runs one
challenge's real main.py in-process (``tests/inprocess.py``: its Node on pipes, the test as the
network, Maelstrom's services from ``harness.services``) and sends it well-formed envelopes with
bodies of the program's own request types, mostly valid, some hostile: wrong types, missing
fields, one bad micro-op among good ones. Before and after every request that gets a definite
error, the node's state is read back through the protocol (txn reads, polls and committed
offsets, broadcast reads, counter reads) and must be the same. No request may crash a handler
(error 13): every field a program reads is validated before it acts.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import Program

from common import is_definite

Body = dict[str, Any]
ReadState = Callable[[Program, Body], Awaitable[Any]]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


def mostly(
    valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any] = json_values
) -> st.SearchStrategy[Any]:
    """``valid`` four times in five, else ``hostile`` (which may happen to be valid too).

    Nested fields each draw for themselves, so a whole request is hostile far more often."""
    return st.integers(0, 4).flatmap(lambda draw: hostile if draw == 0 else valid)


def body(kind: str, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Body]:
    """A body of type ``kind``: usually with every field, sometimes with some left out."""
    full = st.fixed_dictionaries({"type": st.just(kind), **fields})
    partial = st.fixed_dictionaries({"type": st.just(kind)}, optional=fields)
    return st.integers(0, 4).flatmap(lambda draw: partial if draw == 0 else full)


def found_in(value: Any, kind: type) -> set[Any]:
    """Scalars of exactly ``kind`` anywhere in ``value`` (dict keys too): keys worth reading back."""
    out: set[Any] = set()
    stack = [value]
    while stack and len(out) < 12:
        item = stack.pop()
        if type(item) is kind:
            out.add(item)
        elif isinstance(item, dict):
            stack += list(item) + list(item.values())
        elif isinstance(item, list):
            stack += item
    return out


# -- txn-rw-register: txn, and the replication messages peers send ---------------------------------

txn_key = st.integers(0, 3)
valid_op = st.one_of(
    st.tuples(st.just("r"), txn_key, st.none()), st.tuples(st.just("w"), txn_key, st.integers(0, 50))
).map(list)
hostile_op = st.one_of(
    st.tuples(
        st.sampled_from(["r", "w", "x", "append"]) | json_scalars,
        mostly(txn_key, json_scalars),
        mostly(st.none() | st.integers(0, 50), json_scalars),
    ).map(list),
    st.lists(st.sampled_from(["r", "w"]) | txn_key, max_size=4),
    json_values,
)
txn_requests = body("txn", txn=mostly(st.lists(mostly(valid_op, hostile_op), max_size=5)))
# [key, value, version counter, version node]
replicated_write = st.tuples(txn_key, st.integers(0, 50), st.integers(0, 10), st.sampled_from(["n2", "n1"]))
txn_sync = body("txn_sync", writes=mostly(st.lists(mostly(replicated_write.map(list)), max_size=3)))


async def txn_state(program: Program, request: Body) -> Any:
    keys = sorted({0, 1, 2, 3} | found_in(request, int))
    reply = await program.call({"type": "txn", "txn": [["r", k, None] for k in keys]})
    assert reply["type"] == "txn_ok", reply
    return reply["txn"]


# -- kafka: send, poll, commit_offsets, list_committed_offsets (and 5c's peer requests) ------------

KAFKA_KEYS = ["k1", "k2", "k3"]
kafka_key = mostly(st.sampled_from(KAFKA_KEYS))
offsets = mostly(
    st.dictionaries(
        st.sampled_from(KAFKA_KEYS) | st.text(max_size=2),
        mostly(st.integers(0, 6), st.integers(-3, -1) | json_scalars),
        max_size=3,
    )
)
kafka_requests = st.one_of(
    body("send", key=kafka_key, msg=mostly(st.integers(0, 100))),
    body("poll", offsets=offsets),
    body("commit_offsets", offsets=offsets),
    body("list_committed_offsets", keys=mostly(st.lists(kafka_key, max_size=3))),
)
# 5c's sync from n2 (node 1 of [n1, n2]): its offsets are odd and below its floor when well formed
kafka_sync = body(
    "sync",
    start=mostly(st.integers(0, 3)),
    entries=mostly(
        st.lists(mostly(st.tuples(kafka_key, st.integers(0, 12), st.integers(0, 100)).map(list)), max_size=3)
    ),
    floor=mostly(st.integers(0, 8)),
    acked=mostly(st.integers(0, 3)),
    committed=offsets,
)


async def kafka_state(program: Program, request: Body) -> Any:
    keys = sorted(set(KAFKA_KEYS) | found_in(request, str))
    polled = await program.call({"type": "poll", "offsets": dict.fromkeys(keys, 0)})
    listed = await program.call({"type": "list_committed_offsets", "keys": keys})
    assert polled["type"] == "poll_ok" and listed["type"] == "list_committed_offsets_ok", (polled, listed)
    return polled["msgs"], listed["offsets"]


# -- broadcast: broadcast, topology, and the gossip peers send -------------------------------------

NODES = ["n1", "n2", "n3"]
broadcast_value = mostly(st.integers(0, 1000), json_values)
broadcast_requests = st.one_of(
    body("broadcast", message=broadcast_value),
    body(
        "topology",
        topology=mostly(
            st.dictionaries(
                st.sampled_from(NODES) | st.text(max_size=2),
                mostly(st.lists(st.sampled_from(NODES), max_size=3)),
                max_size=3,
            )
        ),
    ),
)
gossip = body(
    "gossip",
    values=mostly(st.lists(broadcast_value, max_size=4)),
    acks=mostly(st.lists(broadcast_value, max_size=2)),
)


async def broadcast_state(program: Program, request: Body) -> Any:
    reply = await program.call({"type": "read"})
    assert reply["type"] == "read_ok", reply
    return sorted(json.dumps(value) for value in reply["messages"])


# -- g-counter, echo, unique-ids ---------------------------------------------------------------------

counter_requests = body("add", delta=mostly(st.integers(0, 10), st.integers(-5, -1) | json_values))


async def counter_state(program: Program, request: Body) -> Any:
    reply = await program.call({"type": "read"})
    assert reply["type"] == "read_ok", reply
    return reply["value"]


echo_requests = mostly(body("echo", echo=json_values), st.just({"type": "echo", "Echo": "no echo"}))
generate_requests = body("generate", id=json_values, echo=json_values)


async def no_state(program: Program, request: Body) -> Any:
    return None


# -- the property ------------------------------------------------------------------------------------


@dataclass
class Spec:
    challenge: str
    requests: st.SearchStrategy[Body]
    read_state: ReadState
    node_ids: list[str] = field(default_factory=lambda: ["n1"])
    argv: list[str] = field(default_factory=list)
    #: request types that a peer sends and that get no reply when they succeed
    silent: frozenset[str] = frozenset()
    #: False where no request of the program can be malformed (unique-ids' generate has no fields)
    rejects: bool = True


SPECS = [
    Spec("echo", echo_requests, no_state),
    Spec("unique-id-generation", generate_requests, no_state, argv=["local"], rejects=False),
    Spec("single-node-broadcast", broadcast_requests | gossip, broadcast_state, silent=frozenset({"gossip"})),
    Spec(
        "multi-node-broadcast",
        broadcast_requests | gossip,
        broadcast_state,
        NODES,
        silent=frozenset({"gossip"}),
    ),
    Spec(
        "fault-tolerant-broadcast",
        broadcast_requests | gossip,
        broadcast_state,
        NODES,
        silent=frozenset({"gossip"}),
    ),
    Spec(
        "efficient-broadcast",
        broadcast_requests | gossip,
        broadcast_state,
        NODES,
        silent=frozenset({"gossip"}),
    ),
    Spec("grow-only-counter", counter_requests, counter_state),
    Spec("single-node-kafka-style-log", kafka_requests, kafka_state),
    Spec("multi-node-kafka-style-log", kafka_requests, kafka_state),
    Spec(
        "efficient-kafka-style-log",
        kafka_requests | kafka_sync,
        kafka_state,
        ["n1", "n2"],
        silent=frozenset({"sync"}),
    ),
    Spec("single-node-totally-available-transactions", txn_requests, txn_state),
    Spec(
        "totally-available-read-uncommitted-transactions",
        txn_requests | txn_sync,
        txn_state,
        ["n1", "n2"],
        silent=frozenset({"txn_sync"}),
    ),
    Spec(
        "totally-available-read-committed-transactions",
        txn_requests | txn_sync,
        txn_state,
        ["n1", "n2"],
        silent=frozenset({"txn_sync"}),
    ),
]


PEER_TYPES = frozenset({"gossip", "txn_sync", "sync"})


async def exchange(program: Program, spec: Spec, request: Body) -> Body | None:
    """The reply to ``request``; None for a silent type that sent none (it succeeded)."""
    src = "n2" if request["type"] in PEER_TYPES else "c1"
    if request["type"] in spec.silent:
        reply = program.request(request, src)
        await spec.read_state(program, request)  # answered only after the request was handled
        return reply.result() if reply.done() else None
    return await program.call(request, src)


async def exercise(spec: Spec, requests: list[Body], seen: Counter[str]) -> None:
    async with Program(spec.challenge, spec.argv, spec.node_ids) as program:
        ids: set[Any] = set()
        for request in requests:
            before = await spec.read_state(program, request)
            reply = await exchange(program, spec, request)
            if reply is None:
                seen["silent"] += 1
                continue
            context = (request, reply, program.logs[-3:])
            if reply["type"] == "error":
                assert spec.rejects and reply["code"] == 12 and is_definite(reply["code"]), context
                assert isinstance(reply["text"], str) and reply["text"], context
                assert await spec.read_state(program, request) == before, context
                seen["definite"] += 1
                continue
            assert reply["type"] == request["type"] + "_ok", context
            seen["ok"] += 1
            if spec.challenge == "echo":
                assert reply["echo"] == request["echo"], context
            if spec.challenge == "unique-id-generation":
                assert reply["id"] not in ids, context
                ids.add(reply["id"])


@pytest.mark.parametrize("spec", SPECS, ids=[spec.challenge for spec in SPECS])
def test_a_definite_error_leaves_the_state_unchanged(spec: Spec) -> None:
    seen: Counter[str] = Counter()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(requests=st.lists(spec.requests, min_size=1, max_size=10))
    def check(requests: list[Body]) -> None:
        asyncio.run(asyncio.wait_for(exercise(spec, requests, seen), 30))

    check()
    # the search reached both outcomes, often: a test that never saw a rejection proves nothing
    assert seen["ok"] >= 10, seen
    if spec.rejects:
        assert seen["definite"] >= 10, seen


# -- the case of issue 12, by name ---------------------------------------------------------------------

TXN_PROGRAMS = [spec.challenge for spec in SPECS if spec.read_state is txn_state]


@pytest.mark.parametrize("challenge", TXN_PROGRAMS)
def test_a_txn_with_a_bad_micro_op_after_a_write_writes_nothing(challenge: str) -> None:
    async def scenario() -> None:
        async with Program(challenge, node_ids=["n1", "n2"]) as program:
            reply = await program.call({"type": "txn", "txn": [["w", 1, 42], ["x", 1, None]]})
            assert reply["type"] == "error" and reply["code"] == 12, reply
            assert "micro-op" in reply["text"] or "enum" in reply["text"], reply
            read = await program.call({"type": "txn", "txn": [["r", 1, None]]})
            assert read["txn"] == [["r", 1, None]]
            assert program.peer_messages == []  # nothing was replicated either

    asyncio.run(asyncio.wait_for(scenario(), 30))
