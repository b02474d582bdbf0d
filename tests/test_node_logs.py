"""Bounded node logs (harness/nodelog.py): each node log keeps its beginning and its end up to
--node-log-limit, with a marker saying how much was dropped; the console and the report say so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from simrun import node_bin, run_test

from harness.cli import BadArgs, parse_test_args
from harness.nodelog import DEFAULT_LIMIT, NodeLog, parse_size

ROOT = Path(__file__).resolve().parent.parent
NODES = ROOT / "tests" / "nodes"


def _lines(n: int) -> bytes:
    return b"".join(b"line %05d\n" % i for i in range(n))  # 11 bytes a line


def test_a_log_under_its_limit_is_kept_whole(tmp_path: Path) -> None:
    log = NodeLog(tmp_path / "n1.log", 10_000)
    data = _lines(500)
    for i in range(0, len(data), 333):
        log.write(data[i : i + 333])
    assert log.close() is None
    assert (tmp_path / "n1.log").read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n1.log"]


def test_a_log_over_its_limit_keeps_its_beginning_and_end_and_says_what_was_dropped(tmp_path: Path) -> None:
    limit = 4000
    log = NodeLog(tmp_path / "n1.log", limit)
    data = _lines(10_000)  # 110 000 bytes
    for i in range(0, len(data), 777):
        log.write(data[i : i + 777])
    info = log.close()
    text = (tmp_path / "n1.log").read_bytes()
    assert info is not None and info["total"] == len(data) and info["kept"] == len(text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n1.log"]  # the tail segments are gone
    head, marker, tail = text.partition(b"--- node log truncated: ")
    marker_line = (marker + tail).split(b"\n", 1)[0].decode()
    tail = tail.split(b"\n", 1)[1]
    if not data.startswith(head):  # the head ended inside a line: the marker starts a new one
        head = head.removesuffix(b"\n")
    assert data.startswith(head) and len(head) <= limit // 2
    assert data.endswith(tail) and limit // 4 <= len(tail) <= limit // 2
    assert tail.startswith(b"line ")  # the kept end starts at a line
    dropped = len(data) - len(head) - len(tail)
    assert info["dropped"] == dropped and f"{dropped} bytes" in marker_line
    assert len(text) <= limit + len(marker_line) + 2


def test_limit_zero_keeps_everything(tmp_path: Path) -> None:
    log = NodeLog(tmp_path / "n1.log", 0)
    data = _lines(20_000)
    log.write(data)
    assert log.close() is None and (tmp_path / "n1.log").read_bytes() == data


def test_the_limit_comes_from_the_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        parse_size("64M") == DEFAULT_LIMIT == 64 << 20 and parse_size("0") == 0 and parse_size("2k") == 2048
    )
    monkeypatch.delenv("MAELSTROM_NODE_LOG_LIMIT", raising=False)
    assert parse_test_args(["--bin", "x"])[1].node_log_limit == DEFAULT_LIMIT
    assert parse_test_args(["--bin", "x", "--node-log-limit", "1M"])[1].node_log_limit == 1 << 20
    monkeypatch.setenv("MAELSTROM_NODE_LOG_LIMIT", "0")
    assert parse_test_args(["--bin", "x"])[1].node_log_limit == 0
    assert parse_test_args(["--bin", "x", "--node-log-limit", "5K"])[1].node_log_limit == 5 << 10
    with pytest.raises(BadArgs, match="node-log-limit"):
        parse_test_args(["--bin", "x", "--node-log-limit", "lots"])
    monkeypatch.setenv("MAELSTROM_NODE_LOG_LIMIT", "lots")
    with pytest.raises(BadArgs, match="MAELSTROM_NODE_LOG_LIMIT"):
        parse_test_args(["--bin", "x"])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sim", [False, True], ids=["processes", "sim"])
def test_a_chatty_node_log_is_cut_and_the_run_says_so(tmp_path: Path, sim: bool) -> None:
    """20 echoes of 1 KB stderr each against a 4 KiB limit: real processes and simulated nodes."""
    store = tmp_path / "store"
    code, out = run_test(
        ["-w", "echo", *node_bin(NODES / "common_echo_node.py", sim), "chatty", "--node-count", "1",
         "--time-limit", "2", "--rate", "10", "--seed", "1", "--store", str(store), "--no-plots",
         "--node-log-limit", "4K"],
        sim,
    )  # fmt: skip
    assert code == 0, out[-3000:]
    run = (store / "echo" / "latest").resolve()
    log = (run / "node-logs" / "n0.log").read_text()
    assert "--- node log truncated: " in log and len(log) < 4096 + 300
    assert log.rstrip().endswith("x" * 1000)  # the end is kept
    assert "Node n0 wrote" in out and "dropped" in out
    cut = json.loads((run / "node-logs" / "truncated.json").read_text())
    assert cut["n0"]["limit"] == 4096 and cut["n0"]["dropped"] > 0
    assert (
        'id="truncated-logs"' in (run / "index.html").read_text()
        or "id=truncated-logs" in (run / "index.html").read_text()
    )


@pytest.mark.timeout(120)
def test_log_stderr_echo_is_bounded_too(tmp_path: Path) -> None:
    store = tmp_path / "store"
    marker = f"marker-{uuid.uuid4().hex}"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "test", "-w", "echo", "--bin", sys.executable,
         str(NODES / "fake_node.py"), "stderr-flood", marker, "--node-count", "1", "--time-limit", "2",
         "--store", str(store), "--no-plots", "--quiet-ops", "--log-stderr", "--node-log-limit", "256K"],
        cwd=ROOT, capture_output=True, timeout=100,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    run = (store / "echo" / "latest").resolve()
    # the echo shows half the limit's worth of lines (each with its log prefix), then a marker
    # and the node's last lines; the log file the same bound
    assert len(out) < 2 << 20 and (run / "jepsen.log").stat().st_size < 2 << 20
    assert b"of n0's stderr not shown (--node-log-limit 262144); its last lines:" in out
    assert (run / "node-logs" / "n0.log").stat().st_size < (256 << 10) + 300


@pytest.mark.timeout(180)
def test_a_stderr_flooding_node_leaves_a_bounded_valid_run_directory(tmp_path: Path) -> None:
    """The issue's case: a correct echo node writing stderr from a thread as fast as it can, 10 s,
    default limit (64 MiB a node log): the run is valid, its directory under 200 MB, and the
    truncation is stated on the console and in the report."""
    store = tmp_path / "store"
    marker = f"marker-{uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if k != "MAELSTROM_NODE_LOG_LIMIT"}
    done = subprocess.run(
        [sys.executable, "-m", "harness", "test", "-w", "echo", "--bin", sys.executable,
         str(NODES / "fake_node.py"), "stderr-flood", marker, "--node-count", "1", "--time-limit", "10",
         "--store", str(store), "--no-plots", "--quiet-ops"],
        cwd=ROOT, capture_output=True, text=True, timeout=170, env=env,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "Everything looks good!" in out
    run = (store / "echo" / "latest").resolve()
    size = sum(p.stat().st_size for p in run.rglob("*") if p.is_file())
    assert size < 200e6, size
    cut = json.loads((run / "node-logs" / "truncated.json").read_text())
    assert cut["n0"]["total"] > cut["n0"]["kept"] and cut["n0"]["limit"] == DEFAULT_LIMIT
    assert "Node n0 wrote" in out
    assert "truncated-logs" in (run / "index.html").read_text()
    print(f"flood: {cut['n0']['total'] / 1e6:.0f} MB written, run dir {size / 1e6:.1f} MB")
