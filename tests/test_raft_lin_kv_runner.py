"""raft-lin-kv through the runner: a short lin-kv run under partitions is linearizable, every kind
of op succeeds and the node breaks no protocol rule; the same node made to answer reads from any
node's own state, without read-index, comes out invalid. (Raft's safety properties themselves are
tested without processes in tests/test_raft.py.) Under kills too: nodes restart from their
journals and the history stays linearizable."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MAIN = REPO / "raft-lin-kv" / "main.py"
READ_INDEX_LINE = "        outcome = await submit(lambda r, token, now: r.read(token, key, now))\n"
LOCAL_READ_LINES = (
    "        assert raft is not None  # broken on purpose: every node answers reads itself\n"
    '        outcome = Outcome(0, "ok", raft.machine.query(key))\n'
)


def _run(
    tmp_path: Path, program: Path, seed: int, nemesis: str = "partition"
) -> tuple[int, dict[str, Any], Path]:
    store = tmp_path / "store"
    command = [
        sys.executable, "-m", "harness", "test", "-w", "lin-kv", "--bin", sys.executable, str(program),
        "--node-count", "3", "--concurrency", "2n", "--rate", "50", "--time-limit", "6",
        "--nemesis", nemesis, "--nemesis-interval", "1", "--seed", str(seed), "--store", str(store),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    results_files = sorted(store.glob("lin-kv/*/results.json"))
    assert results_files, done.stdout + done.stderr
    return done.returncode, json.loads(results_files[-1].read_text()), results_files[-1].parent


def test_raft_lin_kv_is_linearizable_under_partitions(tmp_path: Path) -> None:
    code, results, run_dir = _run(tmp_path, MAIN, seed=4)
    assert code == 0, results["workload"]
    assert results["valid?"] is True and "nodes" not in results
    by_f = results["stats"]["by-f"]
    assert all(by_f[f]["ok-count"] > 0 for f in ("read", "write", "cas")), by_f
    # the seed's schedule includes partitions, so this was not a fault-free run
    assert ":start-partition" in (run_dir / "history.txt").read_text()


def test_raft_lin_kv_survives_kills_restarting_from_its_journal(tmp_path: Path) -> None:
    code, results, run_dir = _run(tmp_path, MAIN, seed=2, nemesis="kill,partition")
    assert code == 0 and results["valid?"] is True, results["workload"]
    assert ":killed" in (run_dir / "history.txt").read_text()
    journals = sorted(p.parent.name for p in (run_dir / "node-data").glob("*/raft.journal"))
    assert journals == ["n0", "n1", "n2"]
    logs = "".join(p.read_text() for p in (run_dir / "node-logs").glob("*.log"))
    assert "restarted: " in logs  # some node came back with its term, vote and log
    assert results["stats"]["by-f"]["write"]["ok-count"] > 0


def test_reads_served_without_read_index_are_caught(tmp_path: Path) -> None:
    source = MAIN.read_text()
    assert source.count(READ_INDEX_LINE) == 1, "main.py's read path changed: update this test"
    broken = tmp_path / "main.py"
    broken.write_text(source.replace(READ_INDEX_LINE, LOCAL_READ_LINES))
    shutil.copy(MAIN.parent / "raft.py", tmp_path / "raft.py")  # its sibling module, imported as a script's
    code, results, _ = _run(tmp_path, broken, seed=1)
    assert code == 1 and results["workload"]["valid?"] is False, results["workload"]
    assert results["workload"]["failures"]
