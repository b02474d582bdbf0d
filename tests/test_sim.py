"""The deterministic simulation (``maelstrom test --sim``, harness/sim.py).

Whole runs in this process on virtual time: the same seed gives byte-identical history.edn and
results.edn for every workload; kill and pause really happen (a killed instance's memory is gone,
a paused one answers nothing until resume); node faults, crashes and wrong answers of programs
built on common are caught as in real mode; what cannot be simulated is refused clearly.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.client import ClientTimeout, RPCClient
from harness.net.network import Network
from harness.nodeio import NodeFault, NodeHooks
from harness.sim import EPOCH_NS, SimNode, run_simulation, sim_program_problem
from tests.simrun import node_bin, run_test

ROOT = Path(__file__).resolve().parent.parent
NODES = ROOT / "tests" / "nodes"

#: one short run per workload: (workload, bin and its words, flags)
WORKLOADS: dict[str, tuple[list[str], list[str]]] = {
    "echo": (["echo/main.py"], ["--node-count", "1", "--time-limit", "2"]),
    "unique-ids": (
        ["unique-id-generation/main.py", "local"],
        ["--node-count", "3", "--rate", "200", "--time-limit", "2", "--nemesis", "partition", "--nemesis-interval", "0.5"],
    ),
    "broadcast": (
        ["efficient-broadcast/main.py"],
        ["--node-count", "10", "--rate", "50", "--time-limit", "2", "--latency", "100", "--nemesis", "partition",
         "--nemesis-interval", "0.5", "--recovery-time", "2"],
    ),
    "g-set": (
        [str(NODES / "gset_node.py"), "durable", "-"],
        ["--node-count", "3", "--rate", "40", "--time-limit", "3", "--nemesis", "kill,pause,partition",
         "--nemesis-interval", "0.4", "--recovery-time", "1.5"],
    ),
    "g-counter": (
        ["grow-only-counter/main.py"],
        ["--node-count", "3", "--rate", "100", "--time-limit", "2", "--nemesis", "partition", "--nemesis-interval", "0.5"],
    ),
    "pn-counter": (
        [str(NODES / "crdt_node.py"), "pn"],
        ["--node-count", "3", "--rate", "50", "--time-limit", "2", "--nemesis", "partition", "--recovery-time", "1"],
    ),
    "lin-kv": (
        [str(NODES / "lin_kv_node.py"), "proxy"],
        ["--node-count", "3", "--concurrency", "2n", "--rate", "50", "--time-limit", "2"],
    ),
    "kafka": (
        ["efficient-kafka-style-log/main.py"],
        ["--node-count", "2", "--concurrency", "2n", "--rate", "200", "--time-limit", "2", "--nemesis", "kill",
         "--nemesis-interval", "0.5"],
    ),
    "txn-list-append": (
        [str(NODES / "list_append_node.py"), "serial"],
        ["--node-count", "1", "--rate", "100", "--concurrency", "10", "--time-limit", "2"],
    ),
    "txn-rw-register": (
        ["totally-available-read-committed-transactions/main.py"],
        ["--node-count", "2", "--concurrency", "2n", "--rate", "200", "--time-limit", "2",
         "--consistency-models", "read-committed", "--availability", "total", "--nemesis", "partition",
         "--nemesis-interval", "0.5"],
    ),
}  # fmt: skip


def _sim(tmp_path: Path, name: str, workload: str, seed: int, *extra: str) -> tuple[int, Path, str]:
    bin_words, flags = WORKLOADS[workload]
    store = tmp_path / name
    run_dir_file = tmp_path / f"{name}.dir"
    args = [
        "-w", workload, "--bin", str(ROOT / bin_words[0]), *bin_words[1:], *flags, "--seed", str(seed),
        "--store", str(store), "--no-plots", "--quiet-ops", "--run-dir-file", str(run_dir_file), *extra,
    ]  # fmt: skip
    code, out = run_test(args, sim=True)
    assert run_dir_file.is_file(), out
    return code, Path(run_dir_file.read_text().strip()), out


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_the_same_seed_gives_byte_identical_history_and_results(tmp_path: Path, workload: str) -> None:
    code_a, a, out = _sim(tmp_path, "a", workload, 3)
    code_b, b, _ = _sim(tmp_path, "b", workload, 3)
    assert code_a == 0, out  # the programs are correct: a valid run, not an aborted one
    assert code_b == code_a
    for name in ("history.edn", "results.edn", "net-journal.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # and the seed matters: another one gives another history
    _, c, _ = _sim(tmp_path, "c", workload, 4)
    assert (c / "history.edn").read_bytes() != (a / "history.edn").read_bytes()


def test_raft_under_kill_and_partition_finishes_and_repeats(tmp_path: Path) -> None:
    """raft-lin-kv's forwarder loops ``while deadline - now() > 0: wait(timeout=left)``; a left of
    one float ulp once made that spin for ever at one virtual instant (a timer less than 1 ns
    ahead ran at once with the clock unchanged). Timers are now due at a later whole ns."""
    runs = []
    for name in ("a", "b"):
        run_dir_file = tmp_path / f"{name}.dir"
        args = [
            "-w", "lin-kv", "--bin", str(ROOT / "raft-lin-kv" / "main.py"), "--node-count", "3",
            "--concurrency", "4n", "--rate", "30", "--time-limit", "20", "--nemesis", "kill,partition",
            "--seed", "7", "--store", str(tmp_path / name), "--no-plots", "--quiet-ops",
            "--run-dir-file", str(run_dir_file),
        ]  # fmt: skip
        code, out = run_test(args, sim=True)
        assert code == 0, out[-3000:]
        runs.append(Path(run_dir_file.read_text().strip()))
    for name in ("history.edn", "results.edn"):
        assert (runs[0] / name).read_bytes() == (runs[1] / name).read_bytes(), name


def test_history_times_are_virtual(tmp_path: Path) -> None:
    """Ops follow the rate schedule exactly: in virtual time an echo takes no time at all."""
    code, run, out = _sim(tmp_path, "a", "echo", 1)
    assert code == 0, out
    from harness.edn import read_history

    history = read_history(run / "history.edn")
    pairs = list(zip(history[::2], history[1::2], strict=True))
    # zero latency, zero compute (up to the 1 ns a float timer is rounded up to on the ns clock)
    assert pairs and all(0 <= done.time - invoke.time <= 1 for invoke, done in pairs)
    assert max(op.time for op in history) < 2.5e9


def test_another_process_with_the_same_seed_repeats_the_run(tmp_path: Path) -> None:
    """The CLI re-executes itself with PYTHONHASHSEED=0, so a run repeats across processes too
    (set iteration order in node code follows the string hash)."""
    dirs = []
    for name, hash_seed in (("a", "1"), ("b", "random")):
        store = tmp_path / name
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        bin_words, flags = WORKLOADS["broadcast"]
        command = [
            sys.executable, "-m", "harness", "test", "-w", "broadcast", "--bin", bin_words[0], *flags,
            "--seed", "7", "--store", str(store), "--no-plots", "--quiet-ops", "--sim",
        ]  # fmt: skip
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=100)
        assert done.returncode == 0, done.stderr[-3000:]
        dirs.append((store / "broadcast" / "latest").resolve())
    assert (dirs[0] / "history.edn").read_bytes() == (dirs[1] / "history.edn").read_bytes()
    assert (dirs[0] / "results.edn").read_bytes() == (dirs[1] / "results.edn").read_bytes()


# -- kill and pause, driven directly -------------------------------------------------------------


def _drive(program: list[str], scenario: Any) -> Any:
    """Run ``scenario(node, request)`` against one SimNode of ``program`` on a SimLoop."""

    async def main(data: Path) -> Any:
        net = Network(clock=asyncio.get_running_loop().time_ns)  # type: ignore[attr-defined]
        faults: list[NodeFault] = []
        crashes: list[str] = []
        node = SimNode(
            "n0",
            net,
            data / "logs" / "n0.log",
            NodeHooks(faults.append, lambda n: crashes.append(n.crash_report())),
            data_dir=data,
            seed=1,
        )
        counter = iter(range(1000))

        def client() -> RPCClient:
            c = RPCClient(net, f"c{next(counter)}", "n0", 1.0)
            return c

        async def request(body: dict[str, Any], timeout: float = 1.0) -> dict[str, Any]:
            c = client()
            try:
                return await c.request(body, timeout)
            finally:
                c.close()

        async def init(n: SimNode) -> None:
            c = client()
            net.admit("n0", c.id)
            try:
                reply = await c.request({"type": "init", "node_id": "n0", "node_ids": ["n0"]}, 1.0)
            finally:
                c.close()
            assert reply["type"] == "init_ok", reply

        await node.start([str(NODES / program[0]), *program[1:]], str(data))
        await init(node)
        try:
            return await scenario(node, request, init)
        finally:
            await node.stop()
            await net.close()
            assert faults == [] and crashes == []

    data = Path(os.environ["MAELSTROM_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    return run_simulation(main(data))


def test_a_paused_node_answers_nothing_until_resumed_and_its_timers_wait() -> None:
    async def scenario(node: SimNode, request: Any, init: Any) -> None:
        loop = asyncio.get_running_loop()
        assert (await request({"type": "add", "element": 1}))["type"] == "add_ok"
        assert node.pause().name == "paused"
        paused_at = loop.time()
        pending = asyncio.ensure_future(request({"type": "read"}, timeout=30.0))
        await asyncio.sleep(5.0)  # virtual: five seconds pass, and the node says nothing
        assert not pending.done()
        with pytest.raises(ClientTimeout):
            await request({"type": "read"}, timeout=1.0)
        assert node.resume().name == "resumed"
        reply = await pending  # what waited in its input is read at resume
        assert reply["value"] == [1] and loop.time() - paused_at == pytest.approx(6.0)

    _drive(["gset_node.py", "memory"], scenario)


def test_a_killed_node_loses_its_memory_and_keeps_its_journal() -> None:
    async def scenario(node: SimNode, request: Any, init: Any) -> list[Any]:
        seen = []
        for element in (1, 2):
            assert (await request({"type": "add", "element": element}))["type"] == "add_ok"
        assert (await node.crash()).name == "killed"
        with pytest.raises(ClientTimeout):  # down: messages to it wait, unanswered
            await request({"type": "read"}, timeout=1.0)
        assert (await node.restart(init)).name == "started"
        seen.append((await request({"type": "read"}))["value"])
        assert node.pids == [1, 2]
        return seen

    assert _drive(["gset_node.py", "memory"], scenario) == [[]]  # all in memory: gone
    assert _drive(["gset_node.py", "durable", "-"], scenario) == [[1, 2]]  # fsynced before add_ok


def test_a_killed_node_runs_nothing_more() -> None:
    """Its gossip timer never fires again: nothing is sent from a killed instance."""

    async def scenario(node: SimNode, request: Any, init: Any) -> int:
        await request({"type": "add", "element": 1})
        sent = node.net.send_count
        await node.crash()
        await asyncio.sleep(10.0)
        return node.net.send_count - sent

    assert _drive(["gset_node.py", "memory"], scenario) == 0


def test_node_time_and_chance_are_virtual_and_seeded() -> None:
    async def scenario(node: SimNode, request: Any, init: Any) -> tuple[int, int]:
        instance = node._instance
        assert instance is not None and instance.node is not None
        return instance.node.wall_ns() - EPOCH_NS, instance.node.random.getrandbits(32)

    first = _drive(["gset_node.py", "memory"], scenario)
    assert first == _drive(["gset_node.py", "memory"], scenario)
    assert first[0] == 0  # no virtual time has passed by the first request


# -- broken nodes, real and simulated --------------------------------------------------------------


def _echo(tmp_path: Path, mode: str, sim: bool) -> tuple[int, dict[str, Any], str, Path | None]:
    store = tmp_path / ("sim" if sim else "real")
    args = [
        "-w", "echo", *node_bin(NODES / "common_echo_node.py", sim), mode, "--node-count", "1",
        "--time-limit", "2", "--rate", "10", "--seed", "1", "--store", str(store), "--no-plots",
    ]  # fmt: skip
    code, out = run_test(args, sim)
    latest = store / "echo" / "latest"
    run = latest.resolve() if latest.exists() else None
    results = run / "results.json" if run else None
    data = json.loads(results.read_text()) if results and results.is_file() else {}
    return code, data, out, run


@pytest.mark.parametrize("mode", ["echo", "wrong-echo", "unknown-dest", "exit", "stray-print"])
def test_a_common_node_gets_the_same_verdict_in_sim_as_in_real_mode(tmp_path: Path, mode: str) -> None:
    real = _echo(tmp_path, mode, sim=False)
    sim = _echo(tmp_path, mode, sim=True)
    assert sim[0] == real[0], (real[2][-2000:], sim[2][-2000:])
    expected = {"echo": 0, "wrong-echo": 1, "unknown-dest": 1, "exit": 255, "stray-print": 0}[mode]
    assert sim[0] == expected, sim[2][-3000:]
    if mode == "unknown-dest":
        for _, results, _, _ in (real, sim):
            [fault] = results["nodes"]["faults"]
            assert fault["kind"] == "invalid-dest" and '"n99"' in fault["line"]
    if mode == "exit":
        assert "crashed with exit status 3" in sim[2] and "crashed with exit status 3" in real[2]
    if mode == "stray-print":
        run = sim[3]
        assert run is not None and "echo number 1" in (run / "node-logs" / "n0.log").read_text()


# -- what cannot be simulated ----------------------------------------------------------------------


def test_a_program_not_built_on_common_is_refused_with_exit_254(tmp_path: Path) -> None:
    assert "does not import common" in (sim_program_problem(str(NODES / "fake_node.py")) or "")
    # a native program: told how to build it for WebAssembly, which --sim does run
    native = sim_program_problem("/bin/sh") or ""
    assert "GOOS=wasip1 GOARCH=wasm" in native and "wasm32-wasip1" in native
    (tmp_path / "notes.txt").write_text("not a program\n")
    assert "is neither" in (sim_program_problem(str(tmp_path / "notes.txt")) or "")
    assert sim_program_problem(str(ROOT / "echo" / "main.py")) is None
    code, out = run_test(
        ["-w", "echo", "--bin", str(NODES / "fake_node.py"), "--store", str(tmp_path)], sim=True
    )
    assert code == 254 and "--sim needs a node built on common" in out


def test_real_io_in_a_node_is_refused_and_the_run_aborts(tmp_path: Path) -> None:
    """unique-ids' Redis backend (its default) would reach outside the simulation."""
    env_url = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there: never a real server
    try:
        code, out = run_test(
            ["-w", "unique-ids", "--bin", str(ROOT / "unique-id-generation" / "main.py"), "--node-count", "1",
             "--time-limit", "1", "--store", str(tmp_path), "--no-plots", "--seed", "1"],
            sim=True,
        )  # fmt: skip
    finally:
        if env_url is None:
            os.environ.pop("REDIS_URL", None)
        else:
            os.environ["REDIS_URL"] = env_url
    assert code == 255, out[-2000:]
    assert "real I/O is outside the simulation" in out and "main.py local" in out


