"""lin-kv: the independent generator, the client and its error mapping, the summary, and whole
runs through the runner with our own small nodes (tests/nodes/lin_kv_node.py), both ways."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.analyze import analyze
from harness.checkers.linearizable import check_independent
from harness.client import ClientTimeout, RPCErrorReply
from harness.history import FAIL, INFO, INVOKE, OK, Op, kw
from harness.interpreter import Interpreter
from harness.options import TestOptions as Options
from harness.workloads import REGISTRY
from harness.workloads.lin_kv import LinKV
from tests.simrun import node_bin, run_test

REPO = Path(__file__).resolve().parent.parent
NODE = REPO / "tests" / "nodes" / "lin_kv_node.py"


def workload(nodes: int = 2, concurrency: int = 4, seed: int = 1, **opts: Any) -> LinKV:
    names = [f"n{i}" for i in range(nodes)]
    return LinKV(
        Options(workload="lin-kv", nodes=names, concurrency=concurrency, **opts), random.Random(seed)
    )


def test_registered_with_maelstroms_client_semantics():
    assert REGISTRY["lin-kv"] is LinKV
    assert LinKV.reusable_client and not LinKV.has_final and LinKV.idempotent == frozenset({"read"})
    assert workload().rpc_timeout == 1.0
    assert workload(latency_mean=250).rpc_timeout == 2.5


@pytest.mark.parametrize("concurrency", [1, 3, 5, 6])
def test_concurrency_must_be_a_multiple_of_twice_the_node_count(concurrency):
    with pytest.raises(ValueError, match="multiple of 2 x node count"):
        workload(nodes=2, concurrency=concurrency)


def test_groups_keys_readers_and_the_op_mix():
    w = workload(nodes=2, concurrency=8)  # groups of 4: threads 0-3 on key 0, 4-7 on key 1
    ops = {t: [w.next_op(t, 0) for _ in range(3000)] for t in range(8)}
    for t in (0, 1):  # the first n threads (absolute numbers) only read
        assert {o["f"] for o in ops[t]} == {"read"} and all(o["value"] == [0, None] for o in ops[t])
    for t in (2, 3, 4, 5, 6, 7):
        fs = Counter(o["f"] for o in ops[t])
        assert set(fs) == {"write", "cas"} and 0.28 < fs["write"] / 3000 < 0.39
        assert {o["value"][0] for o in ops[t]} == {0 if t < 4 else 1}
    writes = Counter(o["value"][1] for t in range(2, 8) for o in ops[t] if o["f"] == "write")
    cas = Counter(tuple(o["value"][1]) for t in range(2, 8) for o in ops[t] if o["f"] == "cas")
    assert set(writes) == set(range(5)) and set(cas) == {(a, b) for a in range(5) for b in range(5)}


def test_a_key_is_used_up_after_twenty_processes():
    w = workload(nodes=2, concurrency=8)  # 2n = 4 processes per group to start: 17 crashes to go
    key = 0
    for crash in range(1, 18):
        assert w.next_op(2, 0)["value"][0] == key
        w.on_complete(Op(INFO, "write", 2 + 8 * crash, [key, 1]))
    assert w.next_op(3, 0)["value"][0] == 2  # the next unused key (group 1 holds key 1)
    assert w.next_op(5, 0)["value"][0] == 1  # the other group is unaffected
    w.on_complete(Op(INFO, "cas", 5, [1, [0, 1]]))
    assert w.next_op(0, 0)["value"] == [2, None]


def test_more_than_ten_nodes_use_every_key_up_at_once():
    assert workload(nodes=11, concurrency=22).next_op(0, 0) is None


class FakeClient:
    node = "n0"

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        self.sent: list[dict[str, Any]] = []

    async def rpc(self, body: dict[str, Any], response: Any, timeout: float | None = None) -> dict[str, Any]:
        self.sent.append(body)
        reply = {"type": body["type"] + "_ok", **self.reply}
        assert response.errors(reply, reply=False) == []  # the reply fits the closed schema
        return reply


def test_client_requests_and_recorded_values():
    w = workload()
    c = FakeClient({"value": 3})
    done = asyncio.run(w.invoke(c, Op(INVOKE, "read", 0, [7, None])))
    assert c.sent == [{"type": "read", "key": 7}] and (done.type, done.value) == (OK, [7, 3])
    c = FakeClient({})
    done = asyncio.run(w.invoke(c, Op(INVOKE, "write", 0, [7, 4])))
    assert c.sent == [{"type": "write", "key": 7, "value": 4}] and done.value == [7, 4]
    done = asyncio.run(w.invoke(c, Op(INVOKE, "cas", 0, [7, [1, 2]])))
    assert c.sent[-1] == {"type": "cas", "key": 7, "from": 1, "to": 2} and done.value == [7, [1, 2]]


@pytest.mark.parametrize(
    ("f", "error", "expected"),
    [
        ("read", ClientTimeout(), (FAIL, kw("net-timeout"))),
        ("write", ClientTimeout(), (INFO, kw("net-timeout"))),
        ("cas", ClientTimeout(), (INFO, kw("net-timeout"))),
        ("cas", RPCErrorReply(22, "mismatch", {}), (FAIL, [kw("precondition-failed"), "mismatch"])),
        ("cas", RPCErrorReply(20, "missing", {}), (FAIL, [kw("key-does-not-exist"), "missing"])),
        ("write", RPCErrorReply(11, "not leader", {}), (FAIL, [kw("temporarily-unavailable"), "not leader"])),
        ("write", RPCErrorReply(13, "crash", {}), (INFO, [kw("crash"), "crash"])),
        ("cas", RPCErrorReply(1000, "custom", {}), (INFO, [kw("unknown"), "custom"])),
        ("read", RPCErrorReply(13, "crash", {}), (FAIL, [kw("crash"), "crash"])),
    ],
)
def test_error_mapping(f, error, expected):
    fake = SimpleNamespace(workload=workload(), log=print)
    op = Interpreter._map_error(fake, Op(INVOKE, f, 2, [0, None]), error)  # type: ignore[arg-type]
    assert (op.type, op.error) == expected


def test_summary_names_failing_keys_and_ops():
    events = [
        Op(INVOKE, "write", 2, [0, 1], 0, 0),
        Op(OK, "write", 2, [0, 1], 1, 1),
        Op(INVOKE, "read", 0, [0, None], 2, 2),
        Op(OK, "read", 0, [0, 4], 3, 3),
    ]
    summary = LinKV.summarize(check_independent(events))
    assert summary.figure("failing-key-count").value == 1 and summary.figure("key-count").value == 1
    assert summary.findings == (
        "key 0 is not linearizable: no linearization reaches :read 4 (process 0, index 3), "
        "after :write 1 (process 2, index 1) (can't read 4 from register 1)",
    )
    assert LinKV.summarize(check_independent(events[:2])).findings == ()


# -- whole runs ------------------------------------------------------------------------------------


def _run(tmp_path: Path, mode: str, nodes: int, sim: bool = False) -> tuple[int, dict[str, Any], Path]:
    args = [
        "-w", "lin-kv", *node_bin(NODE, sim), mode,
        "--node-count", str(nodes), "--concurrency", "2n", "--time-limit", "3", "--rate", "50",
        "--seed", "5", "--store", str(tmp_path), "--no-plots",
    ]  # fmt: skip
    code, out = run_test(args, sim)
    results = sorted(tmp_path.glob("lin-kv/*/results.json"))
    assert results, out
    return code, json.loads(results[-1].read_text()), results[-1].parent


SIM = pytest.mark.parametrize("sim", [False, True], ids=["real", "sim"])


@SIM
def test_a_correct_single_node_store_is_valid(tmp_path, sim):
    code, results, run = _run(tmp_path, "local", 1, sim)
    assert code == 0 and results["valid?"] is True, results["workload"]
    assert results["workload"]["failures"] == [] and results["stats"]["by-f"]["read"]["ok-count"] > 10
    assert not (run / "independent" / "0" / "linear.svg").exists()


@SIM
def test_reads_from_a_stale_local_copy_are_invalid(tmp_path, sim):
    code, results, run = _run(tmp_path, "stale", 2, sim)
    assert code == 1 and results["workload"]["valid?"] is False
    assert results["workload"]["failures"] == [0]
    op = results["workload"]["results"]["0"]["linearizable"]["op"]
    assert op["type"] == "ok" and op["f"] == "read"
    svg = (run / "independent" / "0" / "linear.svg").read_text()
    assert svg.startswith("<svg") and "can&#x27;t read" in svg
    assert 'href="independent/0/linear.svg"' in (run / "index.html").read_text()
    # analyze re-checks the stored run to the same verdict, failing key and failing op
    again = analyze(run)["workload"]
    assert again["failures"] == [0] and again["results"][0]["linearizable"]["op"].index == op["index"]


@SIM
def test_a_proxy_to_the_lin_kv_service_is_valid_on_three_nodes(tmp_path, sim):
    code, results, _ = _run(tmp_path, "proxy", 3, sim)
    assert code == 0 and results["valid?"] is True, results["workload"]


def test_summary_of_a_maelstrom_results_file():
    import fidelity

    path = fidelity.RUNS_ROOT / "lin-kv" / "ZZZekai--20260314T105013.244+0100" / "results.edn"
    if not path.is_file():
        pytest.skip("corpus run not available")
    summary = LinKV.summarize(fidelity.read_results(path)["workload"])
    assert summary.findings == (
        "key 0 is not linearizable: no linearization reaches :read 4 (process 0, index 13), "
        "after :write 2 (process 5, index 11) (can't read 4 from register 2)",
    )
