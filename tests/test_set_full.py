"""set-full (broadcast) checker: hand-built histories that must pass and ones that must fail."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checkers.set_full import check, quantiles
from harness.history import UNKNOWN, Op, kw

MS = 1_000_000


class H:
    """Builds a history with indexes assigned in order."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def add(self, type_: str, f: str, process: int | str, value=None, t_ms: float = 0, **extra) -> Op:
        op = Op(type_, f, process, value, int(t_ms * MS), len(self.ops), extra=extra)
        self.ops.append(op)
        return op

    def broadcast(self, p: int, v, t0: float, t1: float, outcome: str = "ok") -> None:
        self.add("invoke", "broadcast", p, v, t0)
        self.add(outcome, "broadcast", p, v, t1)

    def read(self, p: int, seen, t0: float, t1: float, outcome: str = "ok") -> None:
        self.add("invoke", "read", p, None, t0)
        self.add(outcome, "read", p, seen if outcome == "ok" else None, t1)


def test_all_values_read_everywhere_is_valid_and_not_stale():
    h = H()
    h.broadcast(0, 0, 0, 1)
    h.broadcast(1, 1, 2, 3)
    h.read(0, [0, 1], 4, 5)
    h.read(1, [1, 0], 6, 7)
    r = check(None, h.ops)
    assert r["valid?"] is True
    assert (r["attempt-count"], r["stable-count"], r["lost-count"], r["stale-count"]) == (2, 2, 0, 0)
    assert r["stable-latencies"] == {0: 0, 0.5: 0, 0.95: 0, 0.99: 0, 1: 0}
    assert "lost-latencies" not in r
    assert r["duplicated-count"] == 0 and r["duplicated"] == {}
    assert r["read-duplicates-count"] == 0


def test_value_that_disappears_is_lost():
    h = H()
    h.broadcast(0, 7, 0, 1)
    h.read(1, [7], 10, 11)
    h.read(2, [], 20, 21)  # began after the last present read and after the ack: lost
    r = check(None, h.ops)
    assert r["valid?"] is False
    assert r["lost"] == [7] and r["lost-count"] == 1 and r["stable-count"] == 0
    # lost-latency: (last-present invocation time + 1 ns) - known time, in whole ms
    assert r["lost-latencies"][0.5] == 9


def test_value_missing_from_the_final_read_only_is_lost():
    h = H()
    h.broadcast(0, 1, 0, 1)
    h.broadcast(0, 2, 2, 3)
    h.read(1, [1, 2], 5, 6)
    h.read(0, [1, 2], 30, 31)
    h.read(1, [1], 40, 41)
    r = check(None, h.ops)
    assert r["valid?"] is False and r["lost"] == [2] and r["stable-count"] == 1


def test_late_arrival_is_stale_but_valid():
    h = H()
    h.broadcast(0, 3, 0, 1)
    h.read(1, [], 100, 101)  # absent after the ack
    h.read(1, [3], 400, 401)
    r = check(None, h.ops)
    assert r["valid?"] is True
    assert r["stale"] == [3] and r["stale-count"] == 1
    # stable latency = last absent invocation (100 ms) + 1 ns - ack (1 ms) -> 99 ms
    assert r["stable-latencies"][1] == 99
    (worst,) = r["worst-stale"]
    assert worst["element"] == 3 and worst["outcome"] == kw("stable") and worst["stable-latency"] == 99
    assert worst["known"].f == "add" and worst["known"].type == "ok"  # broadcast renamed to add
    assert worst["last-absent"].index == 2 and worst["last-absent"].type == "invoke"


def test_absent_read_concurrent_with_the_add_is_not_lost():
    h = H()
    h.add("invoke", "broadcast", 0, 5, 0)
    h.add("invoke", "read", 1, None, 1)  # began before the add completed
    h.add("ok", "broadcast", 0, 5, 2)
    h.add("ok", "read", 1, [], 3)
    r = check(None, h.ops)
    assert r["lost-count"] == 0 and r["never-read"] == [5]
    assert r["valid?"] == UNKNOWN  # nothing stable


def test_no_reads_is_unknown():
    h = H()
    h.broadcast(0, 0, 0, 1)
    r = check(None, h.ops)
    assert r["valid?"] == UNKNOWN and r["never-read-count"] == 1


def test_indeterminate_add_seen_by_a_read_becomes_known_at_that_read():
    h = H()
    h.broadcast(0, 9, 0, 5000, outcome="info")
    h.read(1, [9], 10, 12)
    h.read(2, [], 20, 21)
    r = check(None, h.ops)
    assert r["lost"] == [9]
    # known = the present read's completion (12 ms); last present invocation at 10 ms -> clamp to 0
    assert r["lost-latencies"][0] == 0


