"""``python -m harness test`` end to end against small node programs (tests/nodes/fake_node.py).

Each run is short (1-2 s, low rates). Every run passes a unique marker word to the node, so the
test can check that no node process outlives the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from waiting import until

from harness.edn import read_history

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "tests" / "nodes" / "fake_node.py"
PYTHON = sys.executable


def live_processes_with(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline and b"pytest" not in cmdline:
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def gone(marker: str) -> list[str]:
    """The processes with ``marker`` left once they had time to die (none, unless they outlive it)."""
    return until(lambda: live_processes_with(marker), lambda found: not found)


def harness(tmp_path: Path, mode: str, *args: str, workload: str = "echo") -> tuple[int, str, Path | None]:
    """Run the harness on fake_node.py in ``mode``; return (exit code, stderr+stdout, run dir)."""
    marker = f"marker-{uuid.uuid4().hex}"
    store = tmp_path / "store"
    cmd = [
        PYTHON, "-m", "harness", "test", "-w", workload, "--bin", PYTHON, str(NODE), mode, marker,
        "--store", str(store), "--no-plots", *args,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=50)
    # a node's children get SIGKILL with its group; each is gone once the kernel next runs it
    assert gone(marker) == [], "node processes outlived the run"
    latest = store / "latest"
    return proc.returncode, proc.stdout + proc.stderr, latest.resolve() if latest.exists() else None


def test_correct_echo_node_is_valid(tmp_path: Path) -> None:
    code, out, run_dir = harness(tmp_path, "echo", "--node-count", "1", "--time-limit", "2", "--seed", "1")
    assert code == 0, out
    assert "Everything looks good! ヽ(‘ー`)ノ" in out
    assert run_dir is not None
    for name in (
        "results.edn",
        "results.json",
        "history.edn",
        "history.txt",
        "test.json",
        "net-journal.jsonl",
    ):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "node-logs" / "n0.log").read_text().startswith("n0 init")
    results = json.loads((run_dir / "results.json").read_text())
    assert list(results) == [
        "perf",
        "timeline",
        "exceptions",
        "stats",
        "availability",
        "net",
        "workload",
        "valid?",
    ]
    history = read_history(run_dir / "history.edn")
    invokes = [op for op in history if op.type == "invoke"]
    assert len(invokes) >= 3
    assert results["net"]["all"]["msg-count"] == 2 * len(invokes) + 2  # + init and init_ok
    assert results["net"]["all"]["msgs-per-op"] == pytest.approx(
        results["net"]["all"]["msg-count"] / len(invokes)
    )
    ok = [op for op in history if op.type == "ok"]
    assert ok[0].value["type"] == "echo_ok" and ok[0].value["in_reply_to"] == 1
    assert json.loads((run_dir / "test.json").read_text())["seed"] == 1


def test_log_stderr_logs_node_lines_on_the_node_stderr_thread(tmp_path: Path) -> None:
    """As Maelstrom's stderr thread logs them: logger maelstrom.process, thread "<node> stderr"."""
    code, out, run_dir = harness(
        tmp_path, "echo", "--node-count", "2", "--time-limit", "1", "--log-stderr", "--quiet-ops"
    )
    assert code == 0, out
    assert run_dir is not None
    log = (run_dir / "jepsen.log").read_text()
    for n in ("n0", "n1"):
        assert re.search(
            rf"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}}\tINFO\t\[{n} stderr\] maelstrom.process: {n} init$",
            log,
            re.M,
        ), log
        assert f"INFO\t[{n} stderr] maelstrom.process: {n} init\n" in out
    assert "[jepsen test runner] jepsen.core: " in log  # the runner's own lines keep their thread
    _, quiet_out, quiet_dir = harness(tmp_path / "quiet", "echo", "--node-count", "1", "--time-limit", "1")
    assert quiet_dir is not None and "maelstrom.process" not in quiet_out
    assert "maelstrom.process" not in (quiet_dir / "jepsen.log").read_text()


@pytest.mark.parametrize(
    ("mode", "expect"),
    [
        ("wrong-echo", "Analysis invalid!"),
        ("extra-field", "Analysis invalid!"),
    ],
)
def test_broken_echo_replies_are_invalid(tmp_path: Path, mode: str, expect: str) -> None:
    code, out, run_dir = harness(tmp_path, mode, "--node-count", "1", "--time-limit", "1", "--rate", "5")
    assert code == 1, out
    assert expect in out
    assert run_dir is not None
    history = read_history(run_dir / "history.edn")
    if mode == "extra-field":
        infos = [op for op in history if op.type == "info"]
        assert infos and all(
            str(op.error).startswith("indeterminate: Malformed RPC response") for op in infos
        )
        assert "disallowed key debug" in str(infos[0].error)
        assert len({op.process for op in infos}) == len(infos)  # process changes after every info