# -- many seeds ----------------------------------------------------------------------------------


def test_test_count_runs_every_seed_and_names_each_failing_one(tmp_path: Path) -> None:
    args = [
        "-w", "g-set", "--bin", str(NODES / "crdt_node.py"), "gset-replace", "--node-count", "3",
        "--rate", "50", "--time-limit", "2", "--nemesis", "partition", "--nemesis-interval", "0.5",
        "--recovery-time", "1", "--seed", "10", "--test-count", "4", "--store", str(tmp_path),
        "--no-plots", "--quiet-ops",
    ]  # fmt: skip
    code, out = run_test(args, sim=True)
    runs = [p for p in (tmp_path / "g-set").iterdir() if not p.is_symlink()]
    assert len(runs) == 4  # it went on past the failures
    failing = [line for line in out.splitlines() if line.startswith("  seed ")]
    assert code == 1 and failing and f"{len(failing)} of 4 seeds failed:" in out
    seeds = {json.loads((r / "test.json").read_text())["seed"]: r for r in runs}
    assert sorted(seeds) == [10, 11, 12, 13]
    for line in failing:
        seed = int(line.split()[1].rstrip(":"))
        assert json.loads((seeds[seed] / "results.json").read_text())["valid?"] is False
        assert line.endswith(f"--seed {seed}") and "--test-count" not in line and "--sim" in line
    valid = [s for s, r in seeds.items() if json.loads((r / "results.json").read_text())["valid?"] is True]
    assert len(valid) + len(failing) == 4


