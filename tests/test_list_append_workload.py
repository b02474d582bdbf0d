"""txn-list-append through the runner: generator and RPC schema as Maelstrom's, and small nodes
(tests/nodes/list_append_node.py) both ways: a serial node passes, broken ones fail with the
anomalies they cause, a read-committed node passes read-committed and fails serializable; each
reported cycle type gets its explanation and drawing under elle/, linked from the report."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness import options
from harness.history import INVOKE, Op, kw
from harness.workloads.txn_list_append import TXN_OK, TxnListAppend
from tests.simrun import node_bin, run_test

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "tests" / "nodes" / "list_append_node.py"


def test_generator_follows_elle_options() -> None:
    test = options.TestOptions(
        workload="txn-list-append", key_count=3, max_txn_length=5, max_writes_per_key=4
    )
    workload = TxnListAppend(test, random.Random(2))
    txns = [workload.next_op(0, 0)["value"] for _ in range(3_000)]
    assert Counter(len(t) for t in txns).keys() == {1, 2, 3, 4, 5}
    appended: dict[int, list[int]] = {}
    for txn in txns:
        for f, k, v in txn:
            assert f in (kw("r"), kw("append"))
            if f == kw("append"):
                appended.setdefault(k, []).append(v)
            else:
                assert v is None
    assert all(vs == list(range(1, len(vs) + 1)) and len(vs) <= 4 for vs in appended.values())
    assert len(appended) > 3  # keys are retired after max-writes-per-key and replaced


def test_reply_schema() -> None:
    good = {"type": "txn_ok", "in_reply_to": 1, "txn": [["r", 1, [1, 2]], ["r", 2, None], ["append", 1, 3]]}
    assert TXN_OK.errors(good) == []
    for bad_txn in ([["r", 1, 5]], [["w", 1, 2]], [["r", 1]], [["append", 1, 2, 3]]):
        assert TXN_OK.errors({**good, "txn": bad_txn}), bad_txn

    class Client:
        node = "n0"

        async def rpc(
            self, body: dict[str, Any], response: Any, timeout: float | None = None
        ) -> dict[str, Any]:
            self.sent = body
            return {"type": "txn_ok", "txn": [["r", 1, [4]], ["append", 1, 5]]}

    client = Client()
    op = Op(INVOKE, "txn", 0, [[kw("r"), 1, None], [kw("append"), 1, 5]])
    done = asyncio.run(TxnListAppend(options.TestOptions(), random.Random(0)).invoke(client, op))
    assert client.sent == {"type": "txn", "txn": [["r", 1, None], ["append", 1, 5]]}
    assert done.value == [[kw("r"), 1, [4]], [kw("append"), 1, 5]]


def _run(tmp_path: Path, mode: str, *args: str, sim: bool = False) -> tuple[int, dict[str, Any], Path]:
    argv = [
        "-w", "txn-list-append", *node_bin(NODE, sim), mode,
        "--time-limit", "2", "--rate", "100", "--concurrency", "10", "--seed", "1", "--no-plots",
        "--store", str(tmp_path), *args,
    ]  # fmt: skip
    code, out = run_test(argv, sim)
    results = sorted(tmp_path.glob("txn-list-append/*/results.json"))
    assert results, out
    return code, json.loads(results[-1].read_text()), results[-1].parent


SIM = pytest.mark.parametrize("sim", [False, True], ids=["real", "sim"])


@SIM
def test_serial_node_is_strict_serializable(tmp_path: Path, sim: bool) -> None:
    code, results, run_dir = _run(tmp_path, "serial", "--node-count", "1", sim=sim)
    assert (code, results["workload"]) == (0, {"valid?": True})
    assert not (run_dir / "elle").exists()


@pytest.mark.parametrize(
    ("mode", "nodes", "expected"),
    [("echo", "1", {"internal"}), ("local", "2", {"incompatible-order"})],
)
@SIM
def test_broken_nodes_are_caught(
    tmp_path: Path, mode: str, nodes: str, expected: set[str], sim: bool
) -> None:
    code, results, run_dir = _run(tmp_path, mode, "--node-count", nodes, sim=sim)
    workload = results["workload"]
    assert (code, workload["valid?"]) == (1, False)
    assert expected <= set(workload["anomaly-types"])
    report = (run_dir / "index.html").read_text()
    cycles = [t for t in workload["anomaly-types"] if t.startswith("G") and t not in ("G1a", "G1b")]
    for t in cycles:  # each cycle type explained in words and drawn, and linked from the report
        assert (run_dir / "elle" / f"{t}.txt").read_text().count("a contradiction!") >= 1
        assert (run_dir / "elle" / t / "0.svg").is_file()
        assert f'href="elle/{t}.txt"' in report
    for t in expected:  # and each per-transaction anomaly in words
        assert (run_dir / "elle" / f"{t}.txt").read_text().startswith(f"{t} #0: ")
        assert f'href="elle/{t}.txt">{t}</a>: each case in words</li>' in report


@SIM
def test_read_committed_node_passes_read_committed_only(tmp_path: Path, sim: bool) -> None:
    code, results, _ = _run(
        tmp_path, "read-committed", "--node-count", "1", "--consistency-models", "read-committed", sim=sim
    )
    assert (code, results["workload"]["valid?"]) == (0, True)
    code, results, _ = _run(
        tmp_path, "read-committed", "--node-count", "1", "--consistency-models", "serializable", sim=sim
    )
    assert (code, results["workload"]["valid?"]) == (1, False)
    assert {"G-single-item", "G2-item"} & set(results["workload"]["anomaly-types"])