def test_failed_add_never_seen_is_never_read_not_lost():
    h = H()
    h.broadcast(0, 1, 0, 1, outcome="fail")
    h.broadcast(0, 2, 2, 3)
    h.read(1, [2], 4, 5)
    r = check(None, h.ops)
    assert r["valid?"] is True and r["never-read"] == [1] and r["attempt-count"] == 2


def test_clojure_equality_float_and_bool_do_not_match_an_integer():
    h = H()
    h.broadcast(0, 1, 0, 1)
    h.read(1, [1.0, True, "1"], 5, 6)
    r = check(None, h.ops)
    assert r["valid?"] is False and r["lost"] == [1]  # acknowledged, then absent from a later read
    h2 = H()
    h2.broadcast(0, 1, 0, 1)
    h2.read(1, [1], 2, 3)
    h2.read(1, [1.0], 5, 6)
    assert check(None, h2.ops)["lost"] == [1]


def test_failed_and_info_reads_are_ignored():
    h = H()
    h.broadcast(0, 0, 0, 1)
    h.read(1, [0], 2, 3)
    h.read(2, None, 5, 6, outcome="fail")
    h.read(3, None, 7, 8, outcome="info")
    r = check(None, h.ops)
    assert r["valid?"] is True and r["stable-count"] == 1


def test_null_messages_is_an_empty_read():
    h = H()
    h.broadcast(0, 0, 0, 1)
    h.read(1, [0], 2, 3)
    h.read(1, None, 5, 6)
    assert check(None, h.ops)["lost"] == [0]


def test_values_repeated_inside_one_read_are_reported_without_changing_validity():
    h = H()
    h.broadcast(0, 0, 0, 1)
    h.broadcast(0, 1, 1, 2)
    h.read(1, [0, 1, 0, 0], 3, 4)
    h.read(1, [0, 1, 1], 5, 6)
    r = check(None, h.ops)
    assert r["valid?"] is True and r["duplicated-count"] == 0
    assert r["read-duplicates-count"] == 2
    assert r["read-duplicates"] == [[0, 3], [1, 2]]


def test_nemesis_ops_and_unknown_read_values_are_ignored():
    h = H()
    h.add("info", "start-partition", "nemesis", kw("one"), 0)
    h.broadcast(0, 0, 0, 1)
    h.read(1, [0, 99], 2, 3)
    r = check(None, h.ops)
    assert r["valid?"] is True and r["attempt-count"] == 1


def test_worst_stale_is_descending_with_ties_in_reverse_element_order_and_capped_at_8():
    h = H()
    for v in range(10):
        h.broadcast(0, v, 0, 1)
    h.read(1, [], 50, 51)
    h.read(1, list(range(10)), 60, 61)
    h.broadcast(0, 10, 62, 63)
    h.read(1, list(range(10)), 100, 101)
    h.read(1, list(range(11)), 200, 201)
    r = check(None, h.ops)
    assert r["stale-count"] == 11
    assert [w["element"] for w in r["worst-stale"]] == [9, 8, 7, 6, 5, 4, 3, 2]
    assert r["worst-stale"][0]["stable-latency"] == 49


def test_quantiles_take_floor_index_clipped_to_the_last():
    assert quantiles([5]) == {0: 5, 0.5: 5, 0.95: 5, 0.99: 5, 1: 5}
    assert quantiles([4, 1, 3, 2]) == {0: 1, 0.5: 3, 0.95: 4, 0.99: 4, 1: 4}
    values = list(range(100))
    assert quantiles(values) == {0: 0, 0.5: 50, 0.95: 95, 0.99: 99, 1: 99}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3)), min_size=1, max_size=40), st.data())
def test_a_correct_set_never_loses_and_a_forgotten_value_is_always_lost(steps, data):
    """Simulate a correct single-copy set; then make one node forget one acknowledged value."""
    h = H()
    stored: list[int] = []
    t = 0.0
    next_value = 0
    for is_add, p in steps:
        t += 1
        if is_add:
            h.broadcast(p, next_value, t, t + 0.5)
            stored.append(next_value)
            next_value += 1
        else:
            h.read(p, list(stored), t, t + 0.5)
    h.read(0, list(stored), t + 1, t + 1.5)
    good = check(None, h.ops)
    assert good["lost-count"] == 0 and good["stale-count"] == 0
    assert good["valid?"] is (True if stored else UNKNOWN)
    if stored:
        forgotten = data.draw(st.sampled_from(stored))
        h.read(1, [v for v in stored if v != forgotten], t + 2, t + 2.5)
        bad = check(None, h.ops)
        assert bad["valid?"] is False and bad["lost"] == [forgotten]
