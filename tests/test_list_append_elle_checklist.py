"""Elle 0.2.2's own list-append test cases (test/elle/list_append_test.clj, the version Maelstrom
0.2.4 uses through Jepsen 0.3.7) as a checklist: for each case it demonstrates, our own history of
the same shape, and our checker must reach the same verdict, anomaly types, ``not`` boundary and,
where Elle pins them, the same cycle (up to where it starts) and step explanations.

Histories are written in a small notation of our own: ``"ax1ry12"`` is a txn appending 1 to x and
reading y = [1, 2]; ``"rx"`` reads x and sees nil.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from harness.checkers.elle.graph import RW, WR, WW
from harness.checkers.list_append import ELLIPSIS, INIT, _Analysis, _internal_case, elle_check
from harness.history import UNKNOWN, Op, kw

R, A = kw("r"), kw("append")


def txn(notation: str) -> list[list[Any]]:
    """``"ax1ry12rz"`` -> ``[[:append "x" 1], [:r "y" [1, 2]], [:r "z" None]]``."""
    mops: list[list[Any]] = []
    for f, k, digits in re.findall(r"([ar])([a-z])(\d*)", notation):
        if f == "a":
            mops.append([A, k, int(digits)])
        else:
            mops.append([R, k, [int(d) for d in digits] if digits else None])
    return mops


def ok(notation: str, process: int = 0, typ: str = "ok") -> Op:
    return Op(typ, "txn", process, txn(notation))


def invocation(op: Op) -> Op:
    return Op("invoke", "txn", op.process, [[f, k, None if f == R else v] for f, k, v in op.value])


def pair(op: Op) -> list[Op]:
    return [invocation(op), op]


def history(*ops: Op) -> list[Op]:
    """Ops numbered in order (index and time), as Jepsen's history does."""
    return [Op(o.type, o.f, o.process, o.value, time=i, index=i) for i, o in enumerate(ops)]


def pairs(*notations: str) -> list[Op]:
    return history(*(o for n in notations for o in pair(ok(n))))


def check(h: list[Op], models: tuple[str, ...] | None = ("strict-serializable",), anomalies=()) -> dict:
    result, _ = elle_check(h, models or (), anomalies=anomalies)
    return result


def summary(result: dict) -> tuple[Any, list[str], set[str]]:
    return (
        result["valid?"],
        [t.name for t in result.get("anomaly-types", [])],
        {m.name for m in result.get("not", ())},
    )


def step(type_: str, key: Any = None, value: Any = None, value2: Any = "-", a: int = 0, b: int = 0) -> dict:
    s: dict[str, Any] = {"type": kw(type_), "key": key, "value": value, "a-mop-index": a, "b-mop-index": b}
    if value2 != "-":
        s["value'"] = value2
    return s


def assert_cycle(case: dict, h: list[Op], indices: list[int], steps: list[dict], type_: str) -> None:
    """``case`` is Elle's cycle through ops ``indices`` (first repeated last) with these steps; Elle
    and we may start the ring at different ops, so ours is rotated to begin where Elle's does."""
    assert case["type"] == kw(type_)
    ours = [op.index for op in case["cycle"]]
    assert ours[0] == ours[-1] and indices[0] == indices[-1]
    ring = ours[:-1]
    assert indices[0] in ring, (ours, indices)
    shift = ring.index(indices[0])
    assert [*ring[shift:], *ring[:shift], indices[0]] == indices
    ours_steps = case["steps"][shift:] + case["steps"][:shift]
    for got, want in zip(ours_steps, steps, strict=True):
        if want["type"] == kw("realtime"):
            assert got["type"] == want["type"] and got["a'"] == want["a'"] and got["b"] == want["b"]
        elif want["type"] == kw("process"):
            assert got == want
        else:
            assert {k: got.get(k) for k in want} == want


def edges(h: list[Op], rel: int = WW | WR | RW) -> dict[int, set[int]]:
    """The list-append dependency graph (no realtime/process order) as index -> successor indices,
    every op that has an edge present (Elle's graph-test shape)."""
    a = _Analysis(h, [], (), 1.0)
    a.per_op()
    g = a.graph(a.version_orders())
    out: dict[int, set[int]] = {}
    for v, row in g.out.items():
        for w, mask in row.items():
            if mask & rel:
                out.setdefault(a.ops[v].index, set()).add(a.ops[w].index)
                out.setdefault(a.ops[w].index, set())
    return out


# ---- graph tests (ww-graph-test, wr-graph-test, graph-test)


def test_ww_and_wr_graphs() -> None:
    assert edges(history(ok("ax1"), ok("ax2"), ok("rx12")), WW) == {0: {1}, 1: set()}
    assert edges(history(ok("ax1"), ok("rx1"), ok("ax2"), ok("rx12")), WR) == {
        0: {1},
        1: set(),
        2: {3},
        3: set(),
    }


