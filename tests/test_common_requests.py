"""common.requests: a request's body validated whole (error 12) before a handler acts on it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common import Crash, PreconditionFailed, Protocol, RPCTimeout
from common.requests import NonNegativeInt, Request, parse, taking_effect


def line(**body: Any) -> bytes:
    return json.dumps({"src": "c1", "dest": "n1", "body": body}).encode() + b"\n"


class Harness:
    """An initialised Protocol, its log captured."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self.protocol = Protocol(log=self.logs.append)
        self.protocol.feed(line(type="init", msg_id=1, node_id="n1", node_ids=["n1"]))
        self.protocol.data_to_send()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self.protocol.feed(data)
        return [json.loads(text) for text in bytes(self.protocol.data_to_send()).splitlines()]

    def bodies(self, data: bytes) -> list[dict[str, Any]]:
        return [msg["body"] for msg in self.feed(data)]


class Shape(Request):
    count: NonNegativeInt
    names: list[str]


def test_parse_rejects_a_body_that_does_not_fit_with_a_definite_12():
    h = Harness()
    accepted: list[Shape] = []

    def handler(msg):
        accepted.append(parse(msg, Shape))
        return {"type": "op_ok"}

    h.protocol.add_handler("op", handler)
    assert h.bodies(line(type="op", msg_id=1, count=2, names=["a"], extra=1))[0]["type"] == "op_ok"
    assert accepted == [Shape(count=2, names=["a"])]
    for bad in (
        {"names": []},
        {"count": -1, "names": []},
        {"count": True, "names": []},
        {"count": 1.0, "names": []},
        {"count": 1, "names": ["a", 2]},
    ):
        [body] = h.bodies(line(type="op", msg_id=2, **bad))
        assert body["code"] == 12 and body["text"].startswith("malformed op request: "), body
    assert len(accepted) == 1
    [body] = h.bodies(line(type="op", msg_id=3, count=1, names=[None]))
    assert body["text"] == "malformed op request: Expected `str`, got `null` - at `$.names[0]`"


def test_rejected_request_without_msg_id_is_logged_not_answered():
    h = Harness()
    h.protocol.add_handler("op", lambda msg: parse(msg, Shape))
    assert h.feed(line(type="op", count="x", names=[])) == []
    assert any("op" in entry and "malformed" in entry for entry in h.logs)


def test_taking_effect_makes_later_definite_errors_indefinite():
    with (
        pytest.raises(Crash, match="may have taken effect in part: precondition-failed"),
        taking_effect("send"),
    ):
        raise PreconditionFailed("expected 1")
    with pytest.raises(RPCTimeout), taking_effect("send"):
        raise RPCTimeout("slow")