def test_a_seed_of_a_test_count_series_reproduces_alone(tmp_path: Path) -> None:
    """The series runs in one process; its second seed alone, in a fresh series, is the same run."""
    bin_words, flags = WORKLOADS["kafka"]
    common = ["-w", "kafka", "--bin", str(ROOT / bin_words[0]), *flags, "--no-plots", "--quiet-ops"]
    code, out = run_test(
        [*common, "--seed", "20", "--test-count", "2", "--store", str(tmp_path / "series")], sim=True
    )
    assert code == 0, out[-2000:]
    code, out = run_test([*common, "--seed", "21", "--store", str(tmp_path / "alone")], sim=True)
    assert code == 0, out[-2000:]
    series = {
        json.loads((r / "test.json").read_text())["seed"]: r
        for r in (tmp_path / "series" / "kafka").iterdir()
        if not r.is_symlink()
    }
    alone = (tmp_path / "alone" / "kafka" / "latest").resolve()
    for name in ("history.edn", "results.edn"):
        assert (series[21] / name).read_bytes() == (alone / name).read_bytes(), name


def test_what_a_node_sent_before_it_was_killed_is_still_delivered() -> None:
    """A message in flight belongs to the network, not to its sender: killing the sender while
    its gossip is on the wire (100 ms latency) does not lose it."""

    async def main(data: Path) -> list[int]:
        loop = asyncio.get_running_loop()
        net = Network(lambda: 100, clock=loop.time_ns)  # type: ignore[attr-defined]
        nodes = {
            n: SimNode(
                n,
                net,
                data / "logs" / f"{n}.log",
                NodeHooks(lambda f: None, lambda n: None),
                data_dir=data,
                seed=1,
            )
            for n in ("n0", "n1")
        }
        clients = iter(range(100))

        async def request(node: str, body: dict[str, Any]) -> dict[str, Any]:
            c = RPCClient(net, f"c{next(clients)}", node, 1.0)
            try:
                return await c.request(body, 1.0)
            finally:
                c.close()

        for n, node in nodes.items():
            await node.start([str(NODES / "gset_node.py"), "memory"], str(data))
            await request(n, {"type": "init", "node_id": n, "node_ids": list(nodes)})
        await request("n0", {"type": "add", "element": 7})
        start = loop.time()
        sent = net.send_count
        while net.send_count == sent:  # until n0's first gossip (after 1 s) is on the wire
            await asyncio.sleep(0.01)
        await nodes["n0"].crash()
        assert loop.time() - start < 1.1
        await asyncio.sleep(0.5)
        value = (await request("n1", {"type": "read"}))["value"]
        for node in nodes.values():
            await node.stop()
        await net.close()
        return list(value)

    data = Path(os.environ["MAELSTROM_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    assert run_simulation(main(data)) == [7]


def test_a_program_imports_its_sibling_modules_as_a_script_does(tmp_path: Path) -> None:
    """--sim loads a program with its own folder first on sys.path (raft-lin-kv imports raft.py);
    a sibling's msgspec types resolve their string annotations while the run goes on, and the
    next run imports its own copy of the sibling."""
    program = tmp_path / "prog"
    program.mkdir()
    sibling = "i22_sibling_echo"
    (program / f"{sibling}.py").write_text(
        "from __future__ import annotations\n"
        "from typing import Any\n"
        "from common.requests import Request\n"
        "class Echo(Request):\n"
        "    echo: Any\n"
    )
    (program / "main.py").write_text(
        "from common import Node\n"
        "from common.requests import parse\n"
        f"from {sibling} import Echo\n"
        "node = Node()\n"
        "@node.handler('echo')\n"
        "def echo(msg):\n"
        "    return {'type': 'echo_ok', 'echo': parse(msg, Echo).echo}\n"
        "if __name__ == '__main__':\n"
        "    node.run()\n"
    )
    for name in ("a", "b"):
        args = [
            "-w", "echo", "--bin", str(program / "main.py"), "--node-count", "2", "--time-limit", "2",
            "--seed", "1", "--store", str(tmp_path / name), "--no-plots", "--quiet-ops",
        ]  # fmt: skip
        code, out = run_test(args, sim=True)
        assert code == 0, out[-3000:]
        assert sibling not in sys.modules  # unlisted when the run ended