@pytest.mark.parametrize(
    ("notations", "expected"),
    [
        ([], {}),  # empty history
        (["ax1"], {}),  # one append
        (["rx"], {}),  # empty read
        (["ax1", "rx1"], {0: {1}, 1: set()}),  # one append, one read
        (["rx", "ax1", "rx1"], {0: {1}, 1: {2}, 2: set()}),  # read empty, append, read (rw, wr)
        (["ax2", "ax1", "rx12"], {1: {0}, 0: {2}, 2: set()}),  # append, append, read (ww, wr)
        # Adya, Liskov and O'Neil's figure 3 (serializable)
        (["az1ax1ay1", "rx1ay2", "ry12az3", "rz13"], {0: {1, 2}, 1: {2}, 2: {3}, 3: set()}),
        (["ax1ay1", "ax2ay2", "rx12ry21"], {0: {1, 2}, 1: {0, 2}, 2: set()}),  # G0
        (["ax1ry1", "ax2ay1", "rx12"], {0: {1}, 1: {2, 0}, 2: set()}),  # G1c
        (["rxay1", "ryax1", "rx1ry1"], {0: {1, 2}, 1: {0, 2}, 2: set()}),  # G2
        (["rx", "ax1"], {0: {1}, 1: set()}),  # a single unread append still follows the empty read
        (["rx", "ax1", "ax2"], {0: {1, 2}, 1: set(), 2: set()}),  # several unread appends too
    ],
)
def test_graph(notations: list[str], expected: dict[int, set[int]]) -> None:
    assert edges(history(*(ok(n) for n in notations))) == expected


def test_graph_info_reads_say_nothing() -> None:
    # an info txn's nil read is the invocation's placeholder, not an observation of the empty list
    h = history(ok("ax2ry", typ="info"), ok("ax1ay1"), ok("rx12ry1"))
    assert edges(h) == {0: {2}, 1: {2, 0}, 2: set()}


def test_graph_g2_explained_in_words() -> None:
    from harness.checkers.elle.explain import explain_text

    h = history(ok("rxay1"), ok("ryax1"), ok("rx1ry1"))
    result = check(h, ("serializable",))
    text = explain_text(result["anomalies"]["G2-item"][0], verb="appended")
    assert "initial" in text and "contradiction" in text


def test_duplicate_append_attempts_are_an_error() -> None:
    h = history(
        Op("invoke", "txn", 0, [[A, "x", 1], [R, "y", None]]),
        Op("invoke", "txn", 1, [[A, "y", 2], [A, "x", 1]]),
        Op("ok", "txn", 0, [[A, "x", 1], [R, "y", None]]),
        Op("ok", "txn", 1, [[A, "y", 2], [A, "x", 1]]),
    )
    with pytest.raises(ValueError, match="duplicate appends"):
        elle_check(h)


# ---- g1a-cases-test, g1b-cases-test, internal-cases-test


def anomalies(h: list[Op]) -> dict[str, Any]:
    """The per-op anomalies alone (Elle's tests call g1a-cases, g1b-cases and internal-cases
    directly: these histories read elements nobody appended, which the full check refuses)."""
    a = _Analysis(h, ["strict-serializable"], (), 1.0)
    a.per_op()
    return a.anomalies


def test_g1a_cases() -> None:
    assert "G1a" not in anomalies(history())
    h = history(ok("rx1ax2"), ok("rx12ry3"), ok("ax1", typ="fail"))
    cases = anomalies(h)["G1a"]
    assert [(c["op"].index, c["mop"], c["writer"].index, c["element"]) for c in cases] == [
        (0, [R, "x", [1]], 2, 1),
        (1, [R, "x", [1, 2]], 2, 1),
    ]


def test_g1b_cases() -> None:
    assert "G1b" not in anomalies(history())
    h = history(ok("rx1"), ok("rx12ry3"), ok("ax1ax2"), ok("rx123"))
    cases = anomalies(h)["G1b"]
    assert [(c["op"].index, c["mop"], c["writer"].index, c["element"]) for c in cases] == [
        (0, [R, "x", [1]], 2, 1)
    ]
    assert "G1b" not in anomalies(history(ok("ax1rx1ax2")))  # a txn may read its own intermediate state


def internal_cases(*ops: Op) -> list[tuple[int, Any, Any]]:
    # per txn, as Elle's internal-cases (these txns all append 3 to x, which the full check refuses)
    cases = [_internal_case(op) for op in history(*ops) if op.type == "ok"]
    return [(c["op"].index, c["mop"], c["expected"]) for c in cases if c is not None]