def test_duplicate_unique_ids_are_invalid(tmp_path: Path) -> None:
    code, out, _ = harness(
        tmp_path, "dup-ids", "--node-count", "2", "--time-limit", "1", "--rate", "20", workload="unique-ids"
    )
    assert code == 1, out
    assert ":duplicated-count" in out


def test_unique_ids_with_partitions_is_valid(tmp_path: Path) -> None:
    code, out, run_dir = harness(
        tmp_path, "ids", "--node-count", "3", "--time-limit", "2", "--rate", "200", "--availability", "total",
        "--nemesis", "partition", "--nemesis-interval", "0.3", workload="unique-ids",
    )  # fmt: skip
    assert code == 0, out
    assert run_dir is not None
    history = read_history(run_dir / "history.edn")
    nemesis = [op for op in history if op.process == "nemesis"]
    assert nemesis and nemesis[0].f == "start-partition"
    assert nemesis[0].time < 50_000_000  # the first start goes at t≈0


def test_node_crash_mid_run_aborts_with_255(tmp_path: Path) -> None:
    code, out, run_dir = harness(tmp_path, "crash", "--node-count", "1", "--time-limit", "3", "--rate", "10")
    assert code == 255, out
    assert "Node n0 crashed with exit status 3" in out
    assert "about to crash" in out and "node-logs/n0.log" in out
    assert run_dir is not None and not (run_dir / "results.edn").exists()
    assert (run_dir / "history.edn").exists()


def test_node_that_never_answers_init_aborts(tmp_path: Path) -> None:
    code, out, _ = harness(
        tmp_path, "hang-init", "--node-count", "2", "--time-limit", "1", "--init-timeout", "1"
    )
    assert code == 255, out
    assert "Expected node n0 to respond to an init message" in out or "Expected node n1" in out


@pytest.mark.parametrize(
    ("mode", "kind", "text"),
    [
        ("garbage", "line-not-valid-json", "hello from the node, this is not JSON"),
        ("unknown-dest", "invalid-dest", '"dest": "n99"'),
        ("endless-line", "line-too-long", "MiB to STDOUT without a newline"),
    ],
)
def test_node_faults_make_the_run_invalid(tmp_path: Path, mode: str, kind: str, text: str) -> None:
    # rate 20 so the node answers its 3rd request well within the 1 s time limit
    code, out, run_dir = harness(tmp_path, mode, "--node-count", "1", "--time-limit", "1", "--rate", "20")
    assert code == 1, out
    assert f"NODE FAULT ({kind})" in out and "n0" in out and text in out
    assert run_dir is not None
    results = json.loads((run_dir / "results.json").read_text())
    assert results["nodes"]["valid?"] is False
    assert results["nodes"]["faults"][0]["kind"] == kind
    assert list(results)[-3:] == ["nodes", "workload", "valid?"]


