"""raft-lin-kv through the runner: a short lin-kv run under partitions is linearizable, every kind
of op succeeds, and the node breaks no protocol rule. (The safety properties themselves are
tested without processes in tests/test_raft.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_raft_lin_kv_is_linearizable_under_partitions(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "harness", "test", "-w", "lin-kv",
        "--bin", sys.executable, str(REPO / "raft-lin-kv" / "main.py"),
        "--node-count", "3", "--concurrency", "2n", "--rate", "50", "--time-limit", "6",
        "--nemesis", "partition", "--nemesis-interval", "1", "--seed", "4", "--store", str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    results_files = sorted(tmp_path.glob("lin-kv/*/results.json"))
    assert results_files, done.stdout + done.stderr
    results = json.loads(results_files[-1].read_text())
    assert done.returncode == 0, results["workload"]
    assert results["valid?"] is True and "nodes" not in results
    by_f = results["stats"]["by-f"]
    assert all(by_f[f]["ok-count"] > 0 for f in ("read", "write", "cas")), by_f
    # the seed's schedule includes partitions, so this was not a fault-free run
    history = (results_files[-1].parent / "history.txt").read_text()
    assert ":start-partition" in history