def test_internal_cases() -> None:
    assert internal_cases() == []
    good = Op(
        "ok",
        "txn",
        0,
        [[R, "y", [5, 6]], [A, "x", 3], [R, "x", [1, 2, 3]], [A, "x", 4], [R, "x", [1, 2, 3, 4]]],
    )
    assert internal_cases(good) == []
    # read, append, read: stale, wrong prefix, extended, short
    rar = [ok(f"rx12ax3rx{tail}") for tail in ("12", "023", "1234", "1")]
    assert internal_cases(*rar) == [
        (0, [R, "x", [1, 2]], [1, 2, 3]),
        (1, [R, "x", [0, 2, 3]], [1, 2, 3]),
        (2, [R, "x", [1, 2, 3, 4]], [1, 2, 3]),
        (3, [R, "x", [1]], [1, 2, 3]),
    ]
    # append, read: the read must end with the append (unknown prefix)
    ar = [ok("ax3rx1234"), Op("ok", "txn", 0, [[A, "x", 3], [R, "x", []]])]
    assert internal_cases(*ar) == [
        (0, [R, "x", [1, 2, 3, 4]], [ELLIPSIS, 3]),
        (1, [R, "x", []], [ELLIPSIS, 3]),
    ]
    # an append then a nil read (the FaunaDB example): only the ok completion counts
    fauna = [Op("invoke", "txn", 1, [[A, 0, 6], [R, 0, None]]), Op("ok", "txn", 1, [[A, 0, 6], [R, 0, None]])]
    assert internal_cases(*fauna) == [(1, [R, 0, None], [ELLIPSIS, 6])]


def future_reads(h: list[Op]) -> list[tuple[int, Any, Any]]:
    return [(c["op"].index, c["mop"], c["element"]) for c in anomalies(h).get("future-read", [])]


def test_future_reads() -> None:
    # a read holding an element the txn appends later (external read) ...
    assert future_reads(history(*pair(ok("rx012ax1")))) == [(1, [R, "x", [0, 1, 2]], 1)]
    # ... or after its own appends: one case per txn, at the first append already read
    h = history(*pair(ok("ax1rx01ax0ax3")))
    assert future_reads(h) == [(1, [R, "x", [0, 1]], 0)]
    assert "internal" not in anomalies(h)


# ---- checker-test


def test_g0() -> None:
    h = history(ok("ax1ay1"), ok("ax2ay2"), ok("rx12ry21"))
    for asked in (["G0"], ["G1"]):
        r = check(h, None, asked)
        assert summary(r) == (False, ["G0"], {"read-uncommitted"})
        steps = [step("ww", "x", 1, 2, 0, 0), step("ww", "y", 2, 1, 1, 1)]
        assert_cycle(r["anomalies"]["G0"][0], h, [0, 1, 0], steps, "G0")
    assert check(h, None, ["G2"]) == {"valid?": True}  # G2 does not include G0


def test_g1a() -> None:
    h = history(ok("ax1", typ="fail"), ok("rx1"))
    empty = (UNKNOWN, ["empty-transaction-graph"], {"read-committed"})
    assert summary(check(h, ("read-uncommitted",))) == empty
    assert summary(check(h, None, ["G2"])) == empty
    for model in ("read-committed", "repeatable-read"):
        r = check(h, (model,))
        assert summary(r) == (False, ["G1a", "empty-transaction-graph"], {"read-committed"})
        (case,) = r["anomalies"]["G1a"]
        assert (case["op"].index, case["writer"].index, case["mop"], case["element"]) == (
            1,
            0,
            [R, "x", [1]],
            1,
        )


def test_g1b() -> None:
    h = pairs("ax1ax2", "rx1")
    assert check(h, None, ["G0"]) == {"valid?": True}
    r = check(h, None, ["G1"])
    assert summary(r) == (False, ["G1b"], {"read-committed"})
    (case,) = r["anomalies"]["G1b"]
    assert (case["op"].index, case["writer"].index, case["mop"], case["element"]) == (3, 1, [R, "x", [1]], 1)
    # G2 catches the G-single (rx1 saw 1 but not 2) but does not report G1b
    assert summary(check(h, None, ["G2"])) == (False, ["G-single-item"], {"read-committed"})
    r = check(h)
    assert summary(r) == (False, ["G-single-item", "G1b"], {"read-committed"})
    steps = [step("rw", "x", 1, 2, 0, 1), step("wr", "x", 1, "-", 0, 0)]
    assert_cycle(r["anomalies"]["G-single-item"][0], h, [3, 1, 3], steps, "G-single-item")


def test_g1c() -> None:
    h = history(ok("ax1ry1"), ok("ax2ay1"), ok("rx12"))
    assert check(h, None, ["G0"]) == {"valid?": True}
    r = check(h, None, ["G1"])
    assert summary(r) == (False, ["G1c"], {"read-committed"})
    steps = [step("wr", "y", 1, "-", 1, 1), step("ww", "x", 1, 2, 0, 0)]
    assert_cycle(r["anomalies"]["G1c"][0], h, [1, 0, 1], steps, "G1c")
    assert check(h, None, ["G2"]) == {"valid?": True}