def test_missing_bin_and_unknown_option_exit_254(tmp_path: Path) -> None:
    proc = subprocess.run(
        [PYTHON, "-m", "harness", "test", "-w", "echo"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 254
    assert "Expected a --bin PATH_TO_BINARY to test" in proc.stderr
    proc = subprocess.run(
        [PYTHON, "-m", "harness", "test", "-w", "echo", "--bin", "x", "--frobnicate", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 254 and "--frobnicate" in proc.stderr


def test_unrunnable_binary_exits_255(tmp_path: Path) -> None:
    proc = subprocess.run(
        [PYTHON, "-m", "harness", "test", "-w", "echo", "--bin", str(tmp_path / "missing"), "--store",
         str(tmp_path / "store"), "--time-limit", "1", "--node-count", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 255
    assert "Could not start node n0" in proc.stderr


def test_same_seed_same_ops_and_nemesis_schedule(tmp_path: Path) -> None:
    def run_once(sub: str) -> tuple[list, list]:
        code, out, run_dir = harness(
            tmp_path / sub, "echo", "--node-count", "3", "--time-limit", "1.5", "--rate", "20", "--seed", "99",
            "--nemesis", "partition", "--nemesis-interval", "0.2",
        )  # fmt: skip
        assert code == 0, out
        assert run_dir is not None
        history = read_history(run_dir / "history.edn")
        values = [op.value for op in history if op.type == "invoke"]
        # values, not their repr: a frozenset's printed order follows the process's string hashes
        nemesis = [(op.f, op.value) for op in history if op.process == "nemesis"]
        return values, nemesis

    v1, n1 = run_once("a")
    v2, n2 = run_once("b")
    common = min(len(v1), len(v2))
    assert common >= 10 and v1[:common] == v2[:common]
    common = min(len(n1), len(n2))
    assert common >= 4 and n1[:common] == n2[:common]


def test_late_reply_to_a_closed_client_is_a_fault(tmp_path: Path) -> None:
    """A reply after the client timed out and was closed goes to an unknown dest: a node fault."""
    from harness.client import ClientTimeout, RPCClient
    from harness.net.network import Network
    from harness.nodeio import NodeHooks
    from harness.processes import NodeProcess

    script = (
        "import sys, json, time\n"
        "for line in sys.stdin:\n"
        "    m = json.loads(line); time.sleep(0.3)\n"
        "    print(json.dumps({'src': 'n1', 'dest': m['src'], 'body': {'type': 'echo_ok', 'in_reply_to': m['body']['msg_id']}}), flush=True)\n"
    )

    async def main() -> list:
        net = Network()
        faults: list = []
        node = NodeProcess(
            "n1",
            net,
            tmp_path / "n1.log",
            NodeHooks(faults.append, lambda n: None),
        )
        await node.start([PYTHON, "-c", script], str(tmp_path))
        client = RPCClient(net, "c7", "n1", timeout=0.1)
        with pytest.raises(ClientTimeout):
            await client.request({"type": "echo"})
        client.close()
        for _ in range(100):
            if faults:
                break
            await asyncio.sleep(0.02)
        await node.stop()
        return faults

    faults = asyncio.run(main())
    assert len(faults) == 1
    assert (
        faults[0].kind == "invalid-dest" and "'c7'" in faults[0].message and "late reply" in faults[0].message
    )


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_kills_every_node_process_and_its_children(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    cmd = [
        PYTHON, "-m", "harness", "test", "-w", "echo", "--bin", PYTHON, str(NODE), "forks", marker,
        "--node-count", "2", "--time-limit", "30", "--store", str(tmp_path / "store"), "--no-plots",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # pytest may run us with SIGINT ignored
    )  # fmt: skip
    try:
        # both nodes and both of their children (the harness's own argv names a pytest dir: not counted)
        assert len(until(lambda: live_processes_with(marker), lambda found: len(found) >= 4)) == 4
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, out
    assert gone(marker) == []


def test_error_mapping_follows_with_errors_and_idempotent_fs() -> None:
    """Definite codes and idempotent fs fail; the rest is info; without with_errors all is info."""
    from harness.client import ClientTimeout, MalformedResponse, RPCErrorReply
    from harness.history import Op, kw
    from harness.interpreter import Interpreter
    from harness.net.network import Network
    from harness.options import TestOptions
    from harness.workloads.base import Workload

    class Plain(Workload):
        name = "plain"
        idempotent = frozenset({"read"})

    class NoErrors(Plain):
        with_errors = False

    async def mapped(cls: type[Workload], f: str, e: Exception) -> Op:
        test = TestOptions(workload="plain", nodes=["n0"], concurrency=1)
        interp = Interpreter(test, cls(test, __import__("random").Random(1)), Network(), None, None)  # type: ignore[arg-type]
        return interp._map_error(Op("invoke", f, 0, "v"), e)

    def err(code: int | None) -> RPCErrorReply:
        return RPCErrorReply(code, "text", {"type": "error", "code": code, "text": "text", "in_reply_to": 1})

    op = asyncio.run(mapped(Plain, "write", err(20)))
    assert (op.type, op.error, op.value) == ("fail", [kw("key-does-not-exist"), "text"], "v")
    op = asyncio.run(mapped(Plain, "write", err(13)))
    assert (op.type, op.error) == ("info", [kw("crash"), "text"])
    op = asyncio.run(mapped(Plain, "write", err(1000)))
    assert (op.type, op.error) == ("info", [kw("unknown"), "text"])
    assert asyncio.run(mapped(Plain, "read", err(13))).type == "fail"  # idempotent
    op = asyncio.run(mapped(Plain, "write", ClientTimeout()))
    assert (op.type, op.error) == ("info", kw("net-timeout"))
    assert asyncio.run(mapped(Plain, "read", ClientTimeout())).type == "fail"
    op = asyncio.run(mapped(Plain, "read", MalformedResponse("bad reply")))
    assert op.type == "info" and op.error == "indeterminate: bad reply" and "exception" in op.extra
    op = asyncio.run(mapped(NoErrors, "read", err(20)))
    assert op.type == "info" and op.error.startswith("indeterminate: throw+: {:type :rpc-error, :code 20")
    op = asyncio.run(mapped(NoErrors, "add", ClientTimeout()))
    assert op.type == "info" and op.error == "indeterminate: Client read timeout"
    via = op.extra["exception"][kw("via")][0]
    assert str(via[kw("type")]) == "clojure.lang.ExceptionInfo"
