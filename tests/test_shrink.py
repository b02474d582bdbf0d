"""Explicit schedules, shrinking and --swarm (harness/shrink/) on the suite's broken nodes
(tests/shrink_cases.py). Every run is --sim, in this process, with short time limits."""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path

import pytest

from harness.cli import _repro_command, parse_test_args
from harness.cli import main as maelstrom
from harness.shrink.schedule import read_schedule
from harness.shrink.shrinker import shrink_run_dir
from harness.shrink.swarm import draw
from tests.shrink_cases import Case, cases
from tests.simrun import node_bin, run_test

CASES = {c.name: c for c in cases()}


def _run(case: Case, store: Path, *extra: str, seed: int = 1) -> tuple[int, Path]:
    where = store / "run-dir"
    words = [*case.words, "--time-limit", "5", "--seed", str(seed), "--store", str(store)]
    code, out = run_test(
        [*words, "--no-plots", "--quiet-ops", "--run-dir-file", str(where), *extra], sim=True
    )
    assert where.is_file(), out
    return code, Path(where.read_text().strip())


def _shrink(run_dir: Path, budget: float = 60) -> tuple[int, dict, Path, str]:
    out = io.StringIO()
    code = shrink_run_dir(run_dir, budget, out=out)
    shrunk = (run_dir.parent.parent / "latest").resolve()
    return code, json.loads((shrunk / "shrink.json").read_text()), shrunk, out.getvalue()