def test_g_single() -> None:
    h = history(ok("ax1ay1"), ok("ax2ry"), ok("rx12"))
    assert check(h, None, ["G0"]) == {"valid?": True}
    assert check(h, None, ["G1"]) == {"valid?": True}
    for asked in (["G-single"], ["G2"]):
        r = check(h, None, asked)
        assert summary(r) == (False, ["G-single-item"], {"consistent-view", "repeatable-read"})
        steps = [step("rw", "y", INIT, 1, 1, 1), step("ww", "x", 1, 2, 0, 0)]
        assert_cycle(r["anomalies"]["G-single-item"][0], h, [1, 0, 1], steps, "G-single-item")


def test_g2() -> None:
    h = history(ok("ax1ry"), ok("ay1rx"))
    assert check(h, None, ["G0"]) == {"valid?": True}
    assert check(h, None, ["G1"]) == {"valid?": True}
    assert check(h, ("read-committed",)) == {"valid?": True}
    for r in (check(h, None, ["G2"]), check(h, ("serializable",)), check(h, ("repeatable-read",))):
        assert summary(r) == (False, ["G2-item"], {"repeatable-read"})
        steps = [step("rw", "y", INIT, 1, 1, 0), step("rw", "x", INIT, 1, 1, 0)]
        assert_cycle(r["anomalies"]["G2-item"][0], h, [0, 1, 0], steps, "G2-item")


def _stale_read_history(reader_process: int) -> list[Op]:
    # x: 1 then 2; the reader of [1] starts after the append of 2 completed
    return history(
        Op("invoke", "txn", 0, [[A, "x", 1]]),
        Op("ok", "txn", 0, [[A, "x", 1]]),
        Op("invoke", "txn", 1, [[A, "x", 2]]),
        Op("ok", "txn", 1, [[A, "x", 2]]),
        Op("invoke", "txn", reader_process, [[R, "x", None]]),
        Op("ok", "txn", reader_process, [[R, "x", [1]]]),
        Op("invoke", "txn", 3, [[R, "x", None]]),
        Op("ok", "txn", 3, [[R, "x", [1, 2]]]),
    )


def test_strong_snapshot_isolation_violation() -> None:
    h = _stale_read_history(reader_process=2)
    assert check(h, None, ["G2"]) == {"valid?": True}
    assert check(h, ("serializable",)) == {"valid?": True}
    r = check(h)
    assert summary(r) == (False, ["G-single-item-realtime"], {"strong-snapshot-isolation"})
    (case,) = r["anomalies"]["G-single-item-realtime"]
    assert_cycle(
        case,
        h,
        [5, 3, 5],
        [step("rw", "x", 1, 2, 0, 0), {"type": kw("realtime"), "a'": h[3], "b": h[4]}],
        "G-single-item-realtime",
    )
    from harness.checkers.elle.explain import explain_text

    assert "completed (index 3)" in explain_text(case) and "invoked (index 4)" in explain_text(case)


def test_strong_session_snapshot_isolation_violation() -> None:
    h = _stale_read_history(reader_process=1)
    assert check(h, ("serializable",)) == {"valid?": True}
    r = check(h, ("strong-session-snapshot-isolation",))
    assert summary(r) == (False, ["G-single-item-process"], {"strong-session-snapshot-isolation"})
    steps = [step("rw", "x", 1, 2, 0, 0), {"type": kw("process"), "process": 1}]
    assert_cycle(r["anomalies"]["G-single-item-process"][0], h, [5, 3, 5], steps, "G-single-item-process")


def test_g_nonadjacent_process() -> None:
    h = history(
        Op("invoke", "txn", 0, [[R, "x", None], [R, "z", None]]),
        Op("ok", "txn", 0, [[R, "x", None], [R, "z", [1]]]),  # wr: sees the append to z
        Op("invoke", "txn", 1, [[A, "x", 1]]),
        Op("ok", "txn", 1, [[A, "x", 1]]),  # rw: op 1 missed this append to x
        Op("invoke", "txn", 1, [[R, "z", None]]),
        Op("ok", "txn", 1, [[R, "z", None]]),  # process order after op 3
        Op("invoke", "txn", 2, [[A, "z", 1]]),
        Op("ok", "txn", 2, [[A, "z", 1]]),  # rw: op 5 missed this append to z
    )
    assert check(h, ("serializable",)) == {"valid?": True}
    r = check(h, ("strong-session-snapshot-isolation",))
    assert summary(r) == (False, ["G-nonadjacent-item-process"], {"strong-session-snapshot-isolation"})
    steps = [
        step("rw", "z", INIT, 1, 0, 0),
        step("wr", "z", 1, "-", 0, 1),
        step("rw", "x", INIT, 1, 0, 0),
        {"type": kw("process"), "process": 1},
    ]
    assert_cycle(
        r["anomalies"]["G-nonadjacent-item-process"][0],
        h,
        [5, 7, 1, 3, 5],
        steps,
        "G-nonadjacent-item-process",
    )


