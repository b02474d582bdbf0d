"""Maelstrom's echo checker: ok/fail pairs compared with Clojure equality, :info ignored."""

from __future__ import annotations

from harness.checkers.echo import check
from harness.history import Op, kw
from harness.options import TestOptions as Options

T = Options(workload="echo")


def pair(process, sent, typ, value, i):
    return [Op("invoke", "echo", process, sent, i, 2 * i), Op(typ, "echo", process, value, i + 1, 2 * i + 1)]


def test_valid_with_str_or_keyword_keys_and_info_ignored():
    hist = pair(0, "a", "ok", {"echo": "a", "type": "echo_ok"}, 0)
    hist += pair(1, "b", "ok", {kw("echo"): "b", kw("type"): "echo_ok"}, 1)
    hist += pair(2, "c", "info", "c", 2)
    hist.append(Op("invoke", "echo", 3, "d", 9, 9))  # never completed
    assert check(T, hist) == {"valid?": True, "errors": []}


def test_wrong_echo_and_fail_are_errors():
    hist = pair(0, "a", "ok", {"echo": "A"}, 0) + pair(1, "b", "fail", "b", 1)
    r = check(T, hist)
    assert r["valid?"] is False and len(r["errors"]) == 2
    assert r["errors"][0] == ["Expected a message with :echo", "a", "But received", {"echo": "A"}]


def test_clojure_equality():
    assert check(T, pair(0, 1, "ok", {"echo": 1.0}, 0))["valid?"] is False
    assert check(T, pair(0, 1, "ok", {"echo": True}, 0))["valid?"] is False
    assert check(T, pair(0, [1, {"a": 2}], "ok", {"echo": [1, {"a": 2}]}, 0))["valid?"] is True
