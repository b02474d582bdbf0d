"""scripts/run-all.sh on a scratch tree with fake challenges: it reports what ran, and never pretends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness.challenges import CHALLENGES as MANIFEST

ROOT = Path(__file__).resolve().parent.parent
CHALLENGES = [c.folder for c in MANIFEST]


def fake_challenge(tree: Path, name: str, results: dict | None, code: int = 0) -> None:
    """A challenge whose run.sh writes ``results`` (if any) as its results.json and exits ``code``."""
    folder = tree / name
    (folder / "results").mkdir(parents=True)
    write = ""
    if results is not None:
        (folder / "saved.json").write_text(json.dumps(results))
        write = 'cp "$(dirname "$0")/saved.json" "$(dirname "$0")/results/results.json"\n'
    (folder / "run.sh").write_text(f"#!/usr/bin/env bash\necho running {name}\n{write}exit {code}\n")


def run_all(tree: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (tree / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run-all.sh", tree / "scripts" / "run-all.sh")
    (tree / "scripts" / "setup.sh").write_text("#!/usr/bin/env bash\n")  # the real one is not under test
    (tree / "scripts" / "setup.sh").chmod(0o755)
    (tree / ".venv" / "bin").mkdir(parents=True)
    python = tree / ".venv" / "bin" / "python"  # this venv's, where the package lists the challenges
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return subprocess.run(
        ["bash", str(tree / "scripts" / "run-all.sh"), *args],
        capture_output=True,
        text=True,
        timeout=180,  # a hang guard: the suite may share the machine with anything
        cwd="/",
        env=None if env is None else {**os.environ, **env},
    )


def table(output: str) -> dict[str, str]:
    return {
        line.split()[0]: line
        for line in output.splitlines()
        if line.split() and line.split()[0] in CHALLENGES
    }


def reference(name: str) -> dict:
    """The committed reference results of a challenge (each meets its target)."""
    return json.loads((ROOT / name / "results" / "results.json").read_text())


def test_all_valid_and_on_target_exits_zero_and_writes_results_md(tmp_path):
    for name in CHALLENGES:
        fake_challenge(tmp_path, name, reference(name))
    result = run_all(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table(result.stdout)
    assert len(rows) == len(CHALLENGES)
    assert all(" valid " in row for row in rows.values())
    assert (tmp_path / "store" / "run-all" / "echo.log").read_text() == "running echo\n"
    assert "efficient-broadcast" in (tmp_path / "RESULTS.md").read_text()


def test_invalid_failed_or_missing_runs_exit_non_zero_and_never_show_old_figures(tmp_path):
    fake_challenge(tmp_path, "echo", reference("echo"))
    fake_challenge(
        tmp_path, "unique-id-generation", {**reference("unique-id-generation"), "valid?": False}, 1
    )
    fake_challenge(tmp_path, "single-node-broadcast", None, code=255)  # crashed, wrote nothing
    stale = tmp_path / "single-node-broadcast" / "results" / "results.json"
    stale.write_text(json.dumps(reference("single-node-broadcast")))  # a previous run's figures
    result = run_all(tmp_path)
    assert result.returncode == 1
    rows = table(result.stdout)
    assert " valid " in rows["echo"]
    assert "INVALID" in rows["unique-id-generation"]
    assert "not run yet" in rows["single-node-broadcast"]
    assert "not run yet" in rows["grow-only-counter"]  # no run.sh at all
    assert "single-node-broadcast (exit 255)" in result.stderr


def meeting_challenge(tree: Path, name: str, other: str, wait_s: int) -> None:
    """A --sim challenge that writes its reference results and logs whether ``other`` ran at the
    same time: it marks its start, then waits (at most ``wait_s``) for ``other``'s mark. Run in
    parallel, the other one starts whenever the loaded machine gets to it, so the wait is long and
    ends at the mark; run in sequence, the other cannot start before this one ends, so a short wait
    says "alone" just as surely."""
    folder = tree / name
    folder.mkdir(parents=True)
    (folder / "saved.json").write_text(json.dumps(reference(name)))
    marks = tree / "store" / "marks"
    (folder / "run.sh").write_text(
        "#!/usr/bin/env bash\n"
        f'mkdir -p "{marks}" && touch "{marks}/{name}"\n'
        f'for _ in $(seq {wait_s * 10}); do [[ -e "{marks}/{other}" ]] && {{ echo together; break; }}; sleep 0.1; done\n'
        f'[[ -e "{marks}/{other}" ]] || echo alone\n'
        f'echo "args: $*"\n'
        f'out="{tree}/store/sim-results/{name}"; mkdir -p "$out"\n'
        f'cp "$(dirname "$0")/saved.json" "$out/results.json"\n'
    )


def test_sim_runs_in_parallel_and_keeps_each_log_and_the_table(tmp_path):
    meeting_challenge(tmp_path, "echo", "unique-id-generation", wait_s=120)
    meeting_challenge(tmp_path, "unique-id-generation", "echo", wait_s=120)
    result = run_all(tmp_path, "-j", "2", "--sim", "--seed", "3")
    # exit 1 only because the other challenges were not run ("not run yet" in the table)
    assert result.returncode == 1 and "run.sh exited non-zero" not in result.stderr, result.stderr
    for name in ("echo", "unique-id-generation"):
        log = (tmp_path / "store" / "run-all-sim" / f"{name}.log").read_text()
        assert log.splitlines() == ["together", "args: --sim --seed 3"]  # -j is run-all's own
        assert " valid " in table(result.stdout)[name]
        assert f"{name} ... exit 0 after" in result.stderr


def test_real_mode_stays_sequential_whatever_the_jobs(tmp_path):
    meeting_challenge(tmp_path, "echo", "unique-id-generation", wait_s=1)
    meeting_challenge(tmp_path, "unique-id-generation", "echo", wait_s=1)
    run_all(tmp_path, "-j", "2", env={"RUN_ALL_JOBS": "4"})
    assert (tmp_path / "store" / "run-all" / "echo.log").read_text().splitlines()[0] == "alone"


def test_sim_failures_in_parallel_are_reported(tmp_path):
    fake_challenge(tmp_path, "echo", None, code=255)
    meeting_challenge(tmp_path, "unique-id-generation", "nobody", wait_s=1)
    result = run_all(tmp_path, "--sim", env={"RUN_ALL_JOBS": "2"})
    assert result.returncode == 1
    assert "echo (exit 255)" in result.stderr
    assert "unique-id-generation ... exit 0" in result.stderr


def test_a_bad_job_count_is_refused(tmp_path):
    result = run_all(tmp_path, "--sim", "-j", "0")
    assert result.returncode == 254 and "positive integer" in result.stderr
