"""txn-rw-register: the generator, the client, the fidelity hook, and engines.txn's replicated store."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any

import fidelity
import pytest

from common.testing import FakeNode, SimNet
from engines.txn import TxnStore
from harness.client import MalformedResponse
from harness.history import INVOKE, Op, kw
from harness.options import TestOptions as Options
from harness.testing import ScriptedClient
from harness.workloads import REGISTRY
from harness.workloads.txn_rw_register import TxnRwRegister


def workload(seed: int = 1, **opts: Any) -> TxnRwRegister:
    return TxnRwRegister(Options(workload="txn-rw-register", **opts), random.Random(seed))


def test_registered_with_maelstroms_client_semantics() -> None:
    cls = REGISTRY["txn-rw-register"]
    assert cls is TxnRwRegister
    assert cls.reusable_client and not cls.has_final and cls.idempotent == frozenset()


def test_generator_shape_unique_writes_and_key_retirement() -> None:
    w = workload(max_txn_length=4, max_writes_per_key=16)
    lengths: Counter[int] = Counter()
    fs: Counter[str] = Counter()
    written: dict[int, list[int]] = {}
    for _ in range(5000):
        txn = w.next_op(0, 0)["value"]
        lengths[len(txn)] += 1
        for f, k, v in txn:
            fs[f.name] += 1
            assert len([f, k, v]) == 3
            if f == kw("w"):
                written.setdefault(k, []).append(v)
            else:
                assert v is None
    assert set(lengths) == {1, 2, 3, 4}
    assert 0.45 < fs["r"] / (fs["r"] + fs["w"]) < 0.55
    for values in written.values():
        assert values == list(range(1, len(values) + 1)) and len(values) <= 16  # 1, 2, 3, ... once
    assert max(written) > 9  # hot keys were retired and replaced by fresh ones
    assert len(w.keys.active) == 10 and len(set(w.keys.active)) == 10


def test_key_choice_is_exponential_toward_the_last_position() -> None:
    w = workload(max_writes_per_key=10**9)
    picks = Counter(w.keys.rand_key() for _ in range(40_000))
    # position i has weight 2^i: the last key ~1/2 of picks, the one before ~1/4
    assert 0.47 < picks[9] / 40_000 < 0.53
    assert 0.22 < picks[8] / 40_000 < 0.28
    assert picks[0] < picks[1] < picks[5] < picks[9]


def test_same_seed_same_sequence() -> None:
    a, b = workload(seed=5), workload(seed=5)
    assert [a.next_txn() for _ in range(200)] == [b.next_txn() for _ in range(200)]


def txn_client(reply_txn: Any) -> ScriptedClient:
    return ScriptedClient("n0", {"txn": {"txn": reply_txn}})


def test_invoke_sends_string_fs_and_records_keyword_fs() -> None:
    w = workload()
    op = Op(INVOKE, "txn", 0, [[kw("r"), 1, None], [kw("w"), 2, 3]])
    client = txn_client([["r", 1, 7], ["w", 2, 3]])
    done = asyncio.run(w.invoke(client, op))
    assert client.sent == [{"type": "txn", "txn": [["r", 1, None], ["w", 2, 3]]}]
    assert done.type == "ok" and done.value == [[kw("r"), 1, 7], [kw("w"), 2, 3]]
    assert asyncio.run(w.invoke(txn_client(None), op)).value == []  # [Any] accepts null


@pytest.mark.parametrize("bad", [[["x", 1, 2]], [["r", 1]], [["r", 1, 2, 3]], "nope"])
def test_invoke_rejects_malformed_replies(bad: Any) -> None:
    with pytest.raises(MalformedResponse):
        asyncio.run(workload().invoke(txn_client(bad), Op(INVOKE, "txn", 0, [[kw("r"), 1, None]])))


@pytest.mark.parametrize("run_dir", fidelity.runs("txn-rw-register"), ids=fidelity.run_id)
def test_comparison_catches_a_wrong_txn_verdict(run_dir: Path, tmp_path: Path) -> None:
    """Flipping Maelstrom's recorded txn verdict must make the fidelity comparison fail."""
    run = fidelity.copy_run(run_dir, tmp_path)
    text = (run / "results.edn").read_text()
    if ":empty-transaction-graph" in text:
        text = text.replace(":valid? false", ":valid? true").replace("(:empty-transaction-graph)", "()")
    else:
        text = text.replace(":anomaly-types ()", ":anomaly-types (:G0)")
    (run / "results.edn").write_text(text)
    found = fidelity.mismatches(run)
    assert found and any("anomaly-types" in m for m in found)


# ---- engines.txn: the store behind 6a-6c, driven without processes


def cluster(n: int = 2) -> dict[str, TxnStore]:
    """Stores on fake nodes whose messages wait in the net until delivered by hand."""
    ids = [f"n{i}" for i in range(n)]
    net = SimNet(latency=None)
    stores = {}
    for i in ids:
        node = FakeNode(net, i, ids)
        store = stores[i] = TxnStore(node, retry_after=0.0, durable=False)  # type: ignore[arg-type]
        node.handler("txn_sync")(store.on_sync)
        node.handler("txn_sync_ack")(store.on_ack)
        store.start()
    return stores


def net_of(stores: dict[str, TxnStore]) -> SimNet:
    return next(iter(stores.values())).node.net  # type: ignore[attr-defined,no-any-return]


def deliver(stores: dict[str, TxnStore], cut: bool = False) -> int:
    """Run one sync round and deliver every message (drop them all when ``cut``)."""
    for s in stores.values():
        s.sync()
    return net_of(stores).deliver_all(drop=cut)


def test_txn_reads_own_writes_and_replicates_only_final_writes() -> None:
    stores = cluster()
    a, b = stores["n0"], stores["n1"]
    out = a.execute([["w", 1, 1], ["r", 1, None], ["w", 1, 2], ["r", 2, None]])
    assert out == [["w", 1, 1], ["r", 1, 1], ["w", 1, 2], ["r", 2, None]]
    a.sync()
    in_flight = net_of(stores).in_flight
    ((_, dest, body),) = in_flight
    assert dest == "n1" and body["type"] == "txn_sync" and [w[:2] for w in body["writes"]] == [[1, 2]]
    in_flight.clear()
    assert b.execute([["r", 1, None]]) == [["r", 1, None]]  # not yet delivered: nil, never 1


def test_partitioned_nodes_stay_available_and_converge_after_heal() -> None:
    stores = cluster()
    a, b = stores["n0"], stores["n1"]
    a.execute([["w", 1, 1], ["w", 2, 1]])
    b.execute([["w", 1, 2]])
    assert deliver(stores, cut=True) > 0  # partition: everything lost
    assert a.registers[1][0] == 1 and b.registers[1][0] == 2
    deliver(stores)  # healed: retries carry the writes over
    assert {k: v[0] for k, v in a.registers.items()} == {k: v[0] for k, v in b.registers.items()}
    assert all(not pending for s in stores.values() for pending in s.unacked.values())
    assert deliver(stores) == 0  # acknowledged: nothing more to send


def test_a_txn_that_read_a_replicated_write_overwrites_it() -> None:
    stores = cluster()
    a, b = stores["n0"], stores["n1"]
    for _ in range(5):
        a.execute([["w", 9, 0]])  # a's counter runs ahead
    a.execute([["w", 1, 1]])
    deliver(stores)
    assert b.execute([["r", 1, None], ["w", 1, 2]]) == [["r", 1, 1], ["w", 1, 2]]
    deliver(stores)
    assert a.registers[1][0] == 2 == b.registers[1][0]  # the later write wins everywhere
