"""Fidelity: our checkers reach Maelstrom's verdicts and counts on every real run in the corpus."""

from __future__ import annotations

import fidelity
import pytest

# kafka runs are compared in test_kafka_fidelity.py: their history files lack the final phase's data
RUNS = [run for run in fidelity.runs() if run.parent.name != "kafka"]


@pytest.mark.skipif(not RUNS, reason=f"no Maelstrom runs under {fidelity.RUNS_ROOT}")
@pytest.mark.parametrize("run_dir", RUNS, ids=fidelity.run_id)
def test_matches_maelstrom(run_dir):
    fidelity.assert_fidelity(run_dir)


def test_comparison_catches_a_wrong_verdict(tmp_path):
    """A run whose results.edn disagrees with its history must produce mismatches."""
    src = fidelity.RUNS_ROOT / "unique-ids" / "Hacker-007--20240211T214940.154-0500"
    if not src.is_dir():
        pytest.skip("corpus run not available")
    run = tmp_path / "unique-ids" / "tampered"
    run.mkdir(parents=True)
    for name in ("test.json", "history.edn"):
        (run / name).write_bytes((src / name).read_bytes())
    text = (src / "results.edn").read_text()
    text = text.replace(":duplicated-count 1", ":duplicated-count 0").replace(":valid? false", ":valid? true")
    (run / "results.edn").write_text(text)
    found = fidelity.mismatches(run)
    assert found and any("duplicated-count" in m for m in found) and any("top-level" in m for m in found)
