"""maelstrom run-challenge: the manifest's flags, the node by its path, results kept, errors shown."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from harness import run_challenge
from harness.challenges import CHALLENGES, by_folder


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """run-challenge's results/ and store/ go under tmp_path (the nodes stay the repository's)."""
    monkeypatch.setattr(run_challenge, "ROOT", tmp_path)
    monkeypatch.delenv("MAELSTROM", raising=False)
    return tmp_path


def test_runs_the_challenge_and_keeps_the_lean_part(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_challenge.main(["echo", "--time-limit", "1", "--rate", "10", "--no-plots", "--seed", "4"])
    assert code == 0
    kept = sorted(p.name for p in (repo / "echo" / "results").iterdir())
    assert kept == [
        "index.html", "jepsen.log", "messages.svg", "results.edn", "results.json", "test.json", "timeline.html",
    ]  # fmt: skip
    test = json.loads((repo / "echo" / "results" / "test.json").read_text())
    assert test["bin"] == "./main.py" and test["time-limit"] == 1  # later flags win; paths relative to echo/
    assert "Kept the lean part of" in capsys.readouterr().err
    report = (repo / "echo" / "results" / "index.html").read_text()
    assert 'href="timeline.html"' in report and 'href="jepsen.log"' in report
    assert "not copied here" not in report


def test_records_over_the_cap_are_not_copied_nor_linked(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_challenge.main(["echo", "--time-limit", "1", "--rate", "10", "--no-plots", "--seed", "4"])
    assert code == 0
    out = repo / "echo" / "results"
    run_dir = (repo / "store" / "latest").resolve()
    # the run's own records (the kept copies name paths relative to echo/, so they are shorter)
    sizes = {name: (run_dir / name).stat().st_size for name in run_challenge.RECORDS}
    # a cap between the two sizes: the smaller record is kept, the larger one left in the store
    small, large = sorted(sizes, key=sizes.__getitem__)
    assert sizes[small] < sizes[large]
    monkeypatch.setattr(run_challenge, "RECORD_CAP", sizes[small])
    assert run_challenge.keep_results(run_dir, out, folder=by_folder("echo").main_py.parent)
    assert (out / small).is_file() and not (out / large).exists()
    report = (out / "index.html").read_text()
    assert f'href="{small}"' in report and f'href="{large}"' not in report
    assert f"{large} (" in report and f"not copied here ({sizes[large] / 1e6:.1f} MB)" in report
    assert f"echo/{run_dir.name}/{large}" in report
    assert f"Not keeping {large}" in capsys.readouterr().err


def test_a_simulated_run_keeps_its_results_in_the_store_not_in_results(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The committed results/ stay real-mode runs; --sim keeps its lean part in store/sim-results/."""
    code = run_challenge.main(["echo", "--time-limit", "1", "--no-plots", "--seed", "4", "--sim"])
    assert code == 0
    assert not (repo / "echo" / "results").exists()
    kept = repo / "store" / "sim-results" / "echo"
    assert json.loads((kept / "results.json").read_text())["valid?"] is True
    assert (kept / "index.html").is_file()


def test_the_redis_variant_is_simulated_with_the_local_one(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--time-limit", "1", "--rate", "50", "--no-plots", "--seed", "4", "--sim"]
    assert run_challenge.main(["unique-id-generation", *flags]) == 0
    assert "simulating the 'local' variant" in capsys.readouterr().err
    test = json.loads((repo / "store" / "sim-results" / "unique-id-generation" / "test.json").read_text())
    assert test["args"] == ["local"]
    assert run_challenge.main(["unique-id-generation", "--variant", "redis", *flags]) == 254
    assert "Redis is real I/O outside the simulation" in capsys.readouterr().err


def test_a_report_that_fails_is_shown_and_fails_the_command(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the report broke")

    # run-challenge's own copy of the report (from the ops in memory); the run's report in its
    # store dir is harness.run's, written before
    monkeypatch.setattr("harness.report.write_report", broken)
    code = run_challenge.main(["echo", "--time-limit", "1", "--rate", "10", "--no-plots", "--seed", "4"])
    assert code == 255
    err = capsys.readouterr().err
    assert "Could not write the report" in err and "RuntimeError: the report broke" in err
    assert (repo / "echo" / "results" / "results.json").is_file()  # the run's results are still kept
    # and when it is read back from the store dir (no ops in memory), report_main's failure shows
    monkeypatch.setattr("harness.report.main", broken)
    assert not run_challenge.keep_results((repo / "store" / "latest").resolve(), repo / "echo" / "results")
    assert "RuntimeError: the report broke" in capsys.readouterr().err


def test_the_kept_report_from_the_ops_in_memory_is_the_one_read_back_from_history_edn(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a partition nemesis, so the report's history sections have something to show
    code = run_challenge.main(
        ["multi-node-broadcast", "--time-limit", "2", "--rate", "50", "--nemesis", "partition",
         "--nemesis-interval", "0.5", "--no-plots", "--seed", "4", "--sim"]
    )  # fmt: skip
    assert code == 0
    out = repo / "store" / "sim-results" / "multi-node-broadcast"
    from_memory = (out / "index.html").read_text()
    assert "start-partition" in (repo / "store" / "latest" / "history.txt").read_text()
    run_dir = (repo / "store" / "latest").resolve()
    assert run_challenge.keep_results(
        run_dir, out, folder=by_folder("multi-node-broadcast").main_py.parent
    )  # no history: read back
    assert (out / "index.html").read_text() == from_memory


def test_under_real_maelstrom_the_node_is_the_path_and_store_latest_is_kept(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = repo / "fake-maelstrom"  # records its arguments, writes a run as Maelstrom would
    fake.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$@" > args.txt\n'
        "mkdir -p store/echo/run && ln -sfn echo/run store/latest\n"
        "echo '{\"valid?\": true}' > store/echo/run/results.json\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("MAELSTROM", str(fake))
    assert run_challenge.main(["echo", "--seed", "3"]) == 0
    args = (repo / "args.txt").read_text().split("\n")[:-1]
    assert args == ["test", *by_folder("echo").flags, "--bin", str(by_folder("echo").main_py), "--seed", "3"]
    assert json.loads((repo / "echo" / "results" / "results.json").read_text()) == {"valid?": True}


def test_bad_folder_or_variant_is_an_argument_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_challenge.main(["nope"]) == 254
    assert "not a challenge folder" in capsys.readouterr().err
    assert run_challenge.main(["echo", "--variant", "fast"]) == 254
    assert "no variant 'fast'" in capsys.readouterr().err


def test_only_unique_ids_redis_variant_needs_redis() -> None:
    needing = [(c.folder, v.name) for c in CHALLENGES for v in c.variants if v.needs_redis]
    assert needing == [("unique-id-generation", "redis")]
    assert by_folder("unique-id-generation").variant().name == "redis"  # run.sh's default


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_private_redis_server_for_the_run_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing answers there
    with run_challenge.redis_for_run() as url:
        assert url != "redis://127.0.0.1:1/0" and os.environ["REDIS_URL"] == url
        assert run_challenge._redis_answers(url)
    assert os.environ["REDIS_URL"] == "redis://127.0.0.1:1/0"
    assert not run_challenge._redis_answers(url)  # stopped


def test_no_redis_and_no_server_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent.parent / "no-such-dir"))
    with pytest.raises(RuntimeError, match="--variant local"), run_challenge.redis_for_run():
        pass
