"""Elle's list-append checker against hand-made histories, one (or more) per anomaly Elle's own
tests demonstrate (test/elle/list_append_test.clj as a checklist; the histories are ours), both
ways: each anomaly is caught and explained, and the matching correct history passes."""

from __future__ import annotations

from typing import Any

import pytest

from harness.checkers.elle.explain import cycle_svg, explain_text, write_cycle_files
from harness.checkers.list_append import PhantomElementError, elle_check
from harness.history import UNKNOWN, Op, kw

R, A = kw("r"), kw("append")
Txn = tuple[int, str, list[list[Any]]]


def _invoke_value(mops: list[list[Any]]) -> list[list[Any]]:
    return [[f, k, None if f == R else v] for f, k, v in mops]


def serial(*txns: Txn) -> list[Op]:
    """Each (process, completion type, micro-ops) invoked and completed before the next."""
    out: list[Op] = []
    for p, typ, mops in txns:
        out.append(Op("invoke", "txn", p, _invoke_value(mops), time=len(out), index=len(out)))
        out.append(Op(typ, "txn", p, mops, time=len(out), index=len(out)))
    return out


def concurrent(*txns: Txn) -> list[Op]:
    """Every txn invoked, then every one completed: no realtime order among them."""
    out = [Op("invoke", "txn", p, _invoke_value(m), time=i, index=i) for i, (p, _, m) in enumerate(txns)]
    n = len(out)
    out += [Op(t, "txn", p, m, time=n + i, index=n + i) for i, (p, t, m) in enumerate(txns)]
    return out


def types(history: list[Op], *models: str) -> tuple[Any, list[str], dict[str, Any]]:
    result, anomalies = elle_check(history, models or ("strict-serializable",))
    return result["valid?"], [t.name for t in result.get("anomaly-types", [])], anomalies


def test_a_serial_history_is_valid_under_every_model() -> None:
    history = serial(
        (0, "ok", [[A, "x", 1], [R, "x", [1]]]),
        (1, "ok", [[R, "x", [1]], [A, "x", 2], [A, "y", 1]]),
        (0, "ok", [[R, "x", [1, 2]], [R, "y", [1]]]),
    )
    for model in (
        "strict-serializable",
        "serializable",
        "snapshot-isolation",
        "read-committed",
        "read-uncommitted",
    ):
        assert elle_check(history, [model])[0] == {"valid?": True}


def test_g0_write_cycle() -> None:
    history = concurrent(
        (0, "ok", [[A, "x", 1], [A, "y", 1]]),
        (1, "ok", [[A, "x", 2], [A, "y", 2]]),
        (2, "ok", [[R, "x", [1, 2]], [R, "y", [2, 1]]]),
    )
    valid, found, anomalies = types(history)
    assert (valid, found) == (False, ["G0"])
    text = explain_text(anomalies["G0"][0])
    assert "T1 appended 1 to key 'x', and T2 appended 2 right after it" in text
    assert "T2 appended 2 to key 'y', and T1 appended 1 right after it" in text
    assert "contradiction" in text
    assert elle_check(history, ["read-uncommitted"])[0]["valid?"] is False  # PL-1 forbids G0


def test_g1a_aborted_read() -> None:
    history = serial((0, "fail", [[A, "x", 1]]), (1, "ok", [[R, "x", [1]]]))
    valid, found, anomalies = types(history)
    assert valid is False and "G1a" in found
    case = anomalies["G1a"][0]
    assert (case["element"], case["writer"].type) == (1, "fail")
    # a read that misses the failed append is fine (the last txn gives the graph an edge)
    assert types(serial((0, "fail", [[A, "x", 1]]), (1, "ok", [[R, "x", None]]), (1, "ok", [])))[:2] == (
        True,
        [],
    )


def test_g1b_intermediate_read() -> None:
    history = concurrent((0, "ok", [[A, "x", 1], [A, "x", 2]]), (1, "ok", [[R, "x", [1]]]))
    valid, found, _ = types(history)
    assert valid is False and "G1b" in found
    # reading the final append, or your own intermediate one, is fine
    assert types(concurrent((0, "ok", [[A, "x", 1], [A, "x", 2]]), (1, "ok", [[R, "x", [1, 2]]])))[:2] == (
        True,
        [],
    )
    assert types(serial((0, "ok", [[A, "x", 1], [R, "x", [1]], [A, "x", 2]]), (0, "ok", [])))[:2] == (
        True,
        [],
    )


def test_g1c_circular_information_flow() -> None:
    history = concurrent(
        (0, "ok", [[A, "x", 1], [R, "y", [1]]]),
        (1, "ok", [[A, "y", 1], [R, "x", [1]]]),
    )
    valid, found, anomalies = types(history)
    assert (valid, found) == (False, ["G1c"])
    assert "observed T" in explain_text(anomalies["G1c"][0])
    assert elle_check(history, ["read-uncommitted"])[0]["valid?"] is True  # PL-1 allows G1c
    assert elle_check(history, ["read-committed"])[0]["valid?"] is False


