"""Our counter checker reaches Maelstrom's :workload verdict on every real g-counter run."""

from __future__ import annotations

from pathlib import Path

import fidelity
import pytest

from harness import options
from harness.checkers.counter import check
from harness.edn import read_history, read_results

RUN_DIRS = fidelity.runs("g-counter")


def test_corpus_has_both_verdicts() -> None:
    verdicts = {read_results(d / "results.edn")["workload"]["valid?"] for d in RUN_DIRS}
    assert verdicts == {True, False}


@pytest.mark.parametrize("run_dir", RUN_DIRS, ids=[d.name for d in RUN_DIRS])
def test_workload_result_matches_maelstrom(run_dir: Path) -> None:
    expected = read_results(run_dir / "results.edn")["workload"]
    test = options.TestOptions.load(run_dir / "test.json")
    ours = check(test, read_history(run_dir / "history.edn"))

    assert ours["valid?"] == expected["valid?"]
    assert ours["acceptable"] == [list(r) for r in expected["acceptable"]]
    assert ours["final-reads"] == list(expected["final-reads"])
    expected_errors = expected.get("errors") or []
    assert [op.value for op in ours["errors"] or []] == [e["value"] for e in expected_errors]
    assert [op.index for op in ours["errors"] or []] == [e["index"] for e in expected_errors]