def test_contradictory_read_orders() -> None:
    h = history(ok("ax1ry1"), ok("ax2"), ok("ax3ay1"), ok("rx13"), ok("rx123"))
    r = check(h, None, ["G1"])
    assert summary(r) == (False, ["G1c", "incompatible-order"], {"read-committed"})
    assert r["anomalies"]["incompatible-order"] == [{"key": "x", "values": [[1, 3], [1, 2, 3]]}]
    steps = [step("wr", "y", 1, "-", 1, 1), step("ww", "x", 1, 2, 0, 0), step("ww", "x", 2, 3, 0, 0)]
    assert_cycle(r["anomalies"]["G1c"][0], h, [2, 0, 1, 2], steps, "G1c")


def test_dirty_update() -> None:
    none = check(history(ok("ax1", typ="fail")), None, ["dirty-update"])
    assert summary(none) == (UNKNOWN, ["empty-transaction-graph"], set())
    direct = history(ok("ax1", 0, "fail"), ok("ax2", 1), ok("rx12", 2))
    r = check(direct, None, ["dirty-update"])
    assert summary(r) == (False, ["dirty-update"], {"read-committed"})
    assert r["anomalies"]["dirty-update"] == [
        {"key": "x", "values": [1, 2], "txns": [direct[0], ELLIPSIS, direct[1]]}
    ]
    # through an info append, whose fate we cannot know: the case spans all three values
    indirect = history(ok("ax1", 0, "fail"), ok("ax2", 1, "info"), ok("ax3", 2), ok("rx123", 3))
    r = check(indirect, None, ["dirty-update"])
    assert summary(r) == (False, ["dirty-update"], {"read-committed"})
    assert r["anomalies"]["dirty-update"] == [
        {"key": "x", "values": [1, 2, 3], "txns": [indirect[0], ELLIPSIS, indirect[2]]}
    ]


def test_duplicated_elements() -> None:
    h = history(ok("ax1ry1"), ok("ax2ay1"), ok("rx121"))
    r = check(h, ("read-committed",))
    assert summary(r) == (False, ["G1c", "duplicate-elements"], {"read-uncommitted"})
    (dup,) = r["anomalies"]["duplicate-elements"]
    assert (dup["op"].index, dup["mop"], dup["duplicates"]) == (2, [R, "x", [1, 2, 1]], {1: 2})
    steps = [step("wr", "y", 1, "-", 1, 1), step("ww", "x", 1, 2, 0, 0)]
    assert_cycle(r["anomalies"]["G1c"][0], h, [1, 0, 1], steps, "G1c")


def test_internal_consistency_violation() -> None:
    h = history(ok("ax1ax2ax4"), ok("ax3rx1234"))
    r = check(h, None, ["internal"])
    assert summary(r) == (False, ["internal"], {"read-uncommitted"})
    (case,) = r["anomalies"]["internal"]
    assert (case["op"].index, case["mop"], case["expected"]) == (1, [R, "x", [1, 2, 3, 4]], [ELLIPSIS, 3])


# ---- the other deftests


def test_unobserved_write() -> None:
    # rx12 orders w1 before w2 on x; ry2 never saw w1's append to y, so w1 follows w2 on y: G0.
    # ry also misses w1 (rw), which with w1 -ww-> w2 -wr-> ry is a G-single. w3 is a red herring.
    w1, w2, w3, rx, ry = (ok(n) for n in ("ax1ay1", "ax2ay2", "ax3ay3", "rx12", "ry2"))
    h = history(*(invocation(o) for o in (w1, w2, w3, rx, ry)), w1, w2, w3, rx, ry)
    r = check(h, ("serializable",))
    assert summary(r) == (False, ["G-single-item", "G0"], {"read-uncommitted"})
    steps = [step("rw", "y", 2, 1, 0, 1), step("ww", "x", 1, 2, 0, 0), step("wr", "y", 2, "-", 1, 0)]
    assert_cycle(r["anomalies"]["G-single-item"][0], h, [9, 5, 6, 9], steps, "G-single-item")
    steps = [step("ww", "y", 2, 1, 1, 1), step("ww", "x", 1, 2, 0, 0)]
    assert_cycle(r["anomalies"]["G0"][0], h, [6, 5, 6], steps, "G0")


