"""harness/results_table.py (maelstrom results): verdicts, figures and targets from each challenge's results.json."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import fidelity
import pytest

from harness import results_table as rt
from harness.challenges import CHALLENGES, by_folder
from harness.edn import read_results, results_to_json

REPO = Path(__file__).resolve().parents[1]
MAELSTROM_RUNS = fidelity.RUNS_ROOT


def _base(valid: Any = True) -> dict[str, Any]:
    return {
        "stats": {
            "valid?": True,
            "count": 100,
            "ok-count": 100,
            "fail-count": 0,
            "info-count": 0,
            "by-f": {},
        },
        "availability": {"valid?": True, "ok-fraction": 1.0},
        "net": {
            "all": {"send-count": 300, "recv-count": 300, "msg-count": 300, "msgs-per-op": 3.0},
            "clients": {"send-count": 200, "recv-count": 200, "msg-count": 200},
            "servers": {"send-count": 40, "recv-count": 40, "msg-count": 40, "msgs-per-op": 0.4},
            "valid?": True,
        },
        "workload": {"valid?": valid},
        "valid?": valid,
    }


def _passing(folder: str) -> dict[str, Any]:
    """Results of ``folder``'s workload that meet its targets."""
    r = _base()
    w = r["workload"]
    workload = by_folder(folder).workload
    if workload == "broadcast":
        w.update(
            {"lost-count": 0, "stable-latencies": {"0": 0, "0.5": 120, "0.95": 300, "0.99": 350, "1": 400}}
        )
    if workload == "g-counter":
        w.update({"final-reads": [42, 42, 42], "acceptable": [[42, 42]], "errors": None})
    if workload == "kafka":
        w.update({"bad-error-types": [], "error-types": []})
    if workload == "txn-rw-register":
        w.update({"anomaly-types": [], "anomalies": None})
    if workload == "unique-ids":
        w.update({"duplicated-count": 0, "acknowledged-count": 100})
    return r


def _write(root: Path, folder: str, results: dict[str, Any]) -> None:
    d = root / folder / "results"
    d.mkdir(parents=True, exist_ok=True)
    (d / "results.json").write_text(json.dumps(results))


def _row(root: Path, folder: str) -> Any:
    return next(r for r in rt.rows(root) if r.challenge.folder == folder)


def test_every_challenge_meeting_its_target_exits_zero(tmp_path: Path) -> None:
    for c in CHALLENGES:
        _write(tmp_path, c.folder, _passing(c.folder))
    assert all(r.meets_target for r in rt.rows(tmp_path))
    assert rt.main(["--root", str(tmp_path)]) == 0


def test_oversized_results_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for c in CHALLENGES:
        _write(tmp_path, c.folder, _passing(c.folder))
    (tmp_path / "echo" / "results" / "history.edn").write_bytes(b"x" * (rt.RESULTS_SIZE_LIMIT + 1))
    assert rt.main(["--root", str(tmp_path)]) == 1
    assert "TOO BIG" in capsys.readouterr().out


def test_missing_results_are_not_run_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "echo", _passing("echo"))
    assert rt.main(["--root", str(tmp_path), "--markdown"]) == 1
    md = (tmp_path / "RESULTS.md").read_text()
    assert md.count("not run yet") >= 2 * (len(CHALLENGES) - 1)  # verdict and target columns
    assert f"**1 of {len(CHALLENGES)} challenges meet their target.**" in md
    echo = next(line for line in md.splitlines() if "`echo`" in line)
    assert "| valid |" in echo and "| yes |" in echo and "ops 100" in echo
    assert "not run yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("folder", "change", "failed"),
    [
        (
            "efficient-broadcast",
            lambda r: r["workload"]["stable-latencies"].update({"0.5": 251}),
            "median stable",
        ),
        (
            "efficient-broadcast",
            lambda r: r["workload"]["stable-latencies"].update({"1": 451}),
            "max stable latency <= 450",
        ),
        (
            "efficient-broadcast",
            lambda r: r["net"]["servers"].update({"msgs-per-op": 5.01}),
            "server msgs/op <= 5",
        ),
        ("efficient-kafka-style-log", lambda r: r["net"]["servers"].update({"msgs-per-op": 1.2}), "<= 1"),
        ("grow-only-counter", lambda r: r["net"]["servers"].update({"msgs-per-op": 0.51}), "<= 0.5"),
        ("grow-only-counter", lambda r: r["workload"].update({"final-reads": [42, 41, 42]}), "final reads"),
        ("grow-only-counter", lambda r: r["workload"].update({"final-reads": []}), "final reads"),
        ("unique-id-generation", lambda r: r["availability"].update({"ok-fraction": 0.999}), "availability"),
        (
            "totally-available-read-committed-transactions",
            lambda r: r["availability"].update({"ok-fraction": 0.9}),
            "availability",
        ),
        ("efficient-broadcast", lambda r: r["workload"].pop("stable-latencies"), "median stable"),
    ],
)
def test_unmet_targets(tmp_path: Path, folder: str, change: Any, failed: str) -> None:
    results = copy.deepcopy(_passing(folder))
    change(results)
    _write(tmp_path, folder, results)
    row = _row(tmp_path, folder)
    assert row.verdict == "valid" and not row.meets_target
    assert any(failed in label for label in row.failed), row.failed


