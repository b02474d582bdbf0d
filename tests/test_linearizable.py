"""The cas-register linearizability checker: hand-made histories both ways, Knossos's result
fields, the budget, independent keys, and a cross-check against a brute-force checker (every
order of every subset of the crashed ops) on 1,800 generated histories, valid and not."""

from __future__ import annotations

import random
from typing import Any

import pytest

from harness.checkers.linearizable import (
    CASRegister,
    Inconsistent,
    check,
    check_independent,
)
from harness.history import Op, ckey
from harness.testing import generate_lin_kv as generate


def h(*events: tuple[str, int, str, Any]) -> list[Op]:
    """(type, process, f, value) tuples -> an indexed history of one register."""
    return [Op(t, f, p, v, time=i * 10, index=i) for i, (t, p, f, v) in enumerate(events)]


def seq(*ops: tuple[int, str, Any, Any]) -> list[tuple[str, int, str, Any]]:
    """Sequential ops (process, f, invoke value, ok value) -> invoke/ok event pairs."""
    out = []
    for p, f, inv, ok in ops:
        out += [("invoke", p, f, inv), ("ok", p, f, ok)]
    return out


# -- hand-made, both ways ----------------------------------------------------------------------


def test_empty_and_sequential_valid():
    assert check([]) == {"valid?": True, "model": CASRegister(None), "final-paths": [], "configs": []}
    r = check(
        h(*seq((0, "write", 1, 1), (1, "read", None, 1), (0, "cas", [1, 2], [1, 2]), (1, "read", None, 2)))
    )
    assert r["valid?"] is True and r["model"] == CASRegister(2)


def test_stale_read_is_invalid_with_knossos_fields():
    r = check(h(*seq((0, "write", 1, 1), (1, "write", 2, 2), (0, "read", None, 1))))
    assert r["valid?"] is False
    assert (r["op"].f, r["op"].value, r["op"].index, r["op"].type) == ("read", 1, 5, "ok")
    assert (r["previous-ok"].f, r["previous-ok"].value, r["previous-ok"].index) == ("write", 2, 3)
    assert r["configs"] == [
        {"model": CASRegister(2), "last-op": r["previous-ok"], "pending": [Op("invoke", "read", 0, 1, 40, 4)]}
    ]
    (path,) = r["final-paths"]
    assert path[0] == {"op": r["previous-ok"], "model": CASRegister(2)}
    assert path[-1]["model"] == Inconsistent("can't read 1 from register 2")
    assert str(path[-1]["model"]) == '#knossos.model.Inconsistent{:msg "can\'t read 1 from register 2"}'


def test_cas_on_the_initial_nil_is_invalid_with_knossos_message():
    r = check(h(*seq((0, "cas", [4, 0], [4, 0]))))
    assert r["valid?"] is False and r["previous-ok"] is None
    assert r["final-paths"][0][-1]["model"] == Inconsistent("can't CAS  from 4 to 0")


def test_concurrent_ops_may_take_effect_in_either_order():
    # write 1 ... read 1 overlaps a write 2 that started first and ended last
    events = [
        ("invoke", 0, "write", 2),
        ("invoke", 1, "write", 1),
        ("ok", 1, "write", 1),
        ("invoke", 2, "read", None),
        ("ok", 2, "read", 1),
        ("ok", 0, "write", 2),
    ]
    assert check(h(*events))["valid?"] is True
    # but real time orders ops that do not overlap: the read returned before write 1 began
    events = [("invoke", 2, "read", None), ("ok", 2, "read", 1), *seq((1, "write", 1, 1))]
    assert check(h(*events))["valid?"] is False


def test_failed_ops_are_deleted_and_nil_reads_always_legal():
    events = [
        *seq((0, "write", 1, 1)),
        ("invoke", 1, "write", 3),
        ("fail", 1, "write", 3),
        *seq((0, "read", None, None), (0, "read", None, 1)),
    ]
    assert check(h(*events))["valid?"] is True
    events[-1] = ("ok", 0, "read", 3)  # the failed write of 3 never happened
    assert check(h(*events))["valid?"] is False


