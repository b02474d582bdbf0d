"""The set-full checker reaches Maelstrom's verdict and figures on every real broadcast run."""

from __future__ import annotations

from pathlib import Path

import fidelity
import pytest

from harness.checkers.set_full import check
from harness.edn import read_history, read_results
from harness.options import TestOptions as Options

RUN_DIRS = fidelity.runs("broadcast")


def _summary(entry: dict) -> tuple:
    """The parts of a worst-stale entry that identify it: element, latency, and the two ops."""
    known, absent = entry["known"], entry["last-absent"]
    index = (lambda op: op.index) if not isinstance(known, dict) else (lambda op: op["index"])
    return (
        entry["element"],
        entry["outcome"].name if hasattr(entry["outcome"], "name") else entry["outcome"],
        entry["stable-latency"],
        index(known),
        None if absent is None else index(absent),
    )


def test_the_corpus_is_there():
    """The broadcast runs ship with the repository (tests/data/maelstrom-runs): valid and invalid ones."""
    assert len(RUN_DIRS) >= 15, f"expected the broadcast corpus under {fidelity.RUNS_ROOT / 'broadcast'}"
    assert {fidelity.results(run)["workload"]["valid?"] for run in RUN_DIRS} >= {True, False}


@pytest.mark.parametrize("run", RUN_DIRS, ids=[p.name for p in RUN_DIRS])
def test_set_full_matches_maelstrom(run: Path):
    expected = read_results(run / "results.edn")["workload"]
    test = Options.load(run / "test.json")
    ours = check(test, read_history(run / "history.edn"))
    for key in fidelity.BROADCAST_FIELDS:  # plain ==, stricter than COMPARE's Clojure equality
        assert ours.get(key) == expected.get(key), key
    assert [_summary(e) for e in ours["worst-stale"]] == [_summary(e) for e in expected["worst-stale"]]