def test_g_single_read_skew() -> None:
    # T2 sees T1's append to y but not its append to x: one anti-dependency in the cycle
    history = concurrent(
        (0, "ok", [[A, "x", 1], [A, "y", 1]]),
        (1, "ok", [[R, "x", None], [R, "y", [1]]]),
    )
    valid, found, anomalies = types(history, "serializable")
    assert (valid, found) == (False, ["G-single-item"])
    assert "initial (empty) state" in explain_text(anomalies["G-single-item"][0])
    assert elle_check(history, ["read-committed"])[0] == {"valid?": True}
    assert elle_check(history, ["snapshot-isolation"])[0]["valid?"] is False


def test_g2_write_skew() -> None:
    # each reads the other's key empty and appends to its own: two adjacent anti-dependencies
    history = concurrent(
        (0, "ok", [[R, "x", None], [A, "y", 1]]),
        (1, "ok", [[R, "y", None], [A, "x", 1]]),
        (2, "ok", [[R, "x", [1]], [R, "y", [1]]]),
    )
    valid, found, _ = types(history, "serializable")
    assert (valid, found) == (False, ["G2-item"])
    assert elle_check(history, ["snapshot-isolation"])[0] == {"valid?": True}  # SI allows write skew
    assert elle_check(history, ["repeatable-read"])[0]["valid?"] is False


def test_g_nonadjacent() -> None:
    # T0 -rw-> A -wr-> B -rw-> C -wr-> T0: two anti-dependencies, never adjacent
    history = concurrent(
        (0, "ok", [[R, "x", None], [R, "w", [1]]]),
        (1, "ok", [[A, "x", 1], [A, "y", 1]]),
        (2, "ok", [[R, "y", [1]], [R, "z", None]]),
        (3, "ok", [[A, "z", 1], [A, "w", 1]]),
    )
    valid, found, _ = types(history, "serializable")
    assert (valid, found) == (False, ["G-nonadjacent-item"])
    assert elle_check(history, ["snapshot-isolation"])[0]["valid?"] is False


def test_realtime_and_process_variants() -> None:
    # T1 completes before T2 starts, yet T1 did not see T2's append: a realtime G-single
    history = serial((0, "ok", [[R, "x", None]]), (1, "ok", [[A, "x", 1]]), (0, "ok", [[R, "x", [1]]]))
    assert types(history)[:2] == (True, [])
    stale = serial((1, "ok", [[A, "x", 1]]), (0, "ok", [[R, "x", None]]))
    valid, found, anomalies = types(stale)
    assert (valid, found) == (False, ["G-single-item-realtime"])
    assert "before T1 was invoked" in explain_text(anomalies["G-single-item-realtime"][0])
    assert elle_check(stale, ["serializable"])[0] == {"valid?": True}
    # same process: a process-order G-single under strong-session-serializable
    session = serial((0, "ok", [[A, "x", 1]]), (0, "ok", [[R, "x", None]]))
    assert types(session, "strong-session-serializable")[:2] == (False, ["G-single-item-process"])
    assert elle_check(session, ["serializable"])[0] == {"valid?": True}


def test_internal_inconsistency() -> None:
    history = serial((0, "ok", [[A, "x", 6], [R, "x", None]]))
    valid, found, anomalies = types(history)
    assert valid is False and "internal" in found
    assert anomalies["internal"][0]["expected"][1:] == [6]  # [... 6]
    history = concurrent(
        (0, "ok", [[R, "x", [1]], [A, "x", 2], [R, "x", [1, 3]]]),
        (1, "ok", [[A, "x", 1]]),
        (2, "ok", [[A, "x", 3]]),
    )
    assert anomalies_of(history, "internal")[0]["expected"] == [1, 2]
    assert types(serial((0, "ok", [[R, "x", None], [A, "x", 2], [R, "x", [2]]]), (0, "ok", [])))[:2] == (
        True,
        [],
    )
    # repeatable-read allows internal (only the empty graph is left: no data dependency at all)
    result = elle_check(serial((0, "ok", [[A, "x", 6], [R, "x", None]])), ["repeatable-read"])[0]
    assert result["anomaly-types"] == [kw("empty-transaction-graph")] and result["valid?"] == UNKNOWN


def anomalies_of(history: list[Op], name: str) -> list[Any]:
    return elle_check(history)[1][name]


def test_incompatible_order() -> None:
    history = concurrent(
        (0, "ok", [[A, "x", 1]]),
        (1, "ok", [[A, "x", 2]]),
        (2, "ok", [[R, "x", [1, 2]]]),
        (3, "ok", [[R, "x", [2, 1]]]),
    )
    valid, found, anomalies = types(history, "read-committed")
    assert valid is False and "incompatible-order" in found
    assert anomalies["incompatible-order"][0]["values"] == [[1, 2], [2, 1]]