def test_crashed_ops_take_effect_later_or_never_but_not_before_their_invocation():
    crashed_write_2 = [("invoke", 1, "write", 2), ("info", 1, "write", 2)]
    base = seq((0, "write", 1, 1))
    assert check(h(*base, *crashed_write_2, *seq((0, "read", None, 1))))["valid?"] is True  # never
    assert check(h(*base, *crashed_write_2, *seq((0, "read", None, 2))))["valid?"] is True  # took effect
    # long after the crash, then gone again: 2 then 1 needs the crash to happen between
    late = seq((0, "read", None, 1), (0, "read", None, 2), (0, "read", None, 2))
    assert check(h(*base, *crashed_write_2, *late))["valid?"] is True
    back = seq((0, "read", None, 2), (0, "read", None, 1))
    assert check(h(*base, *crashed_write_2, *back))["valid?"] is False  # nothing writes 1 again
    before = seq((0, "read", None, 2))
    assert check(h(*base, *before, *crashed_write_2))["valid?"] is False  # read 2 before the write began
    # an invocation that never completed is crashed too
    assert check(h(*base, ("invoke", 1, "write", 2), *seq((0, "read", None, 2))))["valid?"] is True


def test_values_compare_as_clojure_values():
    assert check(h(*seq((0, "write", 1, 1), (0, "read", None, 1.0))))["valid?"] is False
    assert check(h(*seq((0, "write", 1, 1), (0, "read", None, "1"))))["valid?"] is False
    assert check(h(*seq((0, "write", [1, 2], [1, 2]), (0, "read", None, [1, 2]))))["valid?"] is True


def _one_register(history: list[Op]) -> list[Op]:
    for op in history:  # unwrap [k v]
        op.value = op.value[1]
    return history


def test_budget_gives_unknown():
    history = _one_register(generate(random.Random(3), 200, 1, 8, 0.1, 0))
    assert check(history)["valid?"] is True
    r = check(history, budget=50)
    assert r["valid?"] == "unknown" and r["cause"].name == "budget"


def test_malformed_cas_value_raises_and_makes_only_its_key_unknown():
    with pytest.raises(ValueError, match="cas value"):
        check(h(*seq((0, "cas", 3, 3))))
    r = check_independent(h(*seq((0, "cas", [0, 3], [0, 3]), (1, "write", [1, 2], [1, 2]))))
    assert r["valid?"] == "unknown" and r["failures"] == [] and r["results"][1]["valid?"] is True
    assert "cas value" in r["results"][0]["linearizable"]["error"]


# -- independent keys --------------------------------------------------------------------------


def test_independent_splits_by_key_and_lists_failures():
    events = [
        ("invoke", 0, "write", [0, 1]),
        ("ok", 0, "write", [0, 1]),
        ("info", "nemesis", "start-partition", None),
        ("invoke", 1, "write", [1, 2]),
        ("ok", 1, "write", [1, 2]),
        ("invoke", 0, "read", [1, None]),
        ("ok", 0, "read", [1, 1]),  # key 1 never held 1
        ("invoke", 2, "read", [0, None]),
        ("ok", 2, "read", [0, 1]),
    ]
    r = check_independent(h(*events))
    assert r["valid?"] is False and r["failures"] == [1] and list(r["results"]) == [0, 1]
    assert r["results"][0] == {
        "linearizable": {"valid?": True, "model": CASRegister(1), "final-paths": [], "configs": []},
        "timeline": {"valid?": True},
        "valid?": True,
    }
    assert r["results"][1]["linearizable"]["op"].index == 6
    assert check_independent([]) == {"valid?": True, "results": {}, "failures": []}


def test_an_unknown_key_is_not_a_failure_but_makes_the_whole_unknown():
    history = generate(random.Random(3), 200, 2, 8, 0.1, 0)
    r = check_independent(history, budget=50)
    assert r["valid?"] == "unknown" and r["failures"] == []


# -- brute force -------------------------------------------------------------------------------


