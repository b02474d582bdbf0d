"""Property tests: hostile input never kills the echo node nor dirties its stdout.

Each example builds a fresh echo node (the real echo/main.py, run in-process through its sans-I/O
Protocol), feeds it a batch of malformed or hostile lines, then a valid echo. Afterwards the node
must answer that echo correctly, and every line it wrote must be a valid protocol line that
answers an int msg_id we actually sent.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common import Protocol

ECHO_MAIN = Path(__file__).resolve().parent.parent / "echo" / "main.py"
INIT = b'{"src":"c0","dest":"n1","body":{"type":"init","node_id":"n1","node_ids":["n1"],"msg_id":1}}\n'
PROBE_ID = 10**12  # far from any msg_id the hostile lines are likely to use


def fresh_echo_protocol(logs: list[str]) -> Protocol:
    spec = importlib.util.spec_from_file_location("echo_main_under_test", ECHO_MAIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    protocol = module.node.protocol
    protocol.log = logs.append
    return protocol


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
ids = st.integers(min_value=-(2**70), max_value=2**70) | json_values
bodies = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["echo", "init", "echo_ok", "error", "nope", ""]) | json_values,
        "msg_id": ids,
        "in_reply_to": ids,
        "echo": json_values,
        "node_id": json_values,
        "node_ids": json_values,
    },
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "src": st.sampled_from(["c1", "n2"]) | json_values,
        "dest": st.just("n1") | json_values,
        "body": bodies | json_values,
        "id": json_values,
    },
)

# well-formed envelopes around hostile bodies: these reach the handlers (echo, init) and the reply path
addressed = st.fixed_dictionaries(
    {"src": st.sampled_from(["c1", "n2", "lin-kv"]), "dest": st.just("n1"), "body": bodies},
    optional={"id": st.integers(min_value=0, max_value=2**40)},
)
requests_to_handlers = st.fixed_dictionaries(
    {
        "src": st.just("c1"),
        "dest": st.just("n1"),
        "body": st.fixed_dictionaries(
            {"type": st.sampled_from(["echo", "init"]), "msg_id": st.integers(min_value=0, max_value=10**6)},
            optional={"echo": json_values, "node_id": json_values, "node_ids": json_values},
        ),
    }
)


def deep(depth: int, opener: str, closer: str) -> bytes:
    return (opener * depth + closer * depth).encode()


hostile_lines = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    json_values.map(lambda value: json.dumps(value).encode()),
    envelopes.map(lambda env: json.dumps(env).encode()),
    addressed.map(lambda env: json.dumps(env).encode()),
    requests_to_handlers.map(lambda env: json.dumps(env).encode()),
    st.sampled_from(
        [b'{"src":"c1","dest":"n1","body":{"type":"echo","echo":"x","msg_id":', b"{" * 50, b"\x00" * 10]
    ),
    st.integers(min_value=1, max_value=200_000).map(lambda depth: deep(depth, "[", "]")),
    st.integers(min_value=1, max_value=5_000).map(
        lambda depth: (
            b'{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":7,"echo":'
            + deep(depth, "[", "]")
            + b"}}"
        )
    ),
    st.integers(min_value=65_537, max_value=300_000).map(
        lambda size: (
            b'{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":8,"echo":"'
            + b"\xc3\xa9" * (size // 2)
            + b'"}}'
        )
    ),
    st.integers(min_value=65_537, max_value=300_000).map(lambda size: b"x" * size),
)


def loads_any_depth(text: bytes) -> Any:
    """json.loads with room to nest 10,000 deep.

    The node decodes whatever nesting the recursion limit allows, and Hypothesis raises that limit
    while a test runs, so the node may answer a request nested ~2,000 deep (one such batch was
    found). The oracle must count that request's msg_id as sent, whatever the limit is now.
    """
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return json.loads(text)
    finally:
        sys.setrecursionlimit(limit)


def sent_int_msg_ids(batch: list[bytes]) -> set[int]:
    """msg_ids the node may answer: those of lines that are JSON objects with an int msg_id."""
    found: set[int] = set()
    for text in b"\n".join(batch).split(b"\n"):
        try:
            body = loads_any_depth(text)["body"]
            if body.get("in_reply_to") is None and type(body["msg_id"]) is int:
                found.add(body["msg_id"])
        except Exception:
            continue
    return found


def check_output(data: bytes, allowed_ids: set[int]) -> list[dict[str, Any]]:
    assert data == b"" or data.endswith(b"\n")
    bodies_out = []
    for text in data.split(b"\n")[:-1]:
        msg = json.loads(text)
        # replies come from the request's dest (the node id for every message Maelstrom delivers)
        assert (
            set(msg) == {"src", "dest", "body"}
            and isinstance(msg["src"], str)
            and isinstance(msg["dest"], str)
        )
        body = msg["body"]
        assert type(body["in_reply_to"]) is int and body["in_reply_to"] in allowed_ids
        if body["type"] == "error":
            assert set(body) == {"type", "in_reply_to", "code", "text"}
            assert body["code"] in (10, 12, 13) and isinstance(body["text"], str)
        else:
            assert body["type"] in ("echo_ok", "init_ok")
        bodies_out.append(body)
    return bodies_out


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    batch=st.lists(hostile_lines, min_size=1, max_size=16), chunk=st.integers(min_value=50, max_value=1 << 20)
)
def test_hostile_lines_never_kill_the_node_nor_dirty_stdout(batch, chunk):
    logs: list[str] = []
    protocol = fresh_echo_protocol(logs)
    probe = (
        b'{"src":"c1","dest":"n1","body":{"type":"echo","echo":"probe \\u00e9\\ud83d\\ude00","msg_id":%d}}\n'
    )
    # after every hostile line, a valid echo that must be answered
    data = INIT + b"".join(hostile + b"\n" + probe % (PROBE_ID + i) for i, hostile in enumerate(batch))
    for start in range(0, len(data), chunk):
        protocol.feed(data[start : start + chunk])
    probes = {PROBE_ID + i for i in range(len(batch))}
    out = check_output(bytes(protocol.data_to_send()), sent_int_msg_ids(batch) | probes | {1})
    answered = [body for body in out if body["in_reply_to"] in probes]
    assert answered == [
        {"type": "echo_ok", "echo": "probe é😀", "in_reply_to": PROBE_ID + i} for i in range(len(batch))
    ]
    assert protocol.pending_count == 0
    LINES_FED.append(len(batch))


LINES_FED: list[int] = []


def test_the_oracle_counts_a_request_nested_deeper_than_the_default_recursion_limit():
    # the node may decode and answer it (Hypothesis raises the limit while a test runs)
    line = b'{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":7,"echo":' + deep(4_999, "[", "]") + b"}}"
    assert sent_int_msg_ids([line]) == {7}


def test_the_property_test_saw_several_thousand_lines():
    # runs after the property test in file order; guards against a silently tiny search
    if LINES_FED:
        assert sum(LINES_FED) >= 2000, sum(LINES_FED)
