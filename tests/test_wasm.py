"""WebAssembly nodes (harness/wasm): the project's Go nodes built for WASI, under --sim and real.

The Go toolchain comes with the dev dependencies (scripts/setup.sh); without it these tests
fail, saying so, rather than skip.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gowasm import EXAMPLES, ROOT, TEST_NODES, GoMissing, build, sim_instance
from simrun import run_test

from harness.runtime import WasmProcessRuntime, WasmSimRuntime, runtime_for

BROADCAST_3B = ["-w", "broadcast", "--node-count", "5", "--time-limit", "20", "--rate", "10"]
BROADCAST_3C = [*BROADCAST_3B, "--nemesis", "partition"]


@pytest.fixture(scope="session")
def go_nodes() -> dict[str, Path]:
    try:
        return {
            "echo": build(EXAMPLES / "echo"),
            "broadcast": build(EXAMPLES / "broadcast"),
            "broadcast-once": build(TEST_NODES / "go-broadcast-once"),
            "spin": build(TEST_NODES / "go-spin"),
        }
    except GoMissing as e:
        pytest.fail(str(e))


def maelstrom(args: list[str]) -> tuple[int, str]:
    """``maelstrom test ARGS`` in a fresh process (as a user runs it)."""
    done = subprocess.run(
        [sys.executable, "-m", "harness", "test", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


def test_a_wasm_module_can_be_simulated_and_a_native_program_is_told_how_to_build_one(
    go_nodes: dict[str, Path],
) -> None:
    echo = str(go_nodes["echo"])
    assert isinstance(runtime_for(echo, sim=True), WasmSimRuntime)
    assert isinstance(runtime_for(echo, sim=False), WasmProcessRuntime)
    assert runtime_for(echo, sim=True).program_problem(echo) is None
    problem = runtime_for(sys.executable, sim=True).program_problem(sys.executable) or ""
    assert "GOOS=wasip1 GOARCH=wasm" in problem and "wasm32-wasip1" in problem


@pytest.mark.parametrize("sim", [True, False], ids=["sim", "real"])
def test_the_go_echo_node_is_valid(go_nodes: dict[str, Path], tmp_path: Path, sim: bool) -> None:
    args = ["-w", "echo", "--bin", str(go_nodes["echo"]), "--node-count", "2", "--time-limit", "3"]
    code, out = run_test([*args, "--store", str(tmp_path), "--seed", "1"], sim=sim)
    assert code == 0, out
    assert ":echo {:valid? true" in out


@pytest.mark.parametrize("example", ["echo", "broadcast"])
def test_the_same_seed_twice_gives_byte_identical_runs_and_another_seed_differs(
    go_nodes: dict[str, Path], tmp_path: Path, example: str
) -> None:
    workload = ["-w", "echo"] if example == "echo" else ["-w", "broadcast", "--rate", "10"]
    common = [
        *workload,
        "--bin",
        str(go_nodes[example]),
        "--sim",
        "--node-count",
        "3",
        "--time-limit",
        "6",
        "--nemesis",
        "partition,kill,pause",
        "--nemesis-interval",
        "1",
        "--recovery-time",
        "2",
        "--no-plots",
    ]
    runs, codes = [], []
    for k, seed in enumerate([5, 5, 6]):
        store = tmp_path / f"run{k}"
        code, out = maelstrom([*common, "--seed", str(seed), "--store", str(store)])
        # valid, or invalid as a node that keeps its state in memory may be under kill; but every
        # killed node came back (a fresh instance answered init again) and none misbehaved
        assert code in (0, 1), out
        assert "NODE FAULT" not in out, out
        codes.append(code)
        runs.append(next(store.glob("*/latest")))
    assert codes[0] == codes[1]
    history = (runs[0] / "history.edn").read_text()
    assert ":kill" in history and ":pause" in history and ":start-partition" in history
    assert " :started" in history and " :resumed" in history
    for name in ("history.edn", "results.edn", "net-journal.jsonl"):
        assert (runs[0] / name).read_bytes() == (runs[1] / name).read_bytes(), name
    assert (runs[0] / "history.edn").read_bytes() != (runs[2] / "history.edn").read_bytes()


@pytest.mark.parametrize("sim", [True, False], ids=["sim", "real"])
@pytest.mark.parametrize("flags", [BROADCAST_3B, BROADCAST_3C], ids=["3b", "3c"])
def test_the_go_broadcast_node_is_valid_at_3b_and_3c_flags(
    go_nodes: dict[str, Path], tmp_path: Path, flags: list[str], sim: bool
) -> None:
    args = [
        *flags,
        "--bin",
        str(go_nodes["broadcast"]),
        "--store",
        str(tmp_path),
        "--seed",
        "3",
        "--no-plots",
    ]
    code, out = run_test(args, sim=sim)
    assert code == 0, out
    assert "Everything looks good!" in out


def test_the_go_broadcast_node_stays_valid_while_paused_and_partitioned_in_sim(
    go_nodes: dict[str, Path], tmp_path: Path
) -> None:
    # a paused instance only waits: what was delivered to it and its ticks run at resume
    args = [*BROADCAST_3B, "--nemesis", "partition,pause", "--nemesis-interval", "2"]
    args += ["--bin", str(go_nodes["broadcast"]), "--store", str(tmp_path), "--no-plots", "--quiet-ops"]
    code, out = run_test([*args, "--seed", "4"], sim=True)
    assert code == 0, out
    history = (next(tmp_path.glob("broadcast/latest")) / "history.edn").read_text()
    assert " :paused" in history and " :resumed" in history


def test_a_broadcast_node_that_never_resends_is_invalid_under_partitions_in_sim(
    go_nodes: dict[str, Path], tmp_path: Path
) -> None:
    node = ["--bin", str(go_nodes["broadcast-once"]), "--no-plots", "--quiet-ops"]
    # without faults it is valid: the checker's verdict below is about the lost messages
    code, out = run_test([*BROADCAST_3B, *node, "--store", str(tmp_path / "ok"), "--seed", "1"], sim=True)
    assert code == 0, out
    for seed in range(1, 21):
        code, out = run_test([*BROADCAST_3C, *node, "--store", str(tmp_path), "--seed", str(seed)], sim=True)
        if code == 1:
            assert ":lost-count" in out and "Analysis invalid!" in out
            return
        assert code == 0, out
    pytest.fail("the broken broadcast node was valid under partitions for 20 seeds")


def test_a_node_that_spins_forever_after_init_ends_the_run_with_a_fault_naming_it(
    go_nodes: dict[str, Path], tmp_path: Path
) -> None:
    args = ["-w", "echo", "--bin", str(go_nodes["spin"]), "--node-count", "1", "--time-limit", "10"]
    code, out = run_test([*args, "--store", str(tmp_path), "--seed", "1"], sim=True)
    assert code == 255, out
    assert "Node n0 ran 1,000,000,000 WebAssembly instructions without waiting" in out
    assert "Traceback" not in out


# -- programs that break: a clear message, never a traceback -----------------------------------------

WASI = '(import "wasi_snapshot_preview1"'
BROKEN_PROGRAMS = {
    "trap": ('(module (memory (export "memory") 1) (func (export "_start") unreachable))', "trapped"),
    "proc-exit": (
        f'(module {WASI} "proc_exit" (func $exit (param i32))) (memory (export "memory") 1)'
        '(func (export "_start") (call $exit (i32.const 3))))',
        "crashed with exit status 3",
    ),
    "foreign-import": (
        '(module (import "env" "now" (func (result i64))) (memory (export "memory") 1) (func (export "_start")))',
        "imports env.now, which are not WASI preview1 functions",
    ),
    "no-start": ('(module (memory (export "memory") 1) (func (export "init")))', "not a WASI command module"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_PROGRAMS))
def test_a_broken_program_ends_the_run_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    import wasmtime

    monkeypatch.setenv("MAELSTROM_WASM_CACHE", str(tmp_path / "cache"))
    wat, expected = BROKEN_PROGRAMS[kind]
    program = tmp_path / f"{kind}.wasm"
    program.write_bytes(wasmtime.wat2wasm(wat))
    args = ["-w", "echo", "--bin", str(program), "--node-count", "1", "--time-limit", "2"]
    code, out = run_test([*args, "--store", str(tmp_path), "--seed", "1"], sim=True)
    assert code == 255, out
    assert expected in out and "Traceback" not in out


def test_a_module_is_compiled_once_then_loaded_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from harness.wasm.engine import load_module

    monkeypatch.setenv("MAELSTROM_WASM_CACHE", str(tmp_path / "cache"))
    program = tmp_path / "tiny.wasm"
    program.write_bytes(b"\0asm\x01\0\0\0")  # the smallest valid module
    first, second = io.StringIO(), io.StringIO()
    load_module(program, say=first)
    load_module(program, say=second)
    assert first.getvalue().count("\n") == 1 and "Compiling" in first.getvalue()
    assert second.getvalue() == ""
    assert len(list((tmp_path / "cache").glob("*.cwasm"))) == 1


# -- the data directory: files, fsync, and what a kill loses ------------------------------------------


def _ask(host: Any, body: dict[str, Any]) -> dict[str, Any]:
    host.stdin += json.dumps({"src": "c1", "dest": "n1", "body": body}).encode() + b"\n"
    host.resume()
    lines = b"".join(data for fd, data in host.output if fd == 1).splitlines()
    host.output.clear()
    assert len(lines) == 1, lines
    reply: dict[str, Any] = json.loads(lines[0])["body"]
    return reply


def test_a_node_keeps_synced_writes_across_a_kill_and_loses_the_rest(tmp_path: Path) -> None:
    from harness.wasm.engine import load_module

    try:
        module = load_module(build(TEST_NODES / "go-durable"))
    except GoMissing as e:
        pytest.fail(str(e))
    first = sim_instance(module, "n1", tmp_path)
    assert (
        _ask(first, {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]})["type"] == "init_ok"
    )
    _ask(first, {"type": "append", "msg_id": 2, "value": "synced", "sync": True})
    _ask(first, {"type": "append", "msg_id": 3, "value": "unsynced"})
    assert _ask(first, {"type": "read", "msg_id": 4})["lines"] == ["synced", "unsynced"]
    first.kill()  # type: ignore[attr-defined]
    assert (tmp_path / "n1.lines").read_text() == "synced\n"
    second = sim_instance(module, "n1", tmp_path, number=2)
    _ask(second, {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]})
    assert _ask(second, {"type": "read", "msg_id": 2})["lines"] == ["synced"]
    _ask(second, {"type": "append", "msg_id": 3, "value": "again", "sync": True})
    second.kill()  # type: ignore[attr-defined]
    assert (tmp_path / "n1.lines").read_text() == "synced\nagain\n"


def test_a_node_cannot_reach_outside_its_data_directory(tmp_path: Path) -> None:
    from harness.wasm.files import ENOTCAPABLE, DataDir

    files = DataDir(tmp_path / "data", simulated=True)
    (tmp_path / "data").mkdir()
    assert files.open(3, b"../secret", 1, 0, True) == (ENOTCAPABLE, -1)
    assert files.open(3, b"/etc/passwd", 0, 0, False) == (ENOTCAPABLE, -1)
    assert files.open(3, b"fine", 1, 0, True)[0] == 0


# -- a blocking reader (Rust's std reads stdin without O_NONBLOCK) --------------------------------------

BLOCKING_CAT = f"""(module
  {WASI} "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  {WASI} "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 256))
    (loop $again
      (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
      (if (i32.eqz (i32.load (i32.const 16))) (then (return)))
      (i32.store (i32.const 32) (i32.const 64))
      (i32.store (i32.const 36) (i32.load (i32.const 16)))
      (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 20)))
      (br $again))))"""


def test_a_blocking_read_waits_for_input_in_sim_and_in_a_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wasmtime

    from harness.wasm.engine import load_module

    monkeypatch.setenv("MAELSTROM_WASM_CACHE", str(tmp_path / "cache"))
    program = tmp_path / "cat.wasm"
    program.write_bytes(wasmtime.wat2wasm(BLOCKING_CAT))
    host: Any = sim_instance(load_module(program, say=None), "n1")
    host.resume()  # suspended in fd_read: nothing to read yet
    assert host.output == [] and not host.ended
    for text in (b"one\n", b"two\n"):
        host.stdin += text
        host.resume()
        assert host.output == [(1, text)] and not host.ended
        host.output.clear()
    host.kill()
    done = subprocess.run(
        [sys.executable, "-m", "harness.wasm", str(program)],
        input=b"hello\n",
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout == b"hello\n", done.stderr
