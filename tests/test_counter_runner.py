"""The grow-only counter through the runner: exact and cheap; a counter trusting stale seq-kv
reads comes out invalid. Short runs (5 s main phase, shortened recovery)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _run(tmp_path: Path, program: str, seed: int, recovery: float) -> tuple[int, dict[str, Any]]:
    command = [
        sys.executable, "-m", "harness", "test", "-w", "g-counter",
        "--bin", sys.executable, str(REPO / "grow-only-counter" / program),
        "--node-count", "3", "--rate", "100", "--time-limit", "5", "--nemesis", "partition",
        "--nemesis-interval", "1", "--seed", str(seed), "--recovery-time", str(recovery),
        "--store", str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    results = sorted(tmp_path.glob("g-counter/*/results.json"))
    assert results, done.stdout + done.stderr
    return done.returncode, json.loads(results[-1].read_text())


def test_counter_is_exact_under_partitions_and_cheap(tmp_path: Path) -> None:
    # Worst case the last add reaches every cache ~4 s after it (two 2 s idle rounds); 8 s of
    # recovery leaves room for a loaded machine.
    code, results = _run(tmp_path, "main.py", seed=3, recovery=8)
    workload = results["workload"]
    assert code == 0, workload
    assert results["valid?"] is True
    assert workload["final-reads-exact?"] is True
    assert workload["final-reads"] == [workload["acknowledged-sum"]] * 3
    assert workload["acknowledged-sum"] > 0
    assert results["net"]["servers"]["msgs-per-op"] <= 0.5


def test_counter_trusting_stale_seq_kv_reads_is_invalid(tmp_path: Path) -> None:
    code, results = _run(tmp_path, "naive.py", seed=3, recovery=1)
    assert code == 1
    assert results["workload"]["valid?"] is False
    assert results["workload"]["final-reads-exact?"] is False
