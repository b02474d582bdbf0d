"""make_run_dir under parallel runs (run-all --sim): every run gets its own directory."""

from __future__ import annotations

import threading
from pathlib import Path

from harness import results


def test_runs_started_in_the_same_millisecond_get_distinct_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "_timestamp", lambda: "20261201T000000.000+0000")
    barrier = threading.Barrier(8)
    made: list[Path] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            made.append(results.make_run_dir(tmp_path, "echo"))
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert len(set(made)) == 8 and all((d / "node-logs").is_dir() for d in made)
    assert (tmp_path / "latest").resolve().parent == tmp_path / "echo"
    assert not list(tmp_path.glob("*.tmp")) and not list((tmp_path / "echo").glob("*.tmp"))