def test_repeatable_read() -> None:
    h = history(ok("rxay1"), ok("ryax1"))
    assert check(h, ("read-committed",)) == {"valid?": True}
    r = check(h, ("repeatable-read",))
    assert summary(r) == (False, ["G2-item"], {"repeatable-read"})
    steps = [step("rw", "x", INIT, 1, 0, 1), step("rw", "y", INIT, 1, 0, 1)]
    assert_cycle(r["anomalies"]["G2-item"][0], h, [0, 1, 0], steps, "G2-item")


def test_g_nonadjacent() -> None:
    h = pairs("ax1", "rx1ry", "ay1", "ry1rx")
    r = check(h)
    assert summary(r) == (False, ["G-nonadjacent-item"], {"snapshot-isolation", "repeatable-read"})
    steps = [
        step("rw", "x", INIT, 1, 1, 0),
        step("wr", "x", 1, "-", 0, 0),
        step("rw", "y", INIT, 1, 1, 0),
        step("wr", "y", 1, "-", 0, 0),
    ]
    assert_cycle(r["anomalies"]["G-nonadjacent-item"][0], h, [7, 1, 3, 5, 7], steps, "G-nonadjacent-item")
    # rw rw wr rw wr: two of the rw edges are adjacent, so not G-nonadjacent; SI allows it
    assert check(pairs("rx5ay1", "ryaz2", "rzat3", "rt3au4", "ruax5"), ("snapshot-isolation",)) == {
        "valid?": True
    }


def test_lost_update() -> None:
    h = pairs("ax0", "rx0ax1", "rx0ax2")
    r = check(h)
    assert summary(r) == (False, ["G2-item", "lost-update"], {"update-atomic", "cursor-stability"})
    assert r["anomalies"]["lost-update"] == [{"key": "x", "value": [0], "txns": [h[3], h[5]]}]
    steps = [step("rw", "x", 0, 1, 0, 1), step("rw", "x", 0, 2, 0, 1)]
    assert_cycle(r["anomalies"]["G2-item"][0], h, [5, 3, 5], steps, "G2-item")
    # one txn appending twice over its read is no lost update
    assert check(pairs("rxax1ax2", "rx12")) == {"valid?": True}


def test_wr_process() -> None:
    # op 1 -wr-> op 3 -process-> op 5 -wr-> op 1: read committed across a session is broken
    h = history(
        Op("invoke", "txn", 1, [[R, "x"], [A, "y", 1]]),
        Op("ok", "txn", 1, [[R, "x", [1]], [A, "y", 1]]),
        Op("invoke", "txn", 2, [[R, "y"]]),
        Op("ok", "txn", 2, [[R, "y", [1]]]),
        Op("invoke", "txn", 2, [[A, "x", 1]]),
        Op("ok", "txn", 2, [[A, "x", 1]]),
    )
    r = check(h, ("strong-session-snapshot-isolation",))
    assert summary(r) == (False, ["G1c-process"], {"strong-session-read-committed"})
    steps = [
        step("wr", "x", 1, "-", 0, 0),
        step("wr", "y", 1, "-", 1, 0),
        {"type": kw("process"), "process": 2},
    ]
    assert_cycle(r["anomalies"]["G1c-process"][0], h, [5, 1, 3, 5], steps, "G1c-process")


def test_repeatable_read_forbids_g_single_item() -> None:
    h = pairs("ax1ay1", "rx1ry")
    r = check(h, ("repeatable-read",))
    assert summary(r) == (False, ["G-single-item"], {"consistent-view", "repeatable-read"})
    steps = [step("rw", "y", INIT, 1, 1, 1), step("wr", "x", 1, "-", 0, 0)]
    assert_cycle(r["anomalies"]["G-single-item"][0], h, [3, 1, 3], steps, "G-single-item")


def test_repeatable_read_forbids_g_nonadjacent_item() -> None:
    h = pairs("ax1at1", "rx1ry", "ay1az2", "rz2rt")
    r = check(h, ("repeatable-read",))
    assert summary(r) == (False, ["G-nonadjacent-item"], {"repeatable-read", "snapshot-isolation"})
    steps = [
        step("rw", "t", INIT, 1, 1, 1),
        step("wr", "x", 1, "-", 0, 0),
        step("rw", "y", INIT, 1, 1, 0),
        step("wr", "z", 2, "-", 1, 0),
    ]
    assert_cycle(r["anomalies"]["G-nonadjacent-item"][0], h, [7, 1, 3, 5, 7], steps, "G-nonadjacent-item")


def test_future_read_alone() -> None:
    h = history(
        Op("invoke", "txn", 0, [[R, "x", [1]], [A, "x", 1]]), Op("ok", "txn", 0, [[R, "x", [1]], [A, "x", 1]])
    )
    r = check(h, ("read-committed",))
    assert summary(r) == (False, ["empty-transaction-graph", "future-read"], {"read-committed"})
    assert r["anomalies"]["future-read"] == [{"op": h[1], "mop": [R, "x", [1]], "element": 1}]