def _brute_force(history: list[Op]) -> bool:
    """Linearizable iff some order of all ok ops and any subset of crashed ops respects real
    time and the cas-register model. Written from the definition, sharing nothing with the checker."""
    open_: dict[Any, tuple[int, Op]] = {}
    ops: list[tuple[int, float, str, Any]] = []  # (call, return or inf, f, value)
    for pos, op in enumerate(history):
        if not isinstance(op.process, int):
            continue
        if op.type == "invoke":
            open_[op.process] = (pos, op)
            continue
        call, inv = open_.pop(op.process)
        if op.type == "ok":
            ops.append((call, pos, op.f, op.value if op.f == "read" else inv.value))
        elif op.type == "info":
            ops.append((call, float("inf"), inv.f, inv.value))
    ops += [(call, float("inf"), inv.f, inv.value) for call, inv in open_.values()]

    def legal(state: Any, f: str, v: Any) -> tuple[bool, Any]:
        if f == "write":
            return True, v
        if f == "cas":
            return (ckey(v[0]) == ckey(state)), v[1]
        return (v is None or ckey(v) == ckey(state)), state

    def search(state: Any, left: frozenset[int]) -> bool:
        if all(ops[i][1] == float("inf") for i in left):
            return True  # every ok op placed; the crashed ones left never took effect
        for i in left:
            call = ops[i][0]
            if any(ops[j][1] < call for j in left if j != i):
                continue  # an op still unplaced returned before this one was invoked
            ok, new = legal(state, ops[i][2], ops[i][3])
            if ok and search(new, left - {i}):
                return True
        return False

    return search(None, frozenset(range(len(ops))))


def _prefix(history: list[Op], end: int) -> list[Op]:
    """The history up to and including position ``end``: later completions are cut off, so
    their ops are pending, except ops that fail later (a definite error: they never happened)."""
    failed, open_ = set(), {}
    for pos, op in enumerate(history):
        if op.type == "invoke":
            open_[op.process] = pos
        elif op.type == "fail":
            failed |= {open_[op.process], pos}
    return [op for pos, op in enumerate(history[: end + 1]) if pos not in failed]


def _small_histories(count: int, sizes: tuple[int, int] = (1, 7), seed: int = 20261201) -> list[list[Op]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n_ops = rng.randint(*sizes)
        info = rng.choice((0.0, 0.15, 0.3))
        corrupt = rng.choice((0, 1, 2))
        history = _one_register(generate(rng, n_ops, 1, rng.randint(1, 4), info, corrupt, values=3))
        if rng.random() < 0.3:  # reads that saw anything at all
            for op in history:
                if op.type == "ok" and op.f == "read":
                    op.value = rng.choice((None, 0, 1, 2))
        out.append(history)
    return out


SMALL = _small_histories(1500)
#: larger ones, where the crashed-call pruning (twins, subsumption) has room to act
MEDIUM = _small_histories(300, (8, 14), seed=7)


def test_generated_histories_cover_both_verdicts_and_crashes():
    verdicts = [_brute_force(x) for x in SMALL]
    assert len(SMALL) >= 1000
    assert sum(verdicts) >= 300 and len(verdicts) - sum(verdicts) >= 300
    with_crashes = [x for x in SMALL if any(op.type == "info" for op in x)]
    assert len(with_crashes) >= 500
    assert sum(1 for x in with_crashes if not _brute_force(x)) >= 100


@pytest.mark.parametrize("histories", [SMALL, MEDIUM], ids=["1500 small", "300 medium"])
def test_verdicts_equal_brute_force(histories):
    for history in histories:
        expected = _brute_force(history)
        r = check(history)
        assert r["valid?"] is expected, "\n".join(map(str, history))
        if not expected:
            # the failing op is the first ok whose prefix cannot be linearized, as Knossos names it
            first = next(
                pos
                for pos, op in enumerate(history)
                if op.type == "ok" and not _brute_force(_prefix(history, pos))
            )
            assert r["op"].index == history[first].index, "\n".join(map(str, history))
