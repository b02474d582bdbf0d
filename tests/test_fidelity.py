"""Fidelity: our checkers reach Maelstrom's verdicts and counts on every real run in the corpus."""

from __future__ import annotations

import re

import fidelity
import pytest

from harness.edn import stored

#: corpus workloads whose checker is still being written: their runs ship for those checkers'
#: tests; a workload leaves this set with its COMPARE entry or its own fidelity test
NOT_COMPARED_YET: set[str] = set()
#: compared in their own test files (kafka: the history files lack the final phase's data)
COMPARED_ELSEWHERE = {"kafka"}

RUNS = [
    run
    for run in fidelity.runs()
    if run.parent.name in fidelity.COMPARE and run.parent.name not in COMPARED_ELSEWHERE
]


@pytest.mark.parametrize("run_dir", RUNS, ids=fidelity.run_id)
def test_matches_maelstrom(run_dir):
    fidelity.assert_fidelity(run_dir)


def test_every_workload_of_the_corpus_is_compared():
    """A workload folder added to the corpus needs a COMPARE entry (or its own fidelity test)."""
    compared = set(fidelity.COMPARE) | COMPARED_ELSEWHERE
    assert set(fidelity.workloads()) - compared <= NOT_COMPARED_YET


def test_the_corpus_is_complete():
    """Every run INDEX.md lists is there with its three files, and every run there is listed."""
    index = (fidelity.RUNS_ROOT / "INDEX.md").read_text()
    listed = set(re.findall(r"\]\(([\w.-]+)/([^/)]+)/\)", index))
    found = {(run.parent.name, run.name) for run in fidelity.runs()}
    assert listed == found
    assert len(found) >= 100 and {w for w, _ in found} >= {"lin-kv", "txn-list-append", "g-counter"}
    for run in fidelity.runs():
        assert all(stored(run / name) for name in fidelity.RUN_FILES), run


def test_runs_of_every_workload_folder():
    for workload in fidelity.workloads():
        runs = fidelity.runs(workload)
        assert runs and all(run.parent.name == workload for run in runs)
        run = runs[0]
        assert fidelity.options(run).workload == workload
        assert fidelity.history(run) and "valid?" in fidelity.results(run)
    with pytest.raises(LookupError, match="no 'lin-kvv' runs"):
        fidelity.runs("lin-kvv")


def test_comparison_catches_a_wrong_verdict(tmp_path):
    """A run whose results.edn disagrees with its history must produce mismatches."""
    run = fidelity.copy_run(
        fidelity.RUNS_ROOT / "unique-ids" / "Hacker-007--20240211T214940.154-0500", tmp_path
    )
    text = (run / "results.edn").read_text()
    text = text.replace(":duplicated-count 1", ":duplicated-count 0").replace(":valid? false", ":valid? true")
    (run / "results.edn").write_text(text)
    found = fidelity.mismatches(run)
    assert found and any("duplicated-count" in m for m in found) and any("top-level" in m for m in found)
