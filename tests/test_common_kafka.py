"""engines.kafka: log slices for poll_ok, running-max commits, and the in-memory LocalLogs."""

from __future__ import annotations

from engines.kafka import LocalLogs, entries_from, raise_offsets


def test_entries_from_is_a_bounded_slice_with_offsets() -> None:
    log = ["a", "b", "c", "d"]
    assert entries_from(log, 1, 2) == [[1, "b"], [2, "c"]]
    assert entries_from(log, 2, 100) == [[2, "c"], [3, "d"]]
    assert entries_from(log, 4, 100) == []
    assert entries_from([], 0, 100) == []


def test_entries_from_treats_a_negative_start_as_zero() -> None:
    assert entries_from(["a", "b", "c"], -5, 2) == [[0, "a"], [1, "b"]]


def test_raise_offsets_never_lowers_and_reports_only_the_keys_that_rose() -> None:
    committed = {"k1": 5, "k2": 3}
    assert raise_offsets(committed, {"k1": 4, "k2": 3, "k3": 0, "k4": 7}) == ["k3", "k4"]
    assert committed == {"k1": 5, "k2": 3, "k3": 0, "k4": 7}
    assert raise_offsets(committed, {"k1": 6}) == ["k1"]
    assert committed["k1"] == 6


def test_local_logs_append_gives_consecutive_offsets_per_key() -> None:
    local = LocalLogs(max_poll=10)
    assert [local.append("a", v) for v in (10, 11, 12)] == [0, 1, 2]
    assert local.append("b", 20) == 0
    assert local.logs == {"a": [10, 11, 12], "b": [20]}


def test_local_logs_poll_slices_each_key_and_leaves_out_keys_with_nothing_new() -> None:
    local = LocalLogs(max_poll=2)
    for v in (10, 11, 12):
        local.append("a", v)
    local.append("b", 20)
    msgs = local.poll({"a": 1, "b": 1, "never-written": 0})
    assert msgs == {"a": [[1, 11], [2, 12]]}
    assert local.poll({"a": 0}) == {"a": [[0, 10], [1, 11]]}  # max_poll bounds each key


def test_local_logs_commit_is_a_running_max_and_lists_only_committed_keys() -> None:
    local = LocalLogs(max_poll=10)
    assert local.commit({"a": 3, "b": 1}) == ["a", "b"]
    assert local.commit({"a": 2, "b": 4}) == ["b"]
    assert local.committed_offsets(["a", "b", "c"]) == {"a": 3, "b": 4}
    assert local.committed_offsets([]) == {}
