"""Kill and pause faults: the processes really die, stop and come back; the runner survives them.

NodeProcess is driven directly for the signals (pids, a paused node's silence), and whole runs of
a tiny g-set node (tests/nodes/gset_node.py) show the verdicts: an in-memory node loses
acknowledged elements under kill and is named invalid, a node that fsyncs before add_ok passes
under kill, pause and partition together, and a node that never comes back is reported.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from waiting import until

from harness.client import ClientTimeout, RPCClient
from harness.edn import read_history
from harness.fault_intervals import faults_by_kind
from harness.history import NEMESIS, OK, kw
from harness.nemesis import DB_TARGETS, DbNemesis, db_nodes
from harness.net.network import Network
from harness.nodeio import NodeHooks
from harness.processes import NodeProcess
from tests.simrun import node_bin, run_test

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "tests" / "nodes" / "gset_node.py"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0] != "Z"


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0]


async def _state_once_settled(pid: int, wanted: str, within: float = 10.0) -> str:
    """The process state, read until it is ``wanted`` or ``within`` seconds pass: a signal takes
    effect only when the process is next scheduled, which on a loaded machine can take a while."""
    deadline = asyncio.get_running_loop().time() + within
    state = _state(pid)
    while state != wanted and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
        state = _state(pid)
    return state


def test_kill_restart_pause_resume_on_a_real_process(tmp_path: Path) -> None:
    async def main() -> dict[str, Any]:
        net = Network()
        crashes: list[str] = []
        node = NodeProcess(
            "n1",
            net,
            tmp_path / "n1.log",
            NodeHooks(lambda f: crashes.append(f.message), lambda n: crashes.append(f"crash {n.id}")),
        )
        seen: dict[str, Any] = {}
        await node.start([sys.executable, str(NODE), "memory"], str(tmp_path))
        next_client = iter(range(100))

        async def call(body: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
            client = RPCClient(net, f"c{next(next_client)}", "n1", timeout)
            try:
                return await client.request(body, timeout)
            finally:
                client.close()

        async def init(n: NodeProcess) -> None:
            client = RPCClient(net, f"c{next(next_client)}", "n1", 5.0)
            net.admit("n1", client.id)
            try:
                seen["reinit"] = await client.request(
                    {"type": "init", "node_id": "n1", "node_ids": ["n1"]}, 5
                )
            finally:
                client.close()

        await call({"type": "init", "node_id": "n1", "node_ids": ["n1"]})
        await call({"type": "add", "element": 7})
        first = node.pid
        assert first is not None
        seen["killed"] = await node.crash()
        seen["first_alive"] = _alive(first)
        # a request sent while the node is dead waits (undelivered), so it times out
        try:
            await call({"type": "read"}, 0.3)
            seen["read_while_dead"] = "answered"
        except ClientTimeout:
            seen["read_while_dead"] = "timeout"
        seen["started"] = await node.restart(init)
        seen["pids"] = list(node.pids)
        seen["read_after_restart"] = (await call({"type": "read"}))["value"]
        seen["paused"] = node.pause()
        assert node.pid is not None
        try:
            await call({"type": "read"}, 0.3)
            seen["read_while_paused"] = "answered"
        except ClientTimeout:
            seen["read_while_paused"] = "timeout"
        seen["state_paused"] = await _state_once_settled(node.pid, "T")
        seen["resumed"] = node.resume()
        seen["read_after_resume"] = (await call({"type": "read"}))["value"]
        node.pause()  # teardown must end a paused process too
        last = node.pid
        await node.stop()
        seen["last_alive"] = _alive(last)
        seen["crashes"] = crashes
        return seen

    seen = asyncio.run(main())
    assert seen["killed"] == kw("killed") and not seen["first_alive"]
    assert seen["read_while_dead"] == "timeout"
    assert seen["started"] == kw("started") and seen["reinit"]["type"] == "init_ok"
    assert len(seen["pids"]) == 2 and seen["pids"][0] != seen["pids"][1]
    assert seen["read_after_restart"] == []  # the in-memory set died with the process
    assert (seen["paused"], seen["state_paused"], seen["read_while_paused"]) == (kw("paused"), "T", "timeout")
    assert (seen["resumed"], seen["read_after_resume"]) == (kw("resumed"), [])
    assert not seen["last_alive"] and seen["crashes"] == []


def test_messages_to_a_killed_node_wait_and_clients_gone_by_restart_are_dropped() -> None:
    async def main() -> tuple[list[str], int]:
        net = Network(latency=lambda: 0)
        got: list[str] = []
        net.register("n1", lambda m: got.append(f"{m.src}:{m.body['type']}"))
        net.register("n2", lambda m: None)
        net.register("c1", lambda m: None, direct=True)
        net.register("c2", lambda m: None, direct=True)
        net.hold("n1")
        net.send("n2", "n1", {"type": "gossip"})
        net.send("c1", "n1", {"type": "read"})
        net.send("c2", "n1", {"type": "init"})
        net.unregister("c1")  # timed out and closed while n1 was down
        net.admit("n1", "c2")
        await asyncio.sleep(0)
        before = list(got)
        net.release("n1")
        await asyncio.sleep(0)
        return [*before, "|", *got[len(before) :]], net.dropped_count

    got, dropped = asyncio.run(main())
    assert got == ["c2:init", "|", "n2:gossip"]
    assert dropped == 1


def test_db_node_specs_follow_jepsen() -> None:
    rng = random.Random(3)
    nodes = ["n1", "n2", "n3", "n4", "n5"]
    assert len(db_nodes("one", nodes, rng)) == 1
    assert len(db_nodes("minority", nodes, rng)) == 2
    assert len(db_nodes("majority", nodes, rng)) == 3
    assert len(db_nodes("minority-third", nodes, rng)) == 1
    assert db_nodes("all", nodes, rng) == nodes
    assert db_nodes("minority", ["n1"], rng) == [] and db_nodes("minority-third", nodes[:3], rng) == []
    sizes = {len(db_nodes(None, nodes, rng)) for _ in range(200)}
    assert sizes == {1, 2, 3, 4, 5}
    nem = DbNemesis(["kill"], [], rng, 1.0, restart_init=None, on_failed_start=None)  # type: ignore[arg-type]
    ops = [nem.next_op() for _ in range(6)]
    assert [f for f, _ in ops] == ["kill", "start"] * 3
    assert all(v == kw("all") for f, v in ops if f == "start")
    assert {None if v is None else v.name for f, v in ops if f == "kill"} <= set(DB_TARGETS)
    both = DbNemesis(["kill", "pause"], [], random.Random(1), 1.0, None, None)  # type: ignore[arg-type]
    fs = [both.next_op()[0] for _ in range(40)]
    # each flip-flop alternates on its own, and the two interleave
    assert [f for f in fs if f in ("kill", "start")][:4] == ["kill", "start", "kill", "start"]
    assert [f for f in fs if f in ("pause", "resume")][:4] == ["pause", "resume", "pause", "resume"]
    assert both.final_ops() == [("resume", kw("all")), ("start", kw("all"))]


def _run(
    tmp_path: Path, mode: list[str], nemesis: str, *extra: str, sim: bool = False
) -> tuple[int, dict[str, Any], Path, str]:
    store = tmp_path / "store"
    args = [
        "-w", "g-set", *node_bin(NODE, sim), *mode,
        "--node-count", "3", "--rate", "40", "--time-limit", "3", "--nemesis", nemesis,
        "--nemesis-interval", "0.4", "--seed", "2", "--recovery-time", "0.5", "--no-plots",
        "--store", str(store), *extra,
    ]  # fmt: skip
    code, out = run_test(args, sim)
    runs = sorted(p for p in store.glob("g-set/*") if not p.is_symlink())
    assert runs, out
    results = runs[-1] / "results.json"
    data = json.loads(results.read_text()) if results.exists() else {}
    return code, data, runs[-1], out


def _orphans(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline and "harness" not in cmdline:
                found.append(cmdline)
    return found


@pytest.mark.parametrize("sim", [False, True], ids=["real", "sim"])
def test_in_memory_node_loses_acknowledged_elements_under_kill(tmp_path: Path, sim: bool) -> None:
    code, results, run, _ = _run(tmp_path, ["memory"], "kill", sim=sim)
    workload = results["workload"]
    assert (code, results["valid?"], workload["valid?"]) == (1, False, False)
    assert workload["lost-count"] == len(workload["lost"]) > 0
    history = read_history(run / "history.edn")
    acked = {op.value for op in history if op.type == OK and op.f == "add"}
    assert set(workload["lost"]) <= acked  # the lost elements are ones the node acknowledged
    kills = [op for op in history if op.process == NEMESIS and op.f == "kill"]
    assert any(kw("killed") in op.value.values() for op in kills if isinstance(op.value, dict))


@pytest.mark.parametrize("sim", [False, True], ids=["real", "sim"])
def test_durable_node_passes_kill_pause_partition_and_leaves_no_process(tmp_path: Path, sim: bool) -> None:
    marker = str(tmp_path / "marker")  # an extra argument the node ignores, to find its processes by
    # the node gossips once a second, and after a kill of every node only gossip brings a node
    # the others' journaled elements: the final reads must come more than a second after the
    # restarts (seed 2 ends in such a kill; real mode's 0.5 s recovery passes by timing alone)
    code, results, run, out = _run(
        tmp_path, ["durable", "-", marker], "kill,pause,partition", "--recovery-time", "1.5", sim=sim
    )
    assert (code, results["valid?"], results["workload"]["lost-count"]) == (0, True, 0), out
    # the runner gave the nodes a per-run directory for what must survive a kill
    assert sorted(p.name for p in (run / "node-data").iterdir()) == ["n0.log", "n1.log", "n2.log"]
    history = read_history(run / "history.edn")
    nemesis = [op for op in history if op.process == NEMESIS]
    assert {"kill", "start", "pause", "resume", "start-partition", "stop-partition"} <= {
        op.f for op in nemesis
    }
    # every op index once, in order; every nemesis invocation has its completion
    assert [op.index for op in history] == list(range(len(history)))
    assert all(op.type == "info" for op in nemesis) and len(nemesis) % 2 == 0
    assert all(a.f == b.f for a, b in zip(nemesis[::2], nemesis[1::2], strict=True))
    # the final generator heals and brings everything back: resume :all, then start :all, last
    assert [op.f for op in nemesis[-6:]] == ["stop-partition"] * 2 + ["resume"] * 2 + ["start"] * 2
    assert until(lambda: _orphans(marker), lambda found: not found) == []
    by_kind = faults_by_kind(history)
    assert set(by_kind) == {"kill", "pause", "partition"}
    killed = [
        iv for iv in by_kind["kill"] if isinstance(iv.effect, dict) and kw("killed") in iv.effect.values()
    ]
    assert killed and all(iv.end is not None and iv.end > iv.start for iv in killed)


def test_a_node_that_does_not_come_back_is_reported_and_the_run_invalid(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    code, results, _, out = _run(tmp_path, ["stuck", str(data), "3"], "kill", "--init-timeout", "0.5")
    faults = results["nodes"]["faults"]
    assert code == 1 and results["valid?"] is False
    assert faults and all(f["kind"] == "failed-restart" for f in faults)
    assert "did not come back after a kill" in faults[0]["message"] and "init" in faults[0]["message"]
    assert "did not come back" in out
    assert until(lambda: _orphans(str(data)), lambda found: not found) == []


def test_sigterm_while_nodes_are_paused_leaves_no_process(tmp_path: Path) -> None:
    marker = str(tmp_path / "marker")
    store = tmp_path / "store"
    command = [
        sys.executable, "-m", "harness", "test", "-w", "g-set", "--bin", sys.executable, str(NODE), "memory",
        marker, "--node-count", "3", "--rate", "20", "--time-limit", "60", "--nemesis", "pause",
        "--nemesis-interval", "0.2", "--seed", "1", "--no-plots", "--quiet-ops", "--store", str(store),
    ]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # wait until some node is stopped (state T), then stop the runner
        deadline = 600
        while deadline and not any(_stopped(pid) for pid in _pids(marker)):
            deadline -= 1
            proc_done = proc.poll() is not None
            assert not proc_done, proc.communicate()[0]
            time.sleep(0.05)
        assert deadline, "no node was ever paused"
        proc.send_signal(15)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + 15, out
    assert until(lambda: _pids(marker), lambda found: not found) == []  # SIGKILLed: gone once run
    history = (next(p for p in (store / "g-set").iterdir() if not p.is_symlink()) / "history.txt").read_text()
    assert ":pause" in history  # the history up to the signal is kept


def _pids(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline and "harness" not in cmdline and _alive(int(pid)):
                found.append(int(pid))
    return found


def _stopped(pid: int) -> bool:
    try:
        return _state(pid) == "T"
    except OSError:
        return False


@pytest.mark.parametrize("fault_during_request", [False, True])
def test_late_reply_is_a_node_fault_unless_a_fault_was_on(tmp_path: Path, fault_during_request: bool) -> None:
    """A late reply to a client that gave up is a node fault, unless some node was paused or killed
    during the request (then the node may have waited on it): excused and discarded."""
    script = (
        "import sys, json, time\n"
        "for line in sys.stdin:\n"
        "    m = json.loads(line); time.sleep(0.3)\n"
        "    print(json.dumps({'src': 'n1', 'dest': m['src'], 'body': {'type': 'echo_ok', 'in_reply_to': m['body']['msg_id']}}), flush=True)\n"
    )

    async def main() -> tuple[list[Any], int]:
        net = Network()
        faults: list[Any] = []
        node = NodeProcess(
            "n1",
            net,
            tmp_path / "n1.log",
            NodeHooks(faults.append, lambda n: None),
        )
        await node.start([sys.executable, "-c", script], str(tmp_path))
        client = RPCClient(net, "c7", "n1", timeout=0.1)
        request = asyncio.ensure_future(client.request({"type": "echo"}))
        await asyncio.sleep(0)  # the request is sent
        if fault_during_request:
            net.mark_faulted("n2")  # another node, paused and resumed while c7 waited
            net.mark_recovered("n2")
        with pytest.raises(ClientTimeout):
            await request
        client.close()
        for _ in range(50):
            if faults or net.excused_replies:
                break
            await asyncio.sleep(0.02)
        await node.stop()
        return faults, net.excused_replies

    faults, excused = asyncio.run(main())
    if fault_during_request:
        assert (faults, excused) == ([], 1)
    else:
        assert [f.kind for f in faults] == ["invalid-dest"] and excused == 0
