"""Maelstrom's command line: defaults, parsing rules and argument errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import BadArgs, main, parse_test_args


def parse(*argv: str, warnings: list[str] | None = None):
    return parse_test_args(list(argv), warn=(warnings.append if warnings is not None else lambda s: None))


def test_defaults_follow_maelstrom() -> None:
    test, config = parse("-w", "echo", "--bin", "./node")
    assert test.nodes == ["n1", "n2", "n3", "n4", "n5"]  # n1..n5 without --node-count
    assert test.concurrency == 5  # 1n
    assert (test.time_limit, test.rate, test.latency_mean, test.latency_dist) == (60.0, 5.0, 0, "constant")
    assert test.nemesis == frozenset() and test.nemesis_interval == 10.0
    assert test.availability is None and test.topology == "grid"
    assert test.consistency_models == ["strict-serializable"]
    assert (test.max_txn_length, test.max_writes_per_key, test.key_count) == (4, 16, None)
    assert test.args == [] and test.seed is None and test.test_count == 1
    assert (config.recovery_seconds, config.init_timeout) == (10.0, 10.0)


def test_node_count_concurrency_and_positional_args() -> None:
    test, _ = parse(
        "arg1", "-w", "echo", "--node-count", "3", "--concurrency", "2n", "--bin", "x", "arg2", "--rate=0.5"
    )
    assert test.nodes == ["n0", "n1", "n2"]
    assert test.concurrency == 6
    assert test.args == ["arg1", "arg2"]
    assert test.rate == 0.5
    test, _ = parse("-w", "echo", "--bin", "x", "--nodes", "a, b,c", "--concurrency", "4")
    assert test.nodes == ["a", "b", "c"] and test.concurrency == 4
    test, _ = parse("-w", "echo", "--bin", "x", "-n", "a", "--node", "b")
    assert test.nodes == ["a", "b"] and test.concurrency == 2


def test_value_parsing() -> None:
    test, _ = parse(
        "-w", "echo", "--bin", "x", "--nemesis", "partition", "--nemesis-interval", "1/2", "--availability", "total",
        "--consistency-models", "read-committed , serializable", "--latency", "100", "--latency-dist", "exponential",
        "--topology", "tree4", "--log-stderr", "--seed", "7", "--test-count", "2",
    )  # fmt: skip
    assert test.nemesis == frozenset({"partition"}) and test.nemesis_interval == 0.5
    assert test.availability == "total"
    assert test.consistency_models == ["read-committed", "serializable"]
    assert (test.latency_mean, test.latency_dist, test.topology) == (100, "exponential", "tree4")
    assert test.log_stderr and test.seed == 7 and test.test_count == 2
    test, _ = parse("-w", "echo", "--bin", "x", "--nemesis", "kill, pause,:partition")
    assert test.nemesis == frozenset({"kill", "pause", "partition"})
    # the split needs whitespace on both sides, as in Maelstrom
    test, _ = parse("-w", "echo", "--bin", "x", "--consistency-models", "a,b", "--availability", "0.9")
    assert test.consistency_models == ["a,b"] and test.availability == 0.9


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-w", "echo"], "Expected a --bin PATH_TO_BINARY to test"),
        (["-w", "echo", "--bin", "x", "--frobnicate"], "Unknown option"),
        (["-w", "echo", "--bin", "x", "--nemesis", "kill,crash"], "partition, kill, pause"),
        (["-w", "echo", "--bin", "x", "--concurrency", "n2"], "--concurrency"),
        (["-w", "echo", "--bin", "x", "--node-count", "0"], "--node-count"),
        (["-w", "echo", "--bin", "x", "--time-limit", "soon"], "--time-limit"),
        (["-w", "echo", "--bin", "x", "--availability", "1.5"], "--availability"),
        (["-w", "echo", "--bin", "x", "--rate"], "Missing required argument"),
        (["-w", "nope", "--bin", "x"], "--workload"),
        (["-w", "echo", "--bin", "x", "--topology", "star"], "--topology"),
    ],
)
def test_bad_arguments(argv: list[str], message: str) -> None:
    with pytest.raises(BadArgs, match=message):
        parse(*argv)


def test_en_dash_warns_loudly_and_keeps_maelstrom_behaviour() -> None:
    warnings: list[str] = []
    test, _ = parse(
        "-w", "echo", "--bin", "x", "--time-limit", "20", "\u2013-nemesis", "partition", warnings=warnings
    )
    assert test.nemesis == frozenset()  # not applied, as in Maelstrom
    assert test.args == ["\u2013-nemesis", "partition"]  # passed to the binary
    assert len(warnings) == 1 and "en dash" in warnings[0] and "'--nemesis'" in warnings[0]


def test_main_exit_codes_for_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "-w", "echo"]) == 254
    assert "Expected a --bin PATH_TO_BINARY to test" in capsys.readouterr().err
    assert main(["frobnicate"]) == 254
    from harness.workloads import REGISTRY

    if "lin-kv" not in REGISTRY:  # the default workload, refused clearly until it exists
        assert main(["test", "--bin", "x"]) == 254
        assert "lin-kv" in capsys.readouterr().err


def test_run_dir_file_names_the_run_for_scripts(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    _, config = parse("-w", "echo", "--bin", "x", "--run-dir-file", str(tmp_path / "f"))
    assert config.run_dir_file == str(tmp_path / "f")
    assert parse("-w", "echo", "--bin", "x")[1].run_dir_file is None
    node = tmp_path / "node.py"  # exits at once: the run aborts, but the file still names it
    node.write_text("#!/bin/sh\nexit 3\n")
    node.chmod(0o755)
    code = main(["test", "-w", "echo", "--bin", str(node), "--node-count", "1", "--store", str(tmp_path / "s"),
                 "--run-dir-file", str(tmp_path / "f"), "--no-plots", "--init-timeout", "2"])  # fmt: skip
    assert code == 255
    run_dir = Path((tmp_path / "f").read_text().strip())
    assert run_dir.parent.parent == (tmp_path / "s").resolve() and (run_dir / "test.json").is_file()


def test_version_and_help_say_what_this_is(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "Java-free, Maelstrom-compatible" in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Java-free, Maelstrom-compatible" in out and "run-challenge" in out and "results" in out
    assert main([]) == 254  # no command: usage on stderr
    assert main(["results", "--frobnicate"]) == 254
