"""The counter checker against hand-made histories (both ways) and a brute-force subset oracle."""

from __future__ import annotations

from itertools import combinations, pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checkers.counter import acceptable_ranges, check
from harness.history import Op


def _ops(*entries: tuple[str, str, int, object, bool]) -> list[Op]:
    """(type, f, process, value, final?) tuples -> an indexed history."""
    history = []
    for i, (type_, f, process, value, final) in enumerate(entries):
        extra = {"final?": True} if final else {}
        history.append(Op(type_, f, process, value, time=i, index=i, extra=extra))
    return history


def _add(process: int, delta: int, outcome: str) -> list[tuple]:
    return [("invoke", "add", process, delta, False), (outcome, "add", process, delta, False)]


def _final_read(process: int, value: object) -> list[tuple]:
    return [("invoke", "read", process, None, True), ("ok", "read", process, value, True)]


def test_exact_final_reads_are_valid_and_exact() -> None:
    history = _ops(*_add(0, 3, "ok"), *_add(1, 4, "ok"), *_final_read(0, 7), *_final_read(1, 7))
    result = check(None, history)
    assert result["valid?"] is True
    assert result["errors"] is None
    assert result["final-reads"] == [7, 7]
    assert result["acceptable"] == [[7, 7]]
    assert result["final-reads-exact?"] is True
    assert result["indeterminate-adds"] == 0


def test_lost_add_is_caught() -> None:
    history = _ops(*_add(0, 3, "ok"), *_add(1, 4, "ok"), *_final_read(0, 7), *_final_read(1, 3))
    result = check(None, history)
    assert result["valid?"] is False
    assert [op.value for op in result["errors"]] == [3]
    assert result["final-reads-exact?"] is False


def test_over_count_is_caught() -> None:
    history = _ops(*_add(0, 2, "ok"), *_final_read(0, 4))
    assert check(None, history)["valid?"] is False


def test_info_adds_widen_acceptable_set_as_disjoint_ranges() -> None:
    # Emmanuel32's 043937 run: three info adds 3, 4, 3 give ([0 0] [3 4] [6 7] [10 10]).
    history = _ops(*_add(0, 3, "info"), *_add(1, 4, "info"), *_add(2, 3, "info"))
    result = check(None, history)
    assert result["acceptable"] == [[0, 0], [3, 4], [6, 7], [10, 10]]
    assert result["valid?"] is True  # no final reads: nothing to contradict
    assert result["final-reads"] == []
    assert result["indeterminate-adds"] == 3
    assert result["final-reads-exact?"] is False  # no final read, so nothing was shown exact


def test_read_in_a_gap_between_ranges_is_invalid() -> None:
    base = [*_add(0, 3, "info"), *_add(1, 4, "info")]  # acceptable {0, 3, 4, 7}
    assert check(None, _ops(*base, *_final_read(0, 4)))["valid?"] is True
    assert check(None, _ops(*base, *_final_read(0, 5)))["valid?"] is False


def test_non_final_and_failed_reads_are_ignored() -> None:
    history = _ops(
        *_add(0, 5, "ok"),
        ("invoke", "read", 1, None, False),
        ("ok", "read", 1, 999, False),  # stale mid-run read: not checked
        ("invoke", "read", 2, None, True),
        ("info", "read", 2, None, True),  # a final read that timed out: not checked
        *_final_read(0, 5),
    )
    result = check(None, history)
    assert result["valid?"] is True
    assert result["final-reads"] == [5]


def test_final_flag_on_invocation_only_is_enough() -> None:
    history = _ops(*_add(0, 5, "ok"), ("invoke", "read", 0, None, True), ("ok", "read", 0, 4, False))
    assert check(None, history)["valid?"] is False


def test_non_integer_final_read_is_an_error() -> None:
    history = _ops(*_add(0, 5, "ok"), *_final_read(0, "5"))
    assert check(None, history)["valid?"] is False


def test_adjacent_ranges_coalesce_like_guava_open_ranges() -> None:
    assert acceptable_ranges(0, [1]) == [[0, 1]]
    assert acceptable_ranges(10, [2, 2]) == [[10, 10], [12, 12], [14, 14]]
    assert acceptable_ranges(0, [1, 2]) == [[0, 3]]
    assert acceptable_ranges(0, [-2, 5]) == [[-2, -2], [0, 0], [3, 3], [5, 5]]
    assert acceptable_ranges(4, [0, 0]) == [[4, 4]]


@settings(max_examples=200, deadline=None)
@given(st.integers(-20, 20), st.lists(st.integers(-5, 9), max_size=7))
def test_ranges_equal_brute_force_subset_sums(definite: int, deltas: list[int]) -> None:
    sums = {definite + sum(c) for k in range(len(deltas) + 1) for c in combinations(deltas, k)}
    ranges = acceptable_ranges(definite, deltas)
    covered = {v for lo, hi in ranges for v in range(lo, hi + 1)}
    assert covered == sums
    # disjoint, sorted, and never adjacent (adjacent ones must have been merged)
    for (_, hi), (lo, _) in pairwise(ranges):
        assert lo > hi + 1
