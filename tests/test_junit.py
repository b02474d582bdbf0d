"""``maelstrom test --junit FILE`` and ``--shard K/N`` (harness/junit.py): the XML parsed with the
standard library, the shards' union against the unsharded sweep."""

from __future__ import annotations

import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from simrun import run_test

from harness.cli import BadArgs, parse_test_args
from harness.junit import parse_shard, shard_runs

ROOT = Path(__file__).resolve().parent.parent
NODES = ROOT / "tests" / "nodes"


def test_shards_are_disjoint_and_together_the_whole_sweep() -> None:
    for count in range(14):
        whole = shard_runs(count, None)
        assert whole == list(range(count))
        for n in range(1, 6):
            parts = [shard_runs(count, (k, n)) for k in range(1, n + 1)]
            assert sorted(i for p in parts for i in p) == whole  # disjoint, and the union is all
            assert max(map(len, parts)) - min(map(len, parts)) <= 1  # balanced
            assert parts == [shard_runs(count, (k, n)) for k in range(1, n + 1)]  # deterministic
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "1", "a/b", "1/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)
    with pytest.raises(BadArgs, match="--shard needs --seed"):
        parse_test_args(["--bin", "x", "--test-count", "4", "--shard", "1/2"])
    with pytest.raises(BadArgs, match="--shard 3/2"):
        parse_test_args(["--bin", "x", "--seed", "1", "--shard", "3/2"])


def _cases(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    cases = {c.get("name", ""): c for c in suite.findall("testcase")}
    assert suite.get("tests") == str(len(cases))
    assert suite.get("failures") == str(sum(1 for c in cases.values() if c.find("failure") is not None))
    return cases


def _outcome(case: ET.Element) -> str:
    for tag in ("failure", "error", "skipped"):
        if case.find(tag) is not None:
            return tag
    return "passed"


@pytest.mark.timeout(300)
def test_junit_of_a_sharded_sweep_equals_the_unsharded_one(tmp_path: Path) -> None:
    """A g-set node that replaces instead of merging fails some seeds under partitions: every
    seed is one test case, a failing one says why and how to rerun it, and the three shards'
    cases are exactly the unsharded sweep's, with the same outcomes (the simulation repeats)."""
    args = [
        "-w", "g-set", "--bin", str(NODES / "crdt_node.py"), "gset-replace", "--node-count", "3",
        "--rate", "50", "--time-limit", "2", "--nemesis", "partition", "--nemesis-interval", "0.5",
        "--recovery-time", "1", "--seed", "10", "--test-count", "5", "--no-plots", "--quiet-ops",
    ]  # fmt: skip
    code, out = run_test(
        [*args, "--store", str(tmp_path / "all"), "--junit", str(tmp_path / "all.xml")], sim=True
    )
    whole = _cases(tmp_path / "all.xml")
    assert sorted(whole) == [f"seed {s}" for s in range(10, 15)]
    outcomes = {name: _outcome(c) for name, c in whole.items()}
    assert "failure" in outcomes.values() and code == 1, out[-2000:]
    for name, case in whole.items():
        failure = case.find("failure")
        if failure is None:
            continue
        text = failure.text or ""
        assert "valid? false" in text and "workload: valid? false" in text
        repro = text.rsplit("reproduce: ", 1)[1].strip()
        assert repro.startswith("maelstrom test ") and repro.endswith(f"--seed {name.split()[1]}")
        assert "--junit" not in repro and "--test-count" not in repro and "--sim" in repro
        assert "run directory: " in (case.findtext("system-out") or "")

    sharded: dict[str, str] = {}
    for k in (1, 2, 3):
        xml = tmp_path / f"shard{k}.xml"
        run_test(
            [*args, "--store", str(tmp_path / f"s{k}"), "--junit", str(xml), "--shard", f"{k}/3"], sim=True
        )
        cases = _cases(xml)
        assert not set(cases) & set(sharded)  # disjoint
        sharded |= {name: _outcome(c) for name, c in cases.items()}
    assert sharded == outcomes

    # the first failing case's command reproduces its verdict on its own
    name = next(n for n, o in outcomes.items() if o == "failure")
    repro = (whole[name].findtext("failure") or "").rsplit("reproduce: ", 1)[1].strip()
    words = shlex.split(repro)[2:]  # after "maelstrom test"
    words = [w for w in words if w != "--sim"]
    again, _ = run_test([*words, "--store", str(tmp_path / "again")], sim=True)
    assert again == 1


@pytest.mark.timeout(120)
def test_a_real_mode_series_that_stops_at_a_failure_marks_the_rest_skipped(tmp_path: Path) -> None:
    xml = tmp_path / "out.xml"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "test", "-w", "echo", "--bin", sys.executable,
         str(NODES / "fake_node.py"), "wrong-echo", "--node-count", "1", "--time-limit", "1", "--seed", "3",
         "--test-count", "3", "--store", str(tmp_path / "store"), "--no-plots", "--junit", str(xml)],
        cwd=ROOT, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    cases = _cases(xml)
    assert {n: _outcome(c) for n, c in cases.items()} == {
        "seed 3": "failure",
        "seed 4": "skipped",
        "seed 5": "skipped",
    }
    text = cases["seed 3"].findtext("failure") or ""
    assert "workload: valid? false" in text and "fake_node.py wrong-echo" in text and "--seed 3" in text