def test_snapshot_isolation_with_repeatable_read_sees_only_the_g2_item() -> None:
    # (Elle checks a stored history here; ours is a write skew, which SI allows and RR forbids:
    # the sequential extension of ww/wr by rw must not invent an SI cycle through it.)
    h = pairs("rxryax1", "rxryay1", "rx1ry1")
    r = check(h, ("snapshot-isolation", "repeatable-read"))
    assert summary(r)[:2] == (False, ["G2-item"])
    assert summary(r)[2] == {"repeatable-read"}


def test_unfindable_g_single_falls_back_on_cycle_exists() -> None:
    # A ring of ww edges closed by one rw edge (a G-single), in a sea of G2-item noise: when the
    # cycle search times out, the cycle-exists pass still proves snapshot isolation broken.
    n, noise_n = 40, 6
    ring = []
    for i in range(n):
        second = [A, "anti", "first"] if i == 0 else [R, "anti", None] if i == n - 1 else [A, i, 0]
        ring.append(Op("ok", "txn", 0, [[A, "ring", i], second]))
    vo_read = [Op("ok", "txn", 1, [[R, "ring", list(range(n))]])]
    noise = []
    for i in range(1, n - 1):
        for j in range(1, noise_n):
            if j == noise_n - 2:
                value = [[R, i, list(range(noise_n - 2))], [R, ["anti", i], None]]
            elif j == noise_n - 1:
                value = [[A, ["anti", i], 0], [R, "ring", None]]
            else:
                value = [[A, i, j]]
            noise.append(Op("ok", "txn", 2, value))
    h = history(*(o for op in (*ring, *vo_read, *noise) for o in pair(op)))
    result, found = elle_check(h, ("snapshot-isolation",), cycle_search_timeout=0.0)
    (exists,) = found["PL-SI-cycle-exists"]
    assert exists["scc-size"] == n - 1  # the sequential extension leaves out the linchpin txn
    (timeout,) = result["anomalies"]["cycle-search-timeout"]
    assert (timeout["anomaly-spec-type"], timeout["does-not-contain"]) == (kw("G-single-item"), [])
    assert timeout["scc-size"] == len(h) // 2 - 1
    # Elle then shows one fallback cycle of the SCC, found by a depth-first walk whose choices
    # follow its graph library's vertex order; there it was a G2-item (which SI allows), so Elle
    # reported PL-SI-cycle-exists. Our walk (lowest op first) lands on the ring's G-single-item
    # itself, which makes PL-SI-cycle-exists redundant: same verdict, a more specific finding.
    assert summary(result) == (
        False,
        ["G-single-item", "cycle-search-timeout"],
        {"consistent-view", "repeatable-read"},
    )


# ---- behaviours found by reading Elle 0.2.2's source (each failed before the fix)


def test_serializable_forbids_what_pl3_forbids() -> None:
    # Elle lists serializable and PL-3 separately; both are PL-3, and their anomalies add up
    from harness.checkers.elle.models import anomalies_prohibited_by

    forbidden = anomalies_prohibited_by(["serializable"])
    assert {"G2", "PL-3-cycle-exists", "internal", "G2-item"} <= forbidden


def test_an_edge_both_ww_and_wr_is_explained_as_ww() -> None:
    # T1 -> T2 is ww (T2 appends 2 after T1's 1) and wr (T2 read T1's 1); T2 -ww-> T1 on y.
    # Elle's list-append explainer asks ww first, so the cycle is G0, which read-uncommitted forbids.
    h = history(ok("ax1ay2"), ok("rx1ax2ay1"), ok("rx12ry12"))
    r = check(h, ("read-uncommitted",))
    assert summary(r) == (False, ["G0"], {"read-uncommitted"})
    assert [s["type"] for s in r["anomalies"]["G0"][0]["steps"]] == [kw("ww"), kw("ww")]


def test_cycles_with_an_rw_edge_begin_with_it() -> None:
    r = check(pairs("ax1ax2", "rx1"))
    assert r["anomalies"]["G-single-item"][0]["steps"][0]["type"] == kw("rw")


def test_future_read_is_one_case_per_txn() -> None:
    h = history(*pair(ok("rx12ax1ax2")))
    assert future_reads(h) == [(1, [R, "x", [1, 2]], 1)]


def test_dirty_update_spans_from_the_first_failed_append() -> None:
    h = history(ok("ax1", 0, "fail"), ok("ax2", 1, "fail"), ok("ax3", 2), ok("rx123", 3))
    r = check(h, None, ["dirty-update"])
    assert r["anomalies"]["dirty-update"] == [
        {"key": "x", "values": [1, 2, 3], "txns": [h[0], ELLIPSIS, h[2]]}
    ]


