"""The kafka checker catches broken logs and passes correct ones."""

from __future__ import annotations

from typing import Any

import pytest

from harness.checkers.kafka import NoWriterError, check
from harness.history import FAIL, INFO, INVOKE, OK, UNKNOWN, Op, kw

SEND, POLL = kw("send"), kw("poll")


class H:
    """Builds a history one op at a time; each op is invoked and completed back to back."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def _add(self, type_: str, f: str, process: int, value: Any, **extra: Any) -> None:
        n = len(self.ops)
        self.ops.append(Op(type_, f, process, value, time=n * 1000, index=n, extra=extra))

    def send(self, p: int, k: str, offset: int | None, msg: int, type_: str = OK) -> H:
        self._add(INVOKE, "send", p, [[SEND, k, msg]])
        done = [[SEND, k, [offset, msg]]] if type_ == OK else [[SEND, k, msg]]
        self._add(type_, "send", p, done)
        return self

    def poll(self, p: int, msgs: dict[str, list[list[int]]] | None, type_: str = OK) -> H:
        self._add(INVOKE, "poll", p, [[POLL]])
        self._add(type_, "poll", p, [[POLL, msgs]] if type_ == OK else [[POLL]])
        return self

    def assign(self, p: int, keys: list[str]) -> H:
        self._add(INVOKE, "assign", p, keys)
        self._add(OK, "assign", p, keys)
        return self

    def check(self) -> dict[str, Any]:
        return check(None, self.ops)


def good() -> H:
    return (
        H()
        .send(0, "a", 0, 1)
        .send(1, "a", 1, 2)
        .send(0, "b", 0, 1)
        .assign(1, ["a", "b"])
        .poll(1, {"a": [[0, 1], [1, 2]], "b": [[0, 1]]})
        .send(0, "a", 2, 3)
        .poll(1, {"a": [[2, 3]]})
    )


def test_correct_history_passes() -> None:
    r = good().check()
    assert r["valid?"] is True
    assert r["error-types"] == [] and r["bad-error-types"] == []
    assert r["worst-realtime-lag"]["lag"] == 0


def test_skipped_message_inside_a_poll() -> None:
    h = H().send(0, "a", 0, 1).send(0, "a", 1, 2).send(0, "a", 2, 3)
    h.poll(1, {"a": [[0, 1], [1, 2], [2, 3]]}).poll(2, {"a": [[0, 1], [2, 3]]})
    r = h.check()
    assert r["valid?"] is False
    assert r["int-poll-skip"]["count"] == 1
    assert r["int-poll-skip"]["errs"][0]["skipped"] == [2]


def test_skip_between_polls_of_one_process() -> None:
    h = H().send(0, "a", 0, 1).send(0, "a", 1, 2).send(0, "a", 2, 3)
    h.poll(1, {"a": [[0, 1]]}).poll(1, {"a": [[2, 3]]}).poll(2, {"a": [[0, 1], [1, 2], [2, 3]]})
    r = h.check()
    assert r["bad-error-types"] == [kw("poll-skip")]
    assert r["poll-skip"]["errs"][0]["delta"] == 2


def test_assign_keeps_tracking_only_for_assigned_keys() -> None:
    def run(assigned: list[str]) -> dict[str, Any]:
        h = H().send(0, "a", 0, 1).send(0, "a", 1, 2).send(0, "a", 2, 3)
        h.poll(1, {"a": [[0, 1]]}).assign(1, assigned).poll(1, {"a": [[2, 3]]})
        return h.poll(2, {"a": [[0, 1], [1, 2], [2, 3]]}).check()

    assert run(["b"])["valid?"] is True
    assert run(["a", "b"])["bad-error-types"] == [kw("poll-skip")]


def test_going_backwards_is_nonmonotonic() -> None:
    h = H().send(0, "a", 0, 1).send(0, "a", 1, 2)
    h.poll(1, {"a": [[0, 1], [1, 2]]}).poll(1, {"a": [[1, 2]]})
    r = h.check()
    assert r["bad-error-types"] == [kw("nonmonotonic-poll")]
    h2 = H().send(0, "a", 0, 1).send(0, "a", 1, 2).poll(1, {"a": [[1, 2], [0, 1]]})
    assert h2.check()["bad-error-types"] == [kw("int-nonmonotonic-poll")]


def test_message_stored_twice_is_duplicate() -> None:
    h = H().send(0, "a", 0, 1).send(0, "a", 1, 2)
    h.poll(1, {"a": [[0, 1], [1, 2], [2, 1]]})
    r = h.check()
    assert kw("duplicate") in r["bad-error-types"]
    assert r["duplicate"]["errs"][0]["offsets"] == [0, 2]


def test_offset_reused_is_inconsistent() -> None:
    h = H().send(0, "a", 0, 1).send(1, "a", 0, 2).poll(2, {"a": [[0, 1]]}).poll(3, {"a": [[0, 2]]})
    r = h.check()
    assert kw("inconsistent-offsets") in r["bad-error-types"]
    assert r["inconsistent-offsets"]["errs"][0]["values"] == [1, 2]


def test_lost_write() -> None:
    # offset 1 was acknowledged, a later offset was read, but no poll ever returned offset 1
    h = H().send(0, "a", 0, 1).send(0, "a", 1, 2).send(0, "a", 2, 3)
    h.poll(1, {"a": [[0, 1], [2, 3]]})
    r = h.check()
    assert r["valid?"] is False
    assert r["lost-write"]["count"] == 1
    assert r["lost-write"]["errs"][0]["value"] == 2
    assert kw("int-poll-skip") in r["bad-error-types"]


def test_unseen_acknowledged_send() -> None:
    h = H().send(0, "a", 0, 1).send(0, "a", 1, 2).poll(1, {"a": [[0, 1]]})
    r = h.check()
    assert r["bad-error-types"] == [kw("unseen")]
    assert r["unseen"]["unseen"] == {"a": 1}
    assert r["unseen"]["messages"] == {"a": [2]}


def test_info_send_needs_no_reader_but_counts_once_read() -> None:
    h = H().send(0, "a", 0, 1).send(0, "a", None, 2, type_=INFO).poll(1, {"a": [[0, 1]]})
    assert h.check()["valid?"] is True
    h2 = H().send(0, "a", 0, 1).send(1, "a", None, 2, type_=INFO).send(0, "a", 2, 3)
    h2.poll(2, {"a": [[0, 1], [2, 3]]}).poll(3, {"a": [[1, 2]]})
    r = h2.check()
    # the info send was read, so it committed; offset 1 was not read by the first poll: a skip
    assert kw("int-poll-skip") in r["bad-error-types"]


def test_read_of_failed_send_is_g1a() -> None:
    h = H().send(0, "a", 0, 1).send(0, "a", None, 2, type_=FAIL).poll(1, {"a": [[0, 1], [1, 2]]})
    r = h.check()
    assert kw("G1a") in r["bad-error-types"]


def test_poll_seeing_a_future_send_is_a_realtime_cycle() -> None:
    h = H().send(0, "a", 0, 1).poll(1, {"a": [[0, 1], [1, 2]]}).send(0, "a", 1, 2)
    r = h.check()
    assert kw("G1c-realtime") in r["bad-error-types"]
    cycle = r["G1c-realtime"]["errs"][0]
    assert [op.f for op in cycle["cycle"]] in (["send", "poll"], ["poll", "send"])
    assert {step["type"] for step in cycle["steps"]} == {kw("wr"), kw("realtime")}


def test_concurrent_send_read_is_not_a_cycle() -> None:
    ops = [
        Op(INVOKE, "send", 0, [[SEND, "a", 1]], time=0, index=0),
        Op(INVOKE, "poll", 1, [[POLL]], time=1, index=1),
        Op(OK, "poll", 1, [[POLL, {"a": [[0, 1]]}]], time=2, index=2),
        Op(OK, "send", 0, [[SEND, "a", [0, 1]]], time=3, index=3),
    ]
    assert check(None, ops)["valid?"] is True


def test_history_without_edges_is_empty_transaction_graph() -> None:
    ops = [Op(INVOKE, "send", 0, [[SEND, "a", 1]], index=0), Op(INFO, "send", 0, [[SEND, "a", 1]], index=1)]
    r = check(None, ops)
    assert r["bad-error-types"] == [kw("empty-transaction-graph")]


def test_polled_value_nobody_sent_raises() -> None:
    h = H().send(0, "a", 0, 1).poll(1, {"a": [[0, 1], [1, 99]]})
    with pytest.raises(NoWriterError):
        h.check()


def test_key_only_ever_polled_empty_is_unknown_like_maelstrom() -> None:
    h = good().poll(1, {"z": []})
    r = h.check()
    assert r["valid?"] == UNKNOWN and "z" in r["error"]
    broken = good().poll(1, {"z": []}).send(0, "a", 3, 4)  # also unseen: false beats unknown
    assert broken.check()["valid?"] is False


def test_keys_and_messages_use_clojure_equality() -> None:
    # message 1 and message 1.0 are different messages: a poll of 1.0 at offset 0 is inconsistent
    h = H().send(0, "a", 0, 1).send(1, "a", 1, 1.0).poll(2, {"a": [[0, 1], [1, 1.0]]})
    assert h.check()["valid?"] is True
    h2 = H().send(0, "a", 0, 1).send(1, "a", 1, 1.0).poll(2, {"a": [[0, 1.0], [1, 1.0]]})
    r = h2.check()
    assert kw("inconsistent-offsets") in r["bad-error-types"] and kw("duplicate") in r["bad-error-types"]