def test_counter_range_from_indeterminate_adds(tmp_path: Path) -> None:
    results = _passing("grow-only-counter")
    results["workload"].update({"final-reads": [45, 45, 45], "acceptable": [[42, 47]]})
    _write(tmp_path, "grow-only-counter", results)
    assert _row(tmp_path, "grow-only-counter").meets_target
    results["workload"].update({"final-reads": [48, 48, 48]})
    _write(tmp_path, "grow-only-counter", results)
    assert not _row(tmp_path, "grow-only-counter").meets_target


@pytest.mark.parametrize(("valid", "verdict"), [(False, "INVALID"), ("unknown", "unknown")])
def test_not_valid_verdicts(tmp_path: Path, valid: Any, verdict: str) -> None:
    _write(tmp_path, "echo", _base(valid))
    row = _row(tmp_path, "echo")
    assert row.verdict == verdict and not row.meets_target and "valid" in row.failed


def test_unreadable_results(tmp_path: Path) -> None:
    (tmp_path / "echo" / "results").mkdir(parents=True)
    (tmp_path / "echo" / "results" / "results.json").write_text("{not json")
    assert _row(tmp_path, "echo").verdict == "unreadable results"


def test_real_maelstrom_counter_results(tmp_path: Path) -> None:
    """Real g-counter results: the diverged run misses the target, a converged one meets it."""

    def as_json(run: str) -> dict[str, Any]:
        return json.loads(results_to_json(read_results(MAELSTROM_RUNS / "g-counter" / run / "results.edn")))

    bad = as_json(
        "anand-trehan--20250705T180832.577-0400"
    )  # final reads (318 571 306), acceptable ([1195 1195])
    _write(tmp_path, "grow-only-counter", bad)
    row = _row(tmp_path, "grow-only-counter")
    assert row.verdict == "INVALID" and "final reads = sum of acknowledged adds" in row.failed
    good = as_json("punchanabu--20250201T022553.166+0700")
    _write(tmp_path, "grow-only-counter", good)
    row = _row(tmp_path, "grow-only-counter")
    assert row.verdict == "valid" and "final reads = sum of acknowledged adds" not in row.failed


def test_runs_as_maelstrom_results(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "results", "--root", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1 and "not run yet" in proc.stdout


def test_target_texts_come_from_the_manifest() -> None:
    by = {c.folder: rt.target_text(c) for c in CHALLENGES}
    assert by["echo"] == "valid"
    assert by["efficient-broadcast"] == (
        "valid; no lost messages; server msgs/op <= 5; median stable latency <= 250 ms; "
        "max stable latency <= 450 ms"
    )
    assert by["grow-only-counter"] == "valid; final reads = sum of acknowledged adds; server msgs/op <= 0.5"
    assert by["unique-id-generation"] == "valid; availability >= 1; no duplicate ids"


def test_every_target_names_a_known_figure() -> None:
    for c in CHALLENGES:
        for t in c.targets:
            assert t.key in rt.figure_labels(c), (c.folder, t.key)


def test_sim_reads_the_simulated_runs_from_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--sim: the table of store/sim-results/ (run-challenge --sim), not of the committed results/."""
    for c in CHALLENGES:
        _write(tmp_path, c.folder, _passing(c.folder))  # real-mode results: all pass
    sim_root = tmp_path / "store" / "sim-results"
    _write(sim_root, "echo", {**_passing("echo"), "valid?": False})
    (sim_root / "echo" / "results" / "results.json").rename(sim_root / "echo" / "results.json")
    assert rt.main(["--root", str(tmp_path), "--sim"]) == 1
    out = capsys.readouterr().out
    assert "Simulated runs" in out and "INVALID" in out and "not run yet" in out
    assert rt.main(["--root", str(tmp_path)]) == 0  # the real-mode table is untouched
    with pytest.raises(SystemExit):  # RESULTS.md shows the real-mode runs only
        rt.main(["--root", str(tmp_path), "--sim", "--markdown"])