def test_an_info_txns_empty_list_read_is_an_observation() -> None:
    # only a nil read of an info txn is the invocation's placeholder; [] was really read
    h = history(Op("info", "txn", 0, [[R, "x", []]]), ok("ax1"), ok("rx1"))
    assert edges(h) == {0: {1}, 1: {2}, 2: set()}


def test_internal_nil_after_a_list_read() -> None:
    # Elle compares with Clojure's =, where [] and nil differ
    case = _internal_case(Op("ok", "txn", 0, [[R, "x", []], [R, "x", None]]))
    assert case is not None and case["expected"] == []


def test_a_timeout_lists_what_was_searched_and_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # Elle's does-not-contain: every type searched before the one that timed out, less those
    # found, the predicate types (never matched by list or register histories) included
    import harness.checkers.elle.cycles as cycles

    real = cycles.find_cycle

    def slow_realtime_search(labels: Any, members: Any, spec: Any, deadline: float) -> Any:
        if spec.name == "G-single-item-realtime":
            raise TimeoutError
        return real(labels, members, spec, deadline)

    monkeypatch.setattr(cycles, "find_cycle", slow_realtime_search)
    r = check(pairs("ax1", "rx1ry", "ay1", "ry1rx"))
    assert summary(r)[1] == ["G-nonadjacent-item", "cycle-search-timeout"]
    (timeout,) = r["anomalies"]["cycle-search-timeout"]
    assert timeout["anomaly-spec-type"] == kw("G-single-item-realtime")
    assert timeout["does-not-contain"] == [kw("G-single-item"), kw("G-single-item-process"), kw("G-single")]


# ---- Elle's sim-* tests simulate stores; ours are small simulated stores of our own


def simulated_history(seed: int, serializable: bool, txns: int = 400, concurrency: int = 5) -> list[Op]:
    """A snapshot-isolation store (reads from the snapshot at start, first committer wins on
    appends), or with ``serializable`` also aborting a txn whose reads changed before it commits
    (optimistic validation: the commit order is then a strict serial order)."""
    import random

    from harness.workloads.elle import KeyPool

    rng = random.Random(seed)
    pool = KeyPool(rng, 3, 16)
    versions: dict[Any, list[tuple[int, list[Any]]]] = {}  # key -> [(commit time, list)]
    out: list[Op] = []
    running: list[tuple[int, int, list[list[Any]]]] = []  # (process, start time, txn)
    free = list(range(concurrency))
    started = done = clock = 0

    def at(k: Any, t: int) -> list[Any] | None:
        vs = [v for ts, v in versions.get(k, []) if ts <= t]
        return vs[-1] if vs else None

    while done < txns:
        clock += 1
        if free and started < txns and (not running or rng.random() < 0.5):
            mops = []
            for _ in range(rng.randint(1, 4)):
                f, k, v = pool.next()
                mops.append([R, k, None] if f == "r" else [A, k, v])
            p = free.pop(0)
            running.append((p, clock, mops))
            out.append(Op("invoke", "txn", p, mops))
            started += 1
            continue
        p, start, mops = running.pop(rng.randrange(len(running)))
        own: dict[Any, list[Any]] = {}
        completed = []
        for f, k, v in mops:
            if f == R:
                seen = at(k, start)
                mine = own.get(k, [])
                completed.append([R, k, (list(seen or []) + mine) if (seen is not None or mine) else None])
            else:
                own.setdefault(k, []).append(v)
                completed.append([A, k, v])
        changed = {k for k in versions if versions[k][-1][0] > start}
        read_keys = {k for f, k, _ in mops if f == R}
        if own.keys() & changed or (serializable and read_keys & changed):
            out.append(Op("fail", "txn", p, mops))
        else:
            for k, vs in own.items():
                versions.setdefault(k, []).append((clock, list(at(k, clock) or []) + vs))
            out.append(Op("ok", "txn", p, completed))
        free.append(p)
        done += 1
    return history(*out)


def test_a_snapshot_isolation_store_shows_write_skew_only() -> None:
    h = simulated_history(seed=1, serializable=False)
    assert sum(op.type == "fail" for op in h) > 0  # first committer wins did abort some
    assert check(h, ("snapshot-isolation",)) == {"valid?": True}
    valid, found, not_ = summary(check(h, ("serializable",)))
    assert (valid, found, not_) == (False, ["G2-item"], {"repeatable-read"})


def test_an_optimistic_serializable_store_is_strict_serializable() -> None:
    h = simulated_history(seed=1, serializable=True)
    assert sum(op.type == "ok" for op in h) > 100
    assert check(h) == {"valid?": True}