def test_duplicate_elements_future_read_dirty_update_lost_update() -> None:
    dup = concurrent((0, "ok", [[A, "x", 1]]), (1, "ok", [[R, "x", [1, 1]]]))
    assert "duplicate-elements" in types(dup, "read-uncommitted")[1]
    future = serial((0, "ok", [[R, "x", [1]], [A, "x", 1]]))
    assert "future-read" in types(future)[1]
    dirty = serial((0, "fail", [[A, "x", 1]]), (1, "ok", [[A, "x", 2]]), (2, "ok", [[R, "x", [1, 2]]]))
    valid, found, anomalies = types(dirty, "read-committed")
    assert valid is False and {"dirty-update", "G1a"} <= set(found)
    assert anomalies["dirty-update"][0]["values"] == [1, 2]
    lost = concurrent(
        (0, "ok", [[R, "x", None], [A, "x", 1]]),
        (1, "ok", [[R, "x", None], [A, "x", 2]]),
        (2, "ok", [[R, "x", [1, 2]]]),
    )
    assert "lost-update" in types(lost, "repeatable-read")[1]
    assert "lost-update" not in types(lost, "read-committed")[1]


def test_result_map_fields_and_unknowns() -> None:
    result, _ = elle_check(
        concurrent((0, "ok", [[A, "x", 1], [R, "y", [1]]]), (1, "ok", [[A, "y", 1], [R, "x", [1]]]))
    )
    assert list(result) == ["valid?", "anomaly-types", "anomalies", "not", "also-not"]
    assert result["not"] == frozenset({kw("read-committed")})
    assert kw("serializable") in result["also-not"]
    # nothing ever ok: an empty graph is unknown, not valid (Maelstrom does not wrap this checker)
    result, _ = elle_check(serial((0, "fail", [[A, "x", 1]])))
    assert (result["valid?"], result["anomaly-types"]) == (UNKNOWN, [kw("empty-transaction-graph")])
    assert result["not"] == frozenset() and result["also-not"] == frozenset()


def test_phantom_element_and_bad_micro_ops_are_errors() -> None:
    with pytest.raises(PhantomElementError, match="no transaction appended"):
        elle_check(serial((0, "ok", [[R, "x", [7]]])))
    with pytest.raises(ValueError, match="micro-op"):
        elle_check(serial((0, "ok", [[kw("w"), "x", 1]])))
    with pytest.raises(ValueError, match="duplicate appends"):
        elle_check(serial((0, "ok", [[A, "x", 1]]), (1, "ok", [[A, "x", 1]])))
    with pytest.raises(ValueError):
        elle_check(serial((0, "ok", [[A, "x", 1]])), ["no-such-model"])


def test_explanation_files(tmp_path) -> None:
    history = concurrent(
        (0, "ok", [[A, "x", 1], [A, "y", 1]]),
        (1, "ok", [[A, "x", 2], [A, "y", 2]]),
        (2, "ok", [[R, "x", [1, 2]], [R, "y", [2, 1]]]),
    )
    result, _ = elle_check(history)
    written = write_cycle_files(result["anomalies"], tmp_path / "elle")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == ["elle/G0.txt", "elle/G0/0.svg"]
    assert (tmp_path / "elle" / "G0.txt").read_text().startswith("G0 #0\nLet:\n  T1 = ")
    svg = cycle_svg(result["anomalies"]["G0"][0])
    assert (
        svg.startswith("<svg")
        and svg.count("<rect") == 2
        and svg.count("<line") == 2
        and "&gt;ww" not in svg
        and ">ww &#x27;x&#x27;<" in svg
    )


def test_per_transaction_anomalies_in_words(tmp_path) -> None:
    from harness.checkers.elle.explain import write_case_files

    history = serial(
        (0, "fail", [[A, "x", 1]]),
        (1, "ok", [[A, "x", 2]]),
        (2, "ok", [[R, "x", [1, 2]], [A, "y", 1], [R, "y", [1]]]),
        (3, "ok", [[R, "x", [1, 2, 2]]]),
        (4, "ok", [[A, "z", 1], [R, "z", [5]]]),
        (5, "ok", [[R, "w", [1]], [A, "w", 1]]),
        (6, "ok", [[A, "v", 1]]),
        (6, "ok", [[R, "v", [1]], [A, "v", 2]]),
        (7, "ok", [[R, "v", [1]], [A, "v", 3]]),
        (8, "ok", [[R, "v", [1, 3, 2]]]),
        (8, "ok", [[R, "v", [1, 2, 3]]]),
        (9, "ok", [[A, "z", 5]]),
    )
    result, _ = elle_check(history, ["strict-serializable"])
    written = write_case_files(result["anomalies"], tmp_path / "elle")
    names = sorted(p.stem for p in written)
    assert names == sorted(
        {
            "G1a",
            "dirty-update",
            "duplicate-elements",
            "future-read",
            "incompatible-order",
            "internal",
            "lost-update",
        }
    )
    text = {p.stem: p.read_text() for p in written}
    assert "index 5 (process 2, ok)" in text["G1a"] and "index 1 (process 0, fail)" in text["G1a"]
    assert "appended 1 to key 'x' and failed" in text["dirty-update"]
    assert "holds 2 (2 times)" in text["duplicate-elements"]
    assert "is not a prefix of" in text["incompatible-order"]
    assert "must see [... 1]" in text["internal"]
    assert "only appends later" in text["future-read"]
    assert "2 txns read key 'v' = [1]" in text["lost-update"]
