"""scripts/run-all.sh on a scratch tree with fake challenges: it reports what ran, and never pretends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fake_challenge(tree: Path, name: str, results: dict | None, code: int = 0) -> None:
    folder = tree / name
    (folder / "results").mkdir(parents=True)
    write = f'echo \'{json.dumps(results)}\' > "$(dirname "$0")/results/results.json"\n' if results else ""
    (folder / "run.sh").write_text(f"#!/usr/bin/env bash\necho running {name}\n{write}exit {code}\n")


def run_all(tree: Path) -> subprocess.CompletedProcess[str]:
    (tree / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run-all.sh", tree / "scripts" / "run-all.sh")
    (tree / "scripts" / "setup.sh").write_text("#!/usr/bin/env bash\n")  # the real one is not under test
    (tree / "scripts" / "setup.sh").chmod(0o755)
    (tree / ".venv" / "bin").mkdir(parents=True)
    os.symlink(sys.executable, tree / ".venv" / "bin" / "python")
    return subprocess.run(
        ["bash", str(tree / "scripts" / "run-all.sh")], capture_output=True, text=True, timeout=60, cwd="/"
    )


def good(count: int) -> dict:
    return {
        "valid?": True,
        "availability": {"valid?": True, "ok-fraction": 1.0},
        "net": {"servers": {"msgs-per-op": 2.5}},
        "stats": {"count": count},
    }


def table(output: str) -> dict[str, str]:
    return {line.split()[0]: line for line in output.splitlines()[2:]}


def test_all_valid_exits_zero_and_lists_unbuilt(tmp_path):
    fake_challenge(tmp_path, "echo", good(54))
    fake_challenge(tmp_path, "grow-only-counter", good(900))
    result = run_all(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table(result.stdout)
    assert rows["echo"].split()[1:] == ["valid", "true", "1", "2.5", "54"]
    assert "900" in rows["grow-only-counter"]
    assert "not built yet" in rows["unique-id-generation"]
    assert len(rows) == 13
    assert (tmp_path / "store" / "run-all" / "echo.log").read_text() == "running echo\n"


def test_invalid_unknown_stale_or_failed_runs_exit_non_zero(tmp_path):
    fake_challenge(tmp_path, "echo", good(54))
    fake_challenge(tmp_path, "unique-id-generation", {**good(10), "valid?": False}, code=1)
    fake_challenge(tmp_path, "grow-only-counter", {**good(10), "valid?": "unknown"}, code=2)
    fake_challenge(tmp_path, "single-node-broadcast", None)  # exits 0 but writes nothing
    stale = tmp_path / "single-node-broadcast" / "results" / "results.json"
    stale.write_text(json.dumps(good(5)))
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    fake_challenge(tmp_path, "multi-node-broadcast", good(7), code=255)  # valid file, but crashed
    result = run_all(tmp_path)
    assert result.returncode == 1
    rows = table(result.stdout)
    assert "valid" in rows["echo"]
    assert "INVALID" in rows["unique-id-generation"]
    assert "UNKNOWN" in rows["grow-only-counter"]
    assert "NO FRESH" in rows["single-node-broadcast"] and " 5" not in rows["single-node-broadcast"]
    assert "exit 255" in rows["multi-node-broadcast"]
