"""Elle 0.2.7's two checker fixes, as cases against our rw-register and list-append checkers.

* jepsen-io/elle commit 5cc2eca (test/elle/rw_register_test.clj ``cyclic-versions-bug-test``):
  Elle's rw-register could report a version-order cycle that is not there, depending on the
  ops' ``:index`` values (they set hash order). Elle only reaches that code when it infers version
  orders from the transaction graph (``:linearizable-keys?`` / ``:sequential-keys?``), which
  Maelstrom never asks for; our checker has no such path. We check the commit's history and, for
  the whole class of bug, that a history's verdict does not depend on how its ops are numbered.
* jepsen-io/elle commit 8a5e27b (``internal-cases-test`` "nil read" in rw_register_test.clj,
  "read nil, then something" in list_append_test.clj): a read of nil is definite, so
  ``[:r x nil] [:r x 2]`` in one txn is ``internal``. Maelstrom's Elle 0.2.2 passes it; we report it
  by default, labelled ``beyond-maelstrom`` with Maelstrom's verdict beside it, and ``--elle 0.2.2``
  gives Maelstrom's verdict exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import fidelity
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checkers import list_append, rw_register
from harness.cli import BadArgs, parse_test_args
from harness.history import Op, kw
from harness.options import MAELSTROM_ELLE
from harness.options import TestOptions as Options
from harness.workloads.txn_list_append import TxnListAppend
from harness.workloads.txn_rw_register import TxnRwRegister

R, W, A = kw("r"), kw("w"), kw("append")


def op(type_: str, process: int, value: list[list[Any]], index: int, time: int = 0) -> Op:
    return Op(type_, "txn", process, value, time=time, index=index)


def sequential(*txns: list[list[Any]]) -> list[Op]:
    """Each txn invoked (reads as nil) and completed ok before the next, by process 0."""
    ops: list[Op] = []
    for t in txns:
        request = [[f, k, None if f == R else v] for f, k, v in t]
        ops += [op("invoke", 0, request, len(ops)), op("ok", 0, t, len(ops) + 1)]
    return ops


def types(result: dict[str, Any]) -> list[str]:
    return [t.name for t in result.get("anomaly-types") or []]


# ---- 5cc2eca: no spurious version-order cycles


def cyclic_versions_bug_history() -> list[Op]:
    """The commit's history (its indexes and times): three processes, one read of nil, one write
    of 4, then a read of 4."""
    return [
        op("invoke", 0, [], 1, 33189116),
        op("ok", 0, [], 2, 34621247),
        op("invoke", 0, [[R, 1, None]], 3, 36022782),
        op("invoke", 1, [[W, 1, 4]], 4, 36230324),
        op("invoke", 2, [], 5, 36827540),
        op("ok", 0, [[R, 1, None]], 320, 37708797),
        op("ok", 1, [[W, 1, 4]], 322, 37894295),
        op("ok", 2, [], 323, 37992467),
        op("invoke", 0, [], 324, 38532405),
        op("ok", 0, [], 325, 39475568),
        op("invoke", 0, [[R, 1, None]], 326, 39956694),
        op("ok", 0, [[R, 1, 4]], 327, 40746079),
    ]


@pytest.mark.parametrize("model", ["serializable", "strict-serializable", "read-committed"])
@pytest.mark.parametrize("elle", ["0.2.7", MAELSTROM_ELLE])
def test_the_cyclic_versions_bug_history_is_valid(model: str, elle: str) -> None:
    # Elle 0.2.7: valid (the test asks :serializable with :linearizable-keys?); so are we, with
    # Maelstrom's :wfr-keys? and the realtime edges strict-serializable adds
    h = cyclic_versions_bug_history()
    result = rw_register.check(Options(consistency_models=[model], elle=elle), h)
    assert result["valid?"] is True, result
    assert "cyclic-versions" not in rw_register.elle_check(h, [model])[1]


@st.composite
def register_histories(draw: st.DrawFn, lawful: bool) -> list[Op]:
    """Up to 8 txns over 3 keys, each by its own process, with invocations and completions
    interleaved at random. ``lawful``: txn i takes effect at time i, between its invocation and
    completion, against one register store (so the history is strict-serializable); otherwise
    reads return any value the key ever gets, or nil. Writes to a key are unique: 1, 2, 3, ..."""
    n = draw(st.integers(1, 8))
    shapes = [
        draw(st.lists(st.tuples(st.sampled_from([R, W]), st.integers(1, 3)), max_size=4)) for _ in range(n)
    ]
    written: dict[int, int] = {}
    for shape in shapes:
        for f, k in shape:
            if f == W:
                written[k] = written.get(k, 0) + 1
    store: dict[int, int] = {}
    counter: dict[int, int] = {}
    events: list[tuple[float, int, Op]] = []
    for i, shape in enumerate(shapes):
        done: list[list[Any]] = []
        for f, k in shape:
            if f == W:
                counter[k] = counter.get(k, 0) + 1
                store[k] = counter[k]
                done.append([W, k, store[k]])
            elif lawful:
                done.append([R, k, store.get(k)])
            else:
                done.append([R, k, draw(st.one_of(st.none(), st.integers(1, max(1, written.get(k, 0)))))])
        request = [[f, k, None if f == R else v] for f, k, v in done]
        start = i - draw(st.floats(0.01, 2.5))
        end = i + draw(st.floats(0.01, 2.5))
        events += [(start, 0, op("invoke", i, request, -1)), (end, 1, op("ok", i, done, -1))]
    events.sort(key=lambda e: (e[0], e[1]))
    history = [e[2] for e in events]
    for position, o in enumerate(history):
        o.time = position * 1000
    return history


def numbered(history: list[Op], gaps: list[int]) -> list[Op]:
    """The same ops renumbered: strictly increasing indexes with the given gaps."""
    out, index = [], 0
    for o, gap in zip(history, gaps + [1] * len(history), strict=False):
        index += gap
        out.append(Op(o.type, o.f, o.process, o.value, time=o.time, index=index))
    return out


GAPS = st.lists(st.integers(1, 400), max_size=16)


@settings(max_examples=150, deadline=None)
@given(register_histories(lawful=True), GAPS)
def test_a_strict_serializable_register_history_is_valid_however_numbered(
    h: list[Op], gaps: list[int]
) -> None:
    for model in ("strict-serializable", "serializable"):
        result = rw_register.check(Options(consistency_models=[model]), numbered(h, gaps), math.inf)
        assert set(types(result)) <= {"empty-transaction-graph"}, result
        assert "beyond-maelstrom" not in result


@settings(max_examples=150, deadline=None)
@given(register_histories(lawful=False), GAPS, GAPS)
def test_a_register_verdict_does_not_depend_on_op_numbering(
    h: list[Op], gaps: list[int], other: list[int]
) -> None:
    test = Options(consistency_models=["strict-serializable"])
    a = rw_register.check(test, numbered(h, gaps), math.inf)
    b = rw_register.check(test, numbered(h, other), math.inf)
    assert (a["valid?"], types(a)) == (b["valid?"], types(b))


# ---- 8a5e27b: a nil read is definite


def test_rw_register_nil_read_then_a_value_is_internal() -> None:
    # Elle 0.2.7's "nil read": rx_rx2 -> {:mop [:r :x 2], :expected nil}
    t = op("ok", 0, [[R, "x", None], [R, "x", 2]], 0)
    assert rw_register.internal_case(t) == {"op": t, "mop": [R, "x", 2], "expected": None}
    assert rw_register.internal_case(t, MAELSTROM_ELLE) is None
    # its "stale" case, found by both: rx1wx2rx1 -> {:mop [:r :x 1], :expected 2}
    stale = op("ok", 0, [[R, "x", 1], [W, "x", 2], [R, "x", 1]], 0)
    for elle in ("0.2.7", MAELSTROM_ELLE):
        assert rw_register.internal_case(stale, elle) == {"op": stale, "mop": [R, "x", 1], "expected": 2}
    # false is no longer "unknown" either; a nil read then a write then its value is fine
    assert rw_register.internal_case(op("ok", 0, [[R, "x", False], [R, "x", 1]], 0)) is not None
    assert rw_register.internal_case(op("ok", 0, [[R, "x", None], [W, "x", 1], [R, "x", 1]], 0)) is None
    assert rw_register.internal_case(op("ok", 0, [[R, "x", None], [R, "x", None]], 0)) is None


def test_list_append_nil_read_then_a_list_is_internal() -> None:
    # Elle 0.2.7's "read nil, then something": rxrx2 -> {:mop [:r :x [2]], :expected nil}
    t = op("ok", 0, [[R, "x", None], [R, "x", [2]]], 0)
    assert list_append._internal_case(t) == {"op": t, "mop": [R, "x", [2]], "expected": None}
    assert list_append._internal_case(t, MAELSTROM_ELLE) is None
    # an append after the nil read starts from the empty list, in both
    grown = op("ok", 0, [[R, "x", None], [A, "x", 3], [R, "x", [3]]], 0)
    assert list_append._internal_case(grown) is None
    assert list_append._internal_case(grown, MAELSTROM_ELLE) is None


def test_list_append_nil_then_the_empty_list_is_not_internal() -> None:
    # Where we part from Elle 0.2.7 (which compares nil and [] with =): both say "nothing appended
    # yet", as Elle's own version orders read them, so calling it internal would be a false positive.
    # The other way round ([] then nil) is internal in both Elles, and here.
    assert list_append._internal_case(op("ok", 0, [[R, "x", None], [R, "x", []]], 0)) is None
    assert list_append._internal_case(op("ok", 0, [[R, "x", []], [R, "x", None]], 0)) is not None


MOPS = st.lists(
    st.tuples(
        st.sampled_from(["r", "w"]), st.sampled_from(["x", "y"]), st.one_of(st.none(), st.integers(1, 3))
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(MOPS)
def test_elle_027_internal_is_never_laxer_than_maelstroms(mops: list[tuple[str, str, int | None]]) -> None:
    reg = op(
        "ok", 0, [[R if f == "r" else W, k, v if f == "r" or v is not None else 0] for f, k, v in mops], 0
    )
    lists = op(
        "ok",
        0,
        [[R, k, None if v is None else list(range(1, v + 1))] if f == "r" else [A, k, v] for f, k, v in mops],
        0,
    )
    if rw_register.internal_case(reg, MAELSTROM_ELLE) is not None:
        assert rw_register.internal_case(reg) is not None
    if list_append._internal_case(lists, MAELSTROM_ELLE) is not None:
        assert list_append._internal_case(lists) is not None


def test_rw_register_labels_the_nil_read_beyond_maelstrom() -> None:
    # T1 writes x = 1; T2 reads x as nil, then as 1. Serializable, Maelstrom passes it (only an
    # rw edge T2 -> T1); Elle 0.2.7 finds T2 internal.
    h = sequential([[W, "x", 1]], [[R, "x", None], [R, "x", 1]])
    ours = rw_register.check(Options(consistency_models=["serializable"]), h)
    assert ours["valid?"] is False and types(ours) == ["internal"]
    beyond = ours["beyond-maelstrom"]
    assert beyond["maelstrom-valid?"] is True and beyond["elle"] == "0.2.7"
    assert [(c["op"], c["mop"], c["expected"]) for c in beyond["internal"]] == [(h[3], [R, "x", 1], None)]
    assert "8a5e27b" in beyond["why"] and "--elle 0.2.2" in beyond["why"]
    finding = [f for f in TxnRwRegister.summarize(ours).findings if f.startswith("beyond Maelstrom")]
    assert finding and "Maelstrom would say valid? True" in finding[0]

    theirs = rw_register.check(Options(consistency_models=["serializable"], elle=MAELSTROM_ELLE), h)
    assert theirs["valid?"] is True and types(theirs) == [] and "beyond-maelstrom" not in theirs
    assert theirs["extra"]["nil-read-internal"] == beyond["internal"]

    # a model that allows internal: the same verdict both ways, the cases still labelled
    rc = rw_register.check(Options(consistency_models=["read-committed"]), h)
    assert rc["valid?"] is True and rc["beyond-maelstrom"]["maelstrom-valid?"] is True
    assert "the verdict is Maelstrom's" in " ".join(TxnRwRegister.summarize(rc).findings)


def test_list_append_labels_the_nil_read_beyond_maelstrom() -> None:
    # read-atomic forbids internal but allows the G-single-item this txn also makes
    h = sequential([[A, "x", 2]], [[R, "x", None], [R, "x", [2]]])
    ours = list_append.check(Options(consistency_models=["read-atomic"]), h)
    assert ours["valid?"] is False and types(ours) == ["internal"]
    assert ours["beyond-maelstrom"]["maelstrom-valid?"] is True
    assert any(f.startswith("beyond Maelstrom") for f in TxnListAppend.summarize(ours).findings)
    theirs = list_append.check(Options(consistency_models=["read-atomic"], elle=MAELSTROM_ELLE), h)
    assert theirs["valid?"] is True and "beyond-maelstrom" not in theirs
    assert [c["mop"] for c in theirs["extra"]["nil-read-internal"]] == [[R, "x", [2]]]


def test_the_elle_flag() -> None:
    test, _ = parse_test_args(["--bin", "node", "-w", "txn-rw-register", "--elle", "0.2.2"])
    assert test.elle == MAELSTROM_ELLE and Options.from_test_json(test.to_json()).elle == MAELSTROM_ELLE
    assert parse_test_args(["--bin", "node"])[0].elle == "0.2.7"
    with pytest.raises(BadArgs, match="--elle"):
        parse_test_args(["--bin", "node", "--elle", "0.3"])


@pytest.mark.parametrize(
    "run_dir", fidelity.runs("txn-rw-register") + fidelity.runs("txn-list-append"), ids=fidelity.run_id
)
def test_corpus_verdicts_with_maelstroms_elle(run_dir: Path, tmp_path: Path) -> None:
    # tests/test_fidelity.py checks the default (0.2.7); Maelstrom's Elle must agree as well
    copy = fidelity.copy_run(run_dir, tmp_path)
    test_json = copy / "test.json"
    test_json.write_text(json.dumps({**json.loads(test_json.read_text()), "elle": MAELSTROM_ELLE}))
    assert fidelity.options(copy).elle == MAELSTROM_ELLE
    assert fidelity.mismatches(copy) == []


def test_analyze_takes_the_elle_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.analyze import main

    copy = fidelity.copy_run(fidelity.runs("txn-rw-register")[-1], tmp_path)
    assert main([str(copy), "--elle", MAELSTROM_ELLE]) == 0
    assert main([str(copy), "--elle", "0.3"]) == 254