@pytest.mark.parametrize("name", ["lin-kv-stale", "g-set-memory-kill", "broadcast-no-retry"])
def test_replaying_a_runs_schedule_gives_the_same_history_byte_for_byte(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    code, first = _run(case, tmp_path / "a")
    schedule = read_schedule(first / "schedule.edn")
    assert schedule.ops and (schedule.faults or not case.needs)
    again_code, again = _run(case, tmp_path / "b", "--schedule", str(first / "schedule.edn"))
    assert again_code == code == 1
    for name in ("history.edn", "results.edn", "schedule.edn"):
        assert (again / name).read_bytes() == (first / name).read_bytes(), name


@pytest.mark.parametrize(("name", "at_least"), [("lin-kv-stale", 2), ("txn-dirty-g1c", 2), ("kafka-skip", 2)])
def test_a_failing_run_shrinks_to_a_few_ops_that_fail_the_same_way(
    tmp_path: Path, name: str, at_least: int
) -> None:
    """A stale read needs a write and a read; G1c two transactions; a skipped message two sends."""
    case = CASES[name]
    code, run_dir = _run(case, tmp_path)
    assert code == 1
    shrunk_code, info, shrunk, out = _shrink(run_dir)
    before, after = info["from-sizes"], info["to-sizes"]
    assert shrunk_code == 1 and info["failure"] == case.kind and info["fails-the-same-way"], out
    assert at_least <= after["ops"] <= min(20, before["ops"] // 10), info
    assert info["replay-byte-identical"] is True
    # an ordinary run dir, pointed at by store/latest, whose report says what it was shrunk from
    assert (tmp_path / "latest").resolve() == shrunk
    for f in ("history.edn", "results.edn", "index.html", "messages.svg", "timeline.html", "schedule.edn"):
        assert (shrunk / f).is_file(), f
    report = (shrunk / "index.html").read_text()
    assert f"Shrunk from {info['from']}" in report and "--schedule" in report
    assert f"{before['ops']:,} ops" in out and f"-> {info['to']}" in out and "maelstrom test" in out
    # the printed command, run as a user would (its own parse), fails the same way
    command = info["command"].split(" ")
    assert command[:2] == ["maelstrom", "test"] and "--sim" in command


@pytest.mark.parametrize(
    ("name", "fault"), [("broadcast-no-retry", "partition"), ("g-set-memory-kill", "kill")]
)
def test_a_bug_that_needs_a_fault_keeps_one_and_only_the_faults_needed(
    tmp_path: Path, name: str, fault: str
) -> None:
    code, run_dir = _run(CASES[name], tmp_path)
    assert code == 1
    shrunk_code, info, _, out = _shrink(run_dir)
    assert shrunk_code == 1 and info["fails-the-same-way"], out
    assert info["from-sizes"]["faults"].get(fault, 0) > 1
    assert info["to-sizes"]["faults"] == {fault: 1}, info
    assert info["to-sizes"]["ops"] <= 20 and info["replay-byte-identical"]


def test_a_correct_nodes_run_is_refused(tmp_path: Path) -> None:
    case = CASES["lin-kv-stale"]
    words = [w if w != "stale" else "local" for w in case.words]
    words[words.index("--node-count") + 1] = "1"
    code, run_dir = _run(Case("ok", "", tuple(words), ""), tmp_path)
    assert code == 0
    out = io.StringIO()
    with pytest.raises(Exception, match="is valid: there is no failure to shrink"):
        shrink_run_dir(run_dir, 10, out=out)
    assert maelstrom(["shrink", str(run_dir)]) == 254


def test_a_real_mode_run_is_refused_with_a_hint_to_rerun_with_sim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES["lin-kv-stale"]
    code, out = run_test(
        ["-w", "lin-kv", *node_bin(Path(case.words[3]), sim=False), "stale", "--node-count", "2",
         "--concurrency", "2n", "--time-limit", "1", "--rate", "10", "--store", str(tmp_path), "--no-plots",
         "--quiet-ops"],
        sim=False,
    )  # fmt: skip
    assert code in (0, 1), out  # a real run whose timing decided its verdict: refused either way
    assert maelstrom(["shrink", str((tmp_path / "latest").resolve())]) == 254
    err = capsys.readouterr().err
    assert "real-mode run" in err and "--sim" in err
    assert maelstrom(["test", *case.words, "--shrink"]) == 254
    assert "--shrink needs --sim" in capsys.readouterr().err


def test_swarm_draws_each_seeds_configuration_and_the_repro_carries_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES["broadcast-no-retry"]
    base, _ = parse_test_args([*case.words, "--sim"])
    drawn = [draw(base, seed) for seed in range(1, 30)]
    assert draw(base, 7) == drawn[6]  # a function of the seed
    assert len({tuple(flags) for _, flags in drawn}) > 20
    assert {t.nemesis for t, _ in drawn} == {frozenset(), frozenset({"partition"})}
    for seed, (test, flags) in enumerate(drawn, 1):  # the repro command gives it back, without --swarm
        repro = shlex.split(
            _repro_command([*case.words, "--sim", "--swarm", "--test-count", "9"], seed, flags)
        )
        assert repro[:2] == ["maelstrom", "test"] and "--swarm" not in repro
        again, _ = parse_test_args(repro[2:])
        assert (again.nemesis, again.rate, again.latency_mean, again.latency_dist, again.concurrency) == (
            test.nemesis, test.rate, test.latency_mean, test.latency_dist, test.concurrency
        )  # fmt: skip
        assert again.nemesis_interval == test.nemesis_interval
    code = maelstrom(
        ["test", *case.words, "--time-limit", "2", "--sim", "--swarm", "--test-count", "4", "--seed", "1",
         "--store", str(tmp_path), "--no-plots", "--quiet-ops"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("(--swarm): --") == 4
    repro = [line.split("reproduce: ", 1)[1] for line in err.splitlines() if "reproduce: " in line]
    assert code == 1 and repro
    for line in repro:
        assert "--swarm" not in line and "--test-count" not in line and "--latency-dist" in line


def test_test_shrink_shrinks_the_first_failing_seed_of_a_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES["lin-kv-stale"]
    words = [*case.words, "--time-limit", "3", "--sim", "--seed", "1", "--test-count", "2", "--shrink"]
    code = maelstrom(
        ["test", *words, "--shrink-time", "60", "--store", str(tmp_path), "--no-plots", "--quiet-ops"]
    )
    err = capsys.readouterr().err
    assert (
        code == 1
        and "2 of 2 seeds failed" in err
        and "Reproduce it (verified: byte-identical history)" in err
    )
    info = json.loads(((tmp_path / "latest").resolve() / "shrink.json").read_text())
    assert "--seed 1 " in info["command"] and info["to-sizes"]["ops"] <= 20


def test_a_node_crash_needing_four_ops_shrinks_to_exactly_four(tmp_path: Path) -> None:
    """common_echo_node.py exit: the node exits at its 4th echo (the run aborts, exit 255)."""
    words = (
        "-w",
        "echo",
        "--bin",
        str(Path(CASES["lin-kv-stale"].words[3]).parent / "common_echo_node.py"),
        "exit",
    )
    code, run_dir = _run(Case("crash", "", (*words, "--node-count", "2", "--rate", "10"), ""), tmp_path)
    assert code == 255
    shrunk_code, info, _, out = _shrink(run_dir, 30)
    assert shrunk_code == 255 and info["failure"].startswith("run aborted") and info["fails-the-same-way"], (
        out
    )
    assert info["to-sizes"]["ops"] == 4 < info["from-sizes"]["ops"] and info["to-sizes"]["nodes"] == 1
    assert info["replay-byte-identical"] is True


def test_a_webassembly_nodes_run_shrinks_the_same_way(tmp_path: Path) -> None:
    """Runtime-neutral: a Go node built as WebAssembly (tests/nodes/go-broadcast-once: fire and
    forget, so a partition loses values) shrinks through the same path, on its own runtime."""
    from tests.gowasm import build

    module = build(Path(CASES["lin-kv-stale"].words[3]).parent / "go-broadcast-once")
    words = ("-w", "broadcast", "--bin", str(module), "--node-count", "5", "--rate", "10")
    words += ("--nemesis", "partition", "--nemesis-interval", "2", "--recovery-time", "5")
    code, run_dir = _run(Case("go-once", "", words, ""), tmp_path)
    assert code == 1
    shrunk_code, info, _, out = _shrink(run_dir)
    assert shrunk_code == 1 and info["failure"] == "lost elements" and info["fails-the-same-way"], out
    assert info["to-sizes"]["faults"] == {"partition": 1} and info["to-sizes"]["ops"] <= 20
    assert info["replay-byte-identical"] is True and ".wasm" in info["command"]
