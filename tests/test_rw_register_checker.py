"""The rw-register checker flags each broken history with the right anomaly and passes correct ones."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from harness.checkers.rw_register import anomalies_prohibited_by, check
from harness.history import FAIL, INFO, INVOKE, OK, Op, kw
from harness.options import TestOptions as Options
from harness.workloads.txn_rw_register import TxnRwRegister

R, W = kw("r"), kw("w")


def txn(*mops: tuple[str, int, Any]) -> list[list[Any]]:
    return [[kw(f), k, v] for f, k, v in mops]


def history(*txns: tuple[int, str, list[list[Any]]], concurrent: bool = False) -> list[Op]:
    """Ops from (process, completion type, completed txn); invocations carry nil reads.

    Sequential by default (each txn completes before the next is invoked); ``concurrent`` invokes
    all first, then completes all, so there are no realtime edges at all.
    """
    invokes, completions = [], []
    for process, type_, value in txns:
        request = [[f, k, None if f == R else v] for f, k, v in value]
        completed = request if type_ == INFO else value
        invokes.append(Op(INVOKE, "txn", process, request))
        completions.append(Op(type_, "txn", process, completed))
    ops = []
    if concurrent:
        ops = invokes + completions
    else:
        for i, c in zip(invokes, completions, strict=True):
            ops += [i, c]
    for n, op in enumerate(ops):
        op.index, op.time = n, n * 1000
    return ops


def run(h: list[Op], model: str) -> dict[str, Any]:
    return check(Options(consistency_models=[model]), h)


def types(result: dict[str, Any]) -> list[str]:
    return [t.name for t in result["anomaly-types"]]


def test_prohibited_sets_match_maelstrom_notes() -> None:
    assert anomalies_prohibited_by(["read-uncommitted"]) == {
        "G0",
        "duplicate-elements",
        "cyclic-versions",
        "PL-1-cycle-exists",
    }
    rc = anomalies_prohibited_by(["read-committed"])
    assert {
        "G0",
        "G1",
        "G1a",
        "G1b",
        "G1c",
        "cyclic-versions",
        "PL-1-cycle-exists",
        "PL-2-cycle-exists",
    } <= rc
    assert not {"internal", "lost-update", "G-single-item", "G2-item", "G1c-realtime"} & rc
    ss = anomalies_prohibited_by(["strict-serializable"])
    assert {
        "internal",
        "lost-update",
        "G1c-realtime",
        "G-single-item-realtime",
        "G2-item",
        "PL-SS-cycle-exists",
    } <= ss


def test_serial_history_passes_every_model() -> None:
    h = history(
        (0, OK, txn(("w", 1, 1), ("r", 2, None))),
        (1, OK, txn(("r", 1, 1), ("w", 1, 2))),
        (0, OK, txn(("r", 1, 2), ("w", 2, 1))),
        (1, OK, txn(("r", 2, 1), ("r", 1, 2))),
    )
    for model in ("read-uncommitted", "read-committed", "strict-serializable"):
        result = run(h, model)
        assert result["valid?"] is True, (model, result)
        assert result["anomaly-types"] == [] and result["anomalies"] is None


def test_aborted_read_is_g1a() -> None:
    # a node that applies a txn's writes and then answers it with a definite error (abort)
    h = history(
        (0, FAIL, txn(("w", 1, 1))),
        (1, OK, txn(("r", 1, 1), ("w", 2, 1))),
        (0, OK, txn(("r", 2, 1))),
    )
    rc = run(h, "read-committed")
    assert rc["valid?"] is False and types(rc) == ["G1a"]
    assert rc["anomalies"]["G1a"][0]["writer"] is h[1]
    ru = run(h, "read-uncommitted")
    assert ru["valid?"] is True and [t.name for t in ru["extra"]["unreported-anomaly-types"]] == ["G1a"]


def test_intermediate_read_is_g1b_but_reading_your_own_is_not() -> None:
    # a node that exposes each write as soon as it happens, mid-transaction
    h = history(
        (0, OK, txn(("w", 1, 1), ("r", 1, 1), ("w", 1, 2), ("w", 2, 1))),
        (1, OK, txn(("r", 1, 1), ("r", 2, 1))),
    )
    rc = run(h, "read-committed")
    assert rc["valid?"] is False and types(rc) == ["G1b"]
    assert [c["op"] for c in rc["anomalies"]["G1b"]] == [h[3]]
    assert run(h, "read-uncommitted")["valid?"] is True


def test_circular_information_flow_is_g1c() -> None:
    # each txn reads the other's write: possible only if uncommitted writes are visible
    h = history(
        (0, OK, txn(("w", 1, 1), ("r", 2, 1))),
        (1, OK, txn(("w", 2, 1), ("r", 1, 1))),
        concurrent=True,
    )
    rc = run(h, "read-committed")
    assert rc["valid?"] is False and "G1c" in types(rc)
    case = rc["anomalies"]["G1c"][0]
    assert [s["type"].name for s in case["steps"]] == ["wr", "wr"]
    assert run(h, "read-uncommitted")["valid?"] is True


def test_interleaved_dirty_writes_are_a_write_cycle() -> None:
    # T1 and T2 each overwrite the other's write of a different key: x: T2 < T1, y: T1 < T2.
    # Elle explains the ww edges as wr (they coincide), so the cycle surfaces as G1c and, for read
    # uncommitted, as PL-1-cycle-exists (maelstrom issue #56: a plain G0 is never reported).
    h = history(
        (0, OK, txn(("w", 2, 1), ("r", 1, 1), ("w", 1, 2))),
        (1, OK, txn(("w", 1, 1), ("r", 2, 1), ("w", 2, 2))),
        concurrent=True,
    )
    ru = run(h, "read-uncommitted")
    assert ru["valid?"] is False and types(ru) == ["PL-1-cycle-exists"]
    assert ru["anomalies"]["PL-1-cycle-exists"][0]["not"] == kw("read-uncommitted")
    rc = run(h, "read-committed")
    assert rc["valid?"] is False and "G1c" in types(rc)


def test_version_cycle_is_cyclic_versions() -> None:
    h = history(
        (0, OK, txn(("r", 1, 1), ("w", 1, 2))),
        (1, OK, txn(("r", 1, 2), ("w", 1, 1))),
        concurrent=True,
    )
    ru = run(h, "read-uncommitted")
    assert ru["valid?"] is False and "cyclic-versions" in types(ru)


def test_internal_inconsistency_is_reported_where_prohibited() -> None:
    h = history((0, OK, txn(("w", 1, 1), ("r", 1, 2))), (1, OK, txn(("w", 1, 2))), (1, OK, txn(("r", 1, 2))))
    assert "internal" in types(run(h, "strict-serializable"))
    rc = run(h, "read-committed")
    assert rc["valid?"] is True and kw("internal") in rc["extra"]["unreported-anomaly-types"]


def test_lost_update_fails_strict_serializable_only() -> None:
    h = history((0, OK, txn(("r", 1, None), ("w", 1, 1))), (1, OK, txn(("r", 1, None), ("w", 1, 2))))
    ss = run(h, "strict-serializable")
    # rw both ways between the two writers (each read nil, which precedes both values): G2-item;
    # the realtime edge coincides with an rw edge, so Elle explains it as rw, not as realtime
    assert ss["valid?"] is False and types(ss) == ["G2-item", "lost-update"]
    rc = run(h, "read-committed")
    assert rc["valid?"] is True and kw("lost-update") in rc["extra"]["unreported-anomaly-types"]


def test_stale_read_is_g_single_item_realtime() -> None:
    h = history((0, OK, txn(("w", 1, 1))), (1, OK, txn(("r", 1, None))), (0, OK, txn(("r", 1, 1))))
    ss = run(h, "strict-serializable")
    assert ss["valid?"] is False and types(ss) == ["G-single-item-realtime"]
    assert [s["type"].name for s in ss["anomalies"]["G-single-item-realtime"][0]["steps"]] in (
        ["rw", "realtime"],
        ["realtime", "rw"],
    )
    assert run(h, "read-committed")["valid?"] is True
    assert run(h, "serializable")["valid?"] is True


def test_no_ok_txn_is_an_empty_transaction_graph() -> None:
    h = history((0, INFO, txn(("w", 1, 1))), (1, INFO, txn(("r", 1, None))))
    result = run(h, "read-uncommitted")
    assert result == {
        "valid?": False,
        "anomaly-types": [kw("empty-transaction-graph")],
        "anomalies": {"empty-transaction-graph": True},
        "not": frozenset(),
        "also-not": frozenset(),
    }


def test_a_value_written_twice_and_read_makes_the_checker_throw() -> None:
    h = history((0, OK, txn(("w", 1, 1))), (1, OK, txn(("w", 1, 1))), (0, OK, txn(("r", 1, 1))))
    with pytest.raises(ValueError, match="more than one op"):
        run(h, "read-uncommitted")


def test_extra_findings_garbage_reads_and_altered_replies_do_not_change_the_verdict() -> None:
    h = history((0, OK, txn(("w", 1, 1))), (1, OK, txn(("r", 1, 1), ("r", 2, 0))))
    h[3].value = [*h[3].value, [W, 3, 9]]  # reply has an extra mop
    result = run(h, "read-committed")
    assert result["valid?"] is True
    assert len(result["extra"]["garbage-reads"]) == 1
    assert len(result["extra"]["txn-mismatch"]) == 1


def serial_history(n: int, seed: int) -> list[Op]:
    """``n`` txns from the real generator, run one at a time against a correct store."""
    test = Options(consistency_models=["strict-serializable"])
    gen = TxnRwRegister(test, random.Random(seed))
    state: dict[int, int] = {}
    ops = []
    for i in range(n):
        request = gen.next_txn()
        done = []
        for f, k, v in request:
            if f == W:
                state[k] = v
                done.append([W, k, v])
            else:
                done.append([R, k, state.get(k)])
        ops.append(Op(INVOKE, "txn", i % 4, request, time=2 * i, index=2 * i))
        ops.append(Op(OK, "txn", i % 4, done, time=2 * i + 1, index=2 * i + 1))
    return ops


def test_twenty_thousand_txns_check_valid_without_a_search_deadline() -> None:
    h = serial_history(20_000, seed=7)
    # with no cycle-search deadline the analysis must still finish, and find nothing
    result = check(Options(consistency_models=["strict-serializable"]), h, cycle_search_timeout=math.inf)
    assert result["valid?"] is True, result.get("anomaly-types")


def test_a_stale_read_hidden_in_a_large_history_is_found() -> None:
    h = serial_history(3000, seed=3)
    # make one late read see nil for a key written long before: a stale (non-recent) read
    for op in reversed(h):
        if op.type == OK and any(m[0] == R and m[2] is not None for m in op.value):
            op.value = [[R, m[1], None] if m[0] == R else m for m in op.value]
            break
    ss = run(h, "strict-serializable")
    assert ss["valid?"] is False
    assert run(h, "read-committed")["valid?"] is True
