"""Sans-I/O tests of common.protocol.Protocol and common.errors: bytes in, bytes out, no loop."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common import (
    Crash,
    ErrorCode,
    KeyDoesNotExist,
    MalformedRequest,
    Message,
    PreconditionFailed,
    Protocol,
    RPCError,
    RPCTimeout,
    TxnConflict,
    error_from_code,
    is_definite,
)
from common.errors import error_from_body
from common.testing import LinkedProtocols


def line(src: str = "c1", dest: str = "n1", **body: Any) -> bytes:
    return json.dumps({"src": src, "dest": dest, "body": body}).encode() + b"\n"


class Harness:
    """A Protocol with an echo handler, its log captured."""

    def __init__(self, init: bool = True) -> None:
        self.logs: list[str] = []
        self.protocol = Protocol(log=self.logs.append)
        self.protocol.add_handler("echo", lambda msg: {"type": "echo_ok", "echo": msg.body["echo"]})
        if init:
            self.protocol.feed(line("c0", type="init", msg_id=1, node_id="n1", node_ids=["n1", "n2"]))
            assert self.out() == [{"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1}}]

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self.protocol.feed(data)
        return self.out()

    def out(self) -> list[dict[str, Any]]:
        data = bytes(self.protocol.data_to_send())
        assert data == b"" or data.endswith(b"\n")
        return [json.loads(text) for text in data.splitlines()]

    def bodies(self, data: bytes) -> list[dict[str, Any]]:
        return [msg["body"] for msg in self.feed(data)]


# -- init and dispatch ---------------------------------------------------------------------------


def test_init_sets_ids_runs_hooks_then_answers():
    seen: list[tuple[str | None, list[str]]] = []
    protocol = Protocol(log=lambda _: None)
    protocol.add_init_hook(lambda: seen.append((protocol.node_id, list(protocol.node_ids))))
    protocol.feed(line("c0", "n3", type="init", msg_id=1, node_id="n3", node_ids=["n1", "n2", "n3"]))
    out = protocol.data_to_send()
    assert seen == [("n3", ["n1", "n2", "n3"])]
    assert json.loads(out) == {"src": "n3", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1}}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"node_id": 3, "node_ids": ["n1"]},
        {"node_id": "n1", "node_ids": "n1"},
        {"node_id": "n1", "node_ids": [1]},
    ],
)
def test_malformed_init_is_error_12(fields):
    h = Harness(init=False)
    [body] = h.bodies(line("c0", type="init", msg_id=1, **fields))
    assert body["code"] == ErrorCode.MALFORMED_REQUEST and body["in_reply_to"] == 1
    assert h.protocol.node_id is None


def test_echo_reply_swaps_src_dest_and_sets_in_reply_to():
    h = Harness()
    assert h.feed(line("c7", type="echo", echo="hi", msg_id=42)) == [
        {"src": "n1", "dest": "c7", "body": {"type": "echo_ok", "echo": "hi", "in_reply_to": 42}}
    ]


def test_handler_returning_none_sends_nothing_and_request_without_msg_id_gets_no_reply():
    h = Harness()
    calls: list[Message] = []
    h.protocol.add_handler("note", lambda msg: calls.append(msg))
    assert h.feed(line(type="note", msg_id=5)) == []
    assert h.feed(line(type="echo", echo="x")) == []  # handled, but nothing to answer to
    assert h.feed(line(type="nope")) == []
    assert h.feed(line(type="echo")) == []  # malformed, but unanswerable: only logged
    assert len(calls) == 1 and calls[0].msg_id == 5


def test_returned_dict_is_not_mutated():
    h = Harness()
    shared = {"type": "topology_ok"}
    h.protocol.add_handler("topology", lambda msg: shared)
    h.feed(line(type="topology", msg_id=1))
    assert shared == {"type": "topology_ok"}


def test_duplicate_registration_and_init_are_errors():
    protocol = Protocol()
    protocol.add_handler("echo", lambda msg: None)
    with pytest.raises(ValueError, match="already registered"):
        protocol.add_handler("echo", lambda msg: None)
    with pytest.raises(ValueError):
        protocol.add_handler("init", lambda msg: None)


# -- errors ------------------------------------------------------------------------------------


def test_unknown_type_is_10_and_bad_type_is_12():
    h = Harness()
    [unknown] = h.bodies(line(type="nope", msg_id=3))
    assert unknown == {
        "type": "error",
        "in_reply_to": 3,
        "code": 10,
        "text": "unsupported message type 'nope'",
    }
    for bad in ({"type": 5}, {"type": None}, {}, {"type": ["echo"]}):
        [body] = h.bodies(line(msg_id=4, **bad))
        assert (body["code"], body["in_reply_to"]) == (12, 4)


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (RPCError(ErrorCode.TEMPORARILY_UNAVAILABLE, "later"), 11),
        (KeyDoesNotExist("no such key"), 20),
        (PreconditionFailed("expected 1"), 22),
        (TxnConflict(), 30),
        (RPCError(1234, "custom"), 1234),
        (MalformedRequest("no field x"), 12),
        # a handler that trips over a body (or over its own bug) may have changed state already:
        # indefinite, never 12, whose promise is that nothing happened
        (KeyError("k"), 13),
        (TypeError("t"), 13),
        (ValueError("v"), 13),
        (RuntimeError("boom"), 13),
        (ZeroDivisionError(), 13),
    ],
)
def test_handler_exceptions_map_to_codes_and_node_keeps_serving(raised, code):
    h = Harness()

    def handler(msg):
        raise raised

    h.protocol.add_handler("op", handler)
    [body] = h.bodies(line(type="op", msg_id=9))
    assert body["type"] == "error" and body["code"] == code and body["in_reply_to"] == 9
    assert isinstance(body["text"], str)
    if isinstance(raised, RPCError):
        assert body["text"] == raised.text and h.logs == []
    if code == 13:
        assert any("Traceback" in entry and type(raised).__name__ in entry for entry in h.logs)
    assert h.bodies(line(type="echo", echo="still here", msg_id=10))[0]["echo"] == "still here"


def test_unvalidated_missing_field_is_13_with_traceback_logged():
    h = Harness()  # its echo handler reads msg.body["echo"] without validating it
    [body] = h.bodies(line(type="echo", msg_id=2))
    assert body["code"] == 13 and "KeyError" in body["text"]
    assert any("Traceback" in entry for entry in h.logs)


def test_a_write_before_a_keyerror_is_not_answered_definite():
    h = Harness()
    state: dict[str, Any] = {}

    def write_then_read(msg):
        state["k"] = msg.body["value"]
        return {"type": "w_ok", "also": msg.body["missing"]}  # KeyError after the write

    h.protocol.add_handler("w", write_then_read)
    [body] = h.bodies(line(type="w", value=42, msg_id=3))
    assert state == {"k": 42} and body["code"] == 13 and not is_definite(body["code"])


def test_handler_returning_a_non_dict_is_13():
    h = Harness()
    h.protocol.add_handler("op", lambda msg: ["not", "a", "dict"])
    [body] = h.bodies(line(type="op", msg_id=1))
    assert body["code"] == 13


def test_unencodable_reply_is_13_and_output_stays_whole_lines():
    h = Harness()
    h.protocol.add_handler("op", lambda msg: {"type": "op_ok", "value": object()})
    [body] = h.bodies(line(type="op", msg_id=1) + line(type="echo", echo=1, msg_id=2))[:1]
    assert body["code"] == 13
    h.feed(line(type="op", msg_id=3) + line(type="echo", echo=1, msg_id=4))  # out() checks lines parse


def test_error_table_and_definiteness():
    assert [int(code) for code in ErrorCode] == [0, 1, 10, 11, 12, 13, 14, 20, 21, 22, 30]
    assert {code for code in ErrorCode if is_definite(code)} == {1, 10, 11, 12, 14, 20, 21, 22, 30}
    assert not is_definite(0) and not is_definite(13) and not is_definite(1000)
    assert isinstance(error_from_code(20, "x"), KeyDoesNotExist)
    assert isinstance(error_from_code(0), RPCTimeout) and not RPCTimeout().definite
    assert type(error_from_code(1000, "x")) is RPCError and error_from_code(1000).code == 1000
    assert error_from_code(22, "x").definite
    assert isinstance(error_from_body({"type": "error", "code": "20"}), Crash)
    err = error_from_body({"type": "error", "code": 21, "text": "exists"})
    assert (err.code, err.text, str(err)) == (21, "exists", "key-already-exists (21): exists")


# -- outgoing requests and replies ---------------------------------------------------------------


def test_request_ids_count_from_one_and_replies_reach_their_callback():
    h = Harness()
    got: list[Message] = []
    first = h.protocol.request("n2", {"type": "ping"}, got.append)
    second = h.protocol.request("n2", {"type": "ping"}, got.append)
    assert (first, second) == (1, 2)
    assert [m["body"] for m in h.out()] == [{"type": "ping", "msg_id": 1}, {"type": "ping", "msg_id": 2}]
    assert h.protocol.pending_count == 2
    assert h.feed(line("n2", type="ping_ok", in_reply_to=2)) == []
    assert [m.body["in_reply_to"] for m in got] == [2]
    assert h.protocol.pending_count == 1


def test_linked_nodes_request_reply_error_and_partition():
    """Two protocols over a fake link (common.testing.LinkedProtocols), h11-style."""
    link = LinkedProtocols(["n1", "n2"])
    store = {"x": 1}

    def read(msg: Message) -> dict[str, Any]:
        if msg.body["key"] not in store:
            raise KeyDoesNotExist(f"no {msg.body['key']}")
        return {"type": "read_ok", "value": store[msg.body["key"]]}

    link["n2"].add_handler("read", read)
    got: list[Message] = []
    link["n1"].request("n2", {"type": "read", "key": "x"}, got.append)
    link["n1"].request("n2", {"type": "read", "key": "y"}, got.append)
    assert link.pump() == []  # nothing for anyone outside the pair
    assert [(m.src, m.body["type"], m.body.get("value"), m.body.get("code")) for m in got] == [
        ("n2", "read_ok", 1, None),
        ("n2", "error", None, ErrorCode.KEY_DOES_NOT_EXIST),
    ]
    # a partition loses the request: no reply, the request stays pending
    link["n1"].request("n2", {"type": "read", "key": "x"}, got.append)
    assert link.pump(drop=lambda msg: msg["src"] == "n1") == [] and len(got) == 2
    assert link["n1"].pending_count == 1
    # a client's request is answered to the client, outside the pair
    link.client_send("c1", "n2", {"type": "read", "key": "x", "msg_id": 7})
    assert link.pump() == [
        {"src": "n2", "dest": "c1", "body": {"type": "read_ok", "value": 1, "in_reply_to": 7}}
    ]
    assert link.logs == []


def test_cancelled_request_drops_late_reply_quietly():
    h = Harness()
    got: list[Message] = []
    msg_id = h.protocol.request("n2", {"type": "ping"}, got.append)
    h.out()
    assert h.protocol.cancel(msg_id) and not h.protocol.cancel(msg_id)
    assert h.feed(line("n2", type="ping_ok", in_reply_to=msg_id)) == []
    assert got == [] and h.protocol.pending_count == 0 and h.protocol.dropped_replies == 1
    assert h.logs == []


def test_replies_are_never_dispatched_or_answered():
    h = Harness()
    h.protocol.add_handler("ping_ok", lambda msg: {"type": "should-not-happen"})
    assert h.feed(line("n2", type="ping_ok", in_reply_to=77, msg_id=3)) == []
    assert h.feed(line("n2", type="echo", echo="x", in_reply_to=78, msg_id=4)) == []


@pytest.mark.parametrize("bogus", [True, 1.0, "1", [1]])
def test_in_reply_to_must_be_the_same_int(bogus):
    h = Harness()
    got: list[Message] = []
    h.protocol.request("n2", {"type": "ping"}, got.append)
    h.out()
    assert h.feed(line("n2", type="ping_ok", in_reply_to=bogus)) == []
    assert got == [] and h.protocol.pending_count == 1


@pytest.mark.parametrize("bogus", [True, 1.5, "3", [3], {"a": 1}])
def test_request_with_non_int_msg_id_is_not_answered(bogus):
    h = Harness()
    assert h.feed(line(type="echo", echo="x", msg_id=bogus)) == []
    assert h.logs


def test_send_before_init_is_an_error():
    protocol = Protocol()
    with pytest.raises(RuntimeError, match="init"):
        protocol.send("n2", {"type": "gossip"})
    with pytest.raises(RuntimeError):
        protocol.request("n2", {"type": "ping"}, lambda msg: None)


def test_explicit_reply_needs_msg_id():
    h = Harness()
    assert not h.protocol.reply(Message("c1", "n1", {"type": "x"}), {"type": "x_ok"})
    assert h.protocol.reply(Message("c1", "n1", {"type": "x", "msg_id": 8}), {"type": "x_ok"})
    assert h.out()[0]["body"] == {"type": "x_ok", "in_reply_to": 8}


# -- framing and bad input ---------------------------------------------------------------------


def test_any_chunking_gives_the_same_output():
    h_whole, h_bytes = Harness(), Harness()
    data = b"".join(line(type="echo", echo=f"m{i}", msg_id=i) for i in range(2, 30)) + b"junk\n\n"
    whole = h_whole.feed(data)
    for i in range(len(data)):
        h_bytes.protocol.feed(data[i : i + 1])
    assert h_bytes.out() == whole and len(whole) == 28


def test_lines_longer_than_64k_and_last_line_without_newline():
    h = Harness()
    big = "x" * 300_000
    data = line(type="echo", echo=big, msg_id=2)
    h.protocol.feed(data[:70_000])
    h.protocol.feed(data[70_000:])
    assert h.out()[0]["body"]["echo"] == big
    h.protocol.feed(line(type="echo", echo="tail", msg_id=3).rstrip(b"\n"))
    assert h.out() == []
    h.protocol.feed_eof()
    assert h.out()[0]["body"]["echo"] == "tail"


def test_blank_lines_are_skipped_silently_bad_lines_are_logged():
    h = Harness()
    assert h.feed(b"\n\n   \n\t\r\n") == [] and h.logs == []
    bad = [
        b"not json",
        b"[1,2]",
        b'"str"',
        b"{}",
        b'{"src":"c1","dest":"n1"}',
        b'{"src":1,"dest":"n1","body":{}}',
    ]
    bad += [b'{"src":"c1","dest":"n1","body":[]}', b"\xff\xfe", b"[" * 100_000, b'{"src":"c1"']
    for text in bad:
        assert h.feed(text + b"\n") == []
    assert len(h.logs) == len(bad)
    assert all(len(entry) < 400 for entry in h.logs)
    assert h.bodies(line(type="echo", echo="ok", msg_id=5))[0]["echo"] == "ok"


# -- coroutine results without a loop (the shell runs real ones) --------------------------------


def test_coroutine_handler_runs_inline_when_it_does_not_suspend():
    h = Harness()

    async def ok(msg):
        return {"type": "a_ok"}

    async def fails(msg):
        raise KeyDoesNotExist("gone")

    h.protocol.add_handler("a", ok)
    h.protocol.add_handler("b", fails)
    assert h.bodies(line(type="a", msg_id=1)) == [{"type": "a_ok", "in_reply_to": 1}]
    assert h.bodies(line(type="b", msg_id=2))[0]["code"] == 20


# -- values too deep to print or encode ------------------------------------------------------------


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_value_too_deep_for_repr_still_gets_a_bounded_excerpt():
    from common.protocol import _EXCERPT, _excerpt

    deep = _nested(100_000)
    with pytest.raises(RecursionError):
        repr(deep)
    text = _excerpt(deep)
    assert text.startswith("[[") and len(text) <= _EXCERPT + 40


def test_a_reply_too_deep_to_encode_is_answered_crash_and_logged_not_raised():
    # the encoder's RecursionError is an ordinary failure here: the node answers and goes on
    h = Harness()
    deep = _nested(100_000)
    h.protocol.add_handler("deep", lambda msg: {"type": "deep_ok", "value": deep, "echo": deep})
    (reply,) = h.bodies(line(type="deep", msg_id=7, echo=[[[[1]]]]))
    assert reply["type"] == "error" and reply["code"] == ErrorCode.CRASH and reply["in_reply_to"] == 7
    assert any("cannot encode the reply" in entry for entry in h.logs)
    assert h.bodies(line(type="echo", msg_id=8, echo="still here")) == [
        {"type": "echo_ok", "echo": "still here", "in_reply_to": 8}
    ]
