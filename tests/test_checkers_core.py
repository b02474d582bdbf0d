"""Generic checkers: composition, stats (with the :crash rule), availability, exceptions, perf."""

from __future__ import annotations

from harness.checkers.core import (
    availability,
    check_all,
    check_safe,
    compose,
    exceptions,
    merge_valid,
    perf,
    quantile,
    stats,
)
from harness.history import UNKNOWN, Op, kw
from harness.options import TestOptions as Options


def h(*specs):
    """Ops from (type, f, process, value, time_ms[, extra]) tuples, indexed in order."""
    ops = []
    for i, (t, f, p, v, ms, *rest) in enumerate(specs):
        ops.append(Op(t, f, p, v, int(ms * 1e6), i, extra=rest[0] if rest else {}))
    return ops


def test_merge_valid_and_compose():
    assert merge_valid() is True and merge_valid(True, True) is True
    assert merge_valid(True, UNKNOWN) == UNKNOWN and merge_valid(UNKNOWN, False, True) is False
    assert merge_valid(None) == UNKNOWN
    out = compose({"a": {"valid?": True}, "b": {"valid?": UNKNOWN}})
    assert list(out) == ["a", "b", "valid?"] and out["valid?"] == UNKNOWN


def test_check_safe_turns_exceptions_into_unknown():
    def boom():
        raise ValueError("nope")

    r = check_safe(boom)
    assert r["valid?"] == UNKNOWN and "ValueError: nope" in r["error"]
    assert check_safe(lambda x: {"valid?": x}, True) == {"valid?": True}


def test_stats_counts_and_every_f_needs_an_ok():
    hist = h(
        ("invoke", "read", 0, None, 0),
        ("ok", "read", 0, [1], 1),
        ("invoke", "add", 1, 1, 2),
        ("info", "add", 1, 1, 3),
        ("invoke", "add", 2, 2, 4),
        ("fail", "add", 2, 2, 5),
        ("info", "start-partition", "nemesis", None, 6),
    )
    s = stats(hist)
    assert (s["count"], s["ok-count"], s["fail-count"], s["info-count"]) == (3, 1, 1, 1)
    assert list(s["by-f"]) == ["add", "read"]
    assert s["by-f"]["add"] == {"valid?": False, "count": 2, "ok-count": 0, "fail-count": 1, "info-count": 1}
    assert s["valid?"] is False
    assert stats(hist[:2])["valid?"] is True


def test_stats_ignores_crash_like_maelstrom():
    hist = h(("invoke", "crash", 0, None, 0), ("info", "crash", 0, None, 1))
    hist += h(("invoke", "send", 1, 1, 2), ("ok", "send", 1, 1, 3))
    s = stats(hist)
    assert s["by-f"]["crash"]["valid?"] is False and s["valid?"] is True


def test_availability():
    hist = h(
        ("invoke", "generate", 0, None, 0),
        ("ok", "generate", 0, 1, 1),
        ("invoke", "generate", 0, None, 2),
        ("info", "generate", 0, None, 3),
        ("info", "start-partition", "nemesis", None, 4),
    )
    assert availability(Options(), hist) == {"valid?": True, "ok-fraction": 0.5}
    assert availability(Options(availability="total"), hist)["valid?"] is False
    assert availability(Options(availability="total"), hist[:2])["valid?"] is True
    assert availability(Options(availability=0.5), hist)["valid?"] is True
    assert availability(Options(availability="0.6"), hist)["valid?"] is False
    assert availability(Options(availability="total"), [])["ok-fraction"] == 1.0


def test_exceptions_grouped_by_first_via_type():
    def exc(cls):
        return {"exception": {kw("via"): [{kw("type"): cls, kw("message"): "m"}]}}

    hist = h(
        ("info", "read", 0, None, 1, exc("A")),
        ("info", "read", 1, None, 2, exc("B")),
        ("info", "read", 2, None, 3, {"exception": {"via": [{"type": "B"}]}}),
        ("ok", "read", 3, None, 4),
    )
    r = exceptions(hist)
    assert r["valid?"] is True
    assert [(e["class"], e["count"]) for e in r["exceptions"]] == [("B", 2), ("A", 1)]
    assert r["exceptions"][0]["example"] is hist[1]
    assert exceptions(hist[3:]) == {"valid?": True}


def test_quantile_and_perf_latencies():
    assert quantile([1, 2, 3, 4], 0.5) == 3 and quantile([1, 2, 3, 4], 1) == 4 and quantile([7], 0.99) == 7
    hist = []
    for i in range(10):
        hist += h(("invoke", "echo", 0, "x", 100 * i), ("ok", "echo", 0, "x", 100 * i + i + 1))
    hist += h(("invoke", "echo", 1, "y", 0), ("info", "echo", 1, "y", 5000))
    p = perf(hist)
    assert (
        p["valid?"] is True and p["latency-graph"] == {"valid?": True} and p["rate-graph"] == {"valid?": True}
    )
    assert p["latencies"]["echo"] == {0.5: 6.0, 0.95: 10.0, 0.99: 10.0, 1: 10.0}  # the :info op is left out


def test_check_all_order_and_verdict():
    hist = h(("invoke", "echo", 0, "x", 0), ("ok", "echo", 0, {"echo": "x"}, 1))
    r = check_all(Options(), hist, {"valid?": True}, net={"valid?": True}, extra={"nodes": {"valid?": True}})
    assert list(r) == [
        "perf",
        "timeline",
        "exceptions",
        "stats",
        "availability",
        "net",
        "nodes",
        "workload",
        "valid?",
    ]
    assert r["valid?"] is True
    assert check_all(Options(), hist, {"valid?": False})["valid?"] is False
    assert check_all(Options(), hist, {"valid?": UNKNOWN, "error": "x"})["valid?"] == UNKNOWN
    assert "net" not in check_all(Options(), hist, {"valid?": True})
