"""common.durable and the programs that use it: the record format without files, replies only
after a commit, and every state-keeping challenge program killed and restarted in-process keeps
what it acknowledged (the same program with durability off is shown to lose it)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from common.durable import decode_records, encode_record, node_dir
from tests.inprocess import Program

# -- the format, sans-I/O -----------------------------------------------------------------------


def test_records_round_trip_and_a_torn_tail_is_ignored() -> None:
    records = [1, "two", {"peers": ["n1"]}, ["s", "k", [1, 2]], None]
    data = b"".join(encode_record(r) for r in records)
    assert decode_records(data) == (records, len(data))
    whole = len(data) - len(encode_record(None))
    for cut in range(whole, len(data)):  # every torn version of the last record
        assert decode_records(data[:cut]) == (records[:-1], whole)


def test_a_corrupt_record_ends_the_replay_there() -> None:
    first, second = encode_record("a"), bytearray(encode_record("b"))
    second[-1] ^= 0xFF  # the CRC no longer matches
    assert decode_records(first + bytes(second) + encode_record("c")) == (["a"], len(first))


def test_node_dir_refuses_ids_that_are_not_names(tmp_path: Path) -> None:
    class Stub:
        data_dir = tmp_path
        node_id = "../escape"

    with pytest.raises(ValueError):
        node_dir(Stub())  # type: ignore[arg-type]
    Stub.node_id = "n1"
    assert node_dir(Stub()) == tmp_path / "n1"  # type: ignore[arg-type]


# -- in-process kills ---------------------------------------------------------------------------


async def _kill_and_restart(program: Program) -> Program:
    await program.kill()
    return program.restarted()


def test_journal_torn_on_disk_is_cut_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Program("single-node-broadcast", data_dir=str(tmp_path)) as p:
            for v in (1, 2):
                assert (await p.call({"type": "broadcast", "message": v}))["type"] == "broadcast_ok"
            await p.kill()
        path = tmp_path / "n1" / "gossip.journal"
        with open(path, "ab") as f:
            f.write(encode_record(3)[:-2])  # a write torn by the kill
        async with p.restarted() as q:
            assert sorted((await q.call({"type": "read"}))["messages"]) == [1, 2]
            await q.call({"type": "broadcast", "message": 4})
            await q.kill()
        async with p.restarted() as r:
            assert sorted((await r.call({"type": "read"}))["messages"]) == [1, 2, 4]

    asyncio.run(scenario())


def test_a_reply_goes_out_only_after_its_record_is_on_disk(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Program("single-node-kafka-style-log", data_dir=str(tmp_path)) as p:
            path = tmp_path / "n1" / "kafka.journal"
            for i in range(20):
                reply = await p.call({"type": "send", "key": "k", "msg": i})
                records, _ = decode_records(path.read_bytes())
                assert records[-1] == ["s", "k", i] and reply["offset"] == i

    asyncio.run(scenario())


SINGLE = "single-node-kafka-style-log"


def test_kafka_5a_keeps_sends_and_commits_across_a_kill() -> None:
    async def scenario() -> None:
        async with Program(SINGLE) as p:
            offsets = [(await p.call({"type": "send", "key": "k", "msg": i}))["offset"] for i in range(5)]
            await p.call({"type": "commit_offsets", "offsets": {"k": 3}})
            q = await _kill_and_restart(p)
        async with q:
            polled = await q.call({"type": "poll", "offsets": {"k": 0}})
            assert polled["msgs"] == {"k": [[o, i] for i, o in enumerate(offsets)]}
            listed = await q.call({"type": "list_committed_offsets", "keys": ["k"]})
            assert listed["offsets"] == {"k": 3}
            assert (await q.call({"type": "send", "key": "k", "msg": 9}))["offset"] == 5

    asyncio.run(scenario())


def test_txn_6a_keeps_committed_writes_across_a_kill() -> None:
    async def scenario() -> None:
        async with Program("single-node-totally-available-transactions") as p:
            await p.call({"type": "txn", "txn": [["w", 1, 10], ["w", 2, 20]]})
            await p.call({"type": "txn", "txn": [["w", 1, 11]]})
            q = await _kill_and_restart(p)
        async with q:
            reply = await q.call({"type": "txn", "txn": [["r", 1, None], ["r", 2, None]]})
            assert reply["txn"] == [["r", 1, 11], ["r", 2, 20]]

    asyncio.run(scenario())


def test_txn_6c_resends_its_unacked_writes_after_a_restart() -> None:
    async def scenario() -> None:
        challenge = "totally-available-read-committed-transactions"
        async with Program(challenge, node_ids=["n1", "n2"]) as p:
            await p.call({"type": "txn", "txn": [["w", 1, 10]]})
            q = await _kill_and_restart(p)  # before any txn_sync went out (every 0.1 s)
        async with q:
            for _ in range(100):
                if q.peer_messages:
                    break
                await asyncio.sleep(0.02)
            [sync] = [m for m in q.peer_messages if m["body"]["type"] == "txn_sync"][:1]
            assert sync["dest"] == "n2" and sync["body"]["writes"] == [[1, 10, 1, "n1"]]

    asyncio.run(scenario())


@pytest.mark.parametrize("durable", [True, False])
def test_broadcast_3c_keeps_acknowledged_values_and_topology(durable: bool, monkeypatch: Any) -> None:
    """The durable program keeps values and re-offers them to its peer; with the journal switched
    off (the in-memory design) the same kill loses them: the test can fail."""
    if not durable:
        monkeypatch.setattr("engines.gossip.Journal", lambda *a, **k: _NoJournal())

    async def scenario() -> list[Any]:
        async with Program("fault-tolerant-broadcast", node_ids=["n1", "n2"]) as p:
            await p.call({"type": "topology", "topology": {"n1": ["n2"], "n2": ["n1"]}})
            for v in (1, 2, 3):
                await p.call({"type": "broadcast", "message": v})
            q = await _kill_and_restart(p)
        async with q:
            read = (await q.call({"type": "read"}))["messages"]
            for _ in range(100):
                if q.peer_messages:
                    break
                await asyncio.sleep(0.01)
            resent = [v for m in q.peer_messages for v in m["body"].get("values", [])]
            return [sorted(read), sorted(resent)]

    read, resent = asyncio.run(scenario())
    if durable:
        assert read == [1, 2, 3] and resent == [1, 2, 3]
    else:
        assert read == [] and resent == []


class _NoJournal:
    def append(self, record: Any) -> None:
        pass


def test_g_counter_keeps_its_acknowledged_adds_across_a_kill(monkeypatch: Any) -> None:
    # a long sync interval: the adds are acknowledged long before seq-kv sees any of them
    async def scenario() -> int:
        async with Program("grow-only-counter", ["--interval", "60", "--idle-max", "60"]) as p:
            for delta in (1, 2, 3):
                await p.call({"type": "add", "delta": delta})
            assert (
                p.services["seq-kv"].handle("x", {"type": "read", "key": "count-n1", "msg_id": 1})["type"]
                == "error"
            )
            q = await _kill_and_restart(p)
        async with q:
            return (await q.call({"type": "read"}))["value"]

    assert asyncio.run(scenario()) == 6


def test_efficient_kafka_5c_keeps_its_sends_and_copies_across_a_kill() -> None:
    async def scenario() -> None:
        async with Program("efficient-kafka-style-log", node_ids=["n2", "n1"]) as p:
            # n1 (node 0 of the sorted ids) copies two of its messages, promising nothing below 3
            body = {"type": "sync", "start": 0, "entries": [["k", 0, 7], ["k", 4, 8]], "floor": 3}
            p.send({**body, "acked": 0, "committed": {"k": 1}}, src="n1")
            own = (await p.call({"type": "send", "key": "k", "msg": 9}))["offset"]
            assert own == 7  # n2's clock followed n1's floor: 3 * 2 + 1
            q = await _kill_and_restart(p)
        async with q:
            q.send({**body, "start": 2, "entries": [], "acked": 1, "committed": {}}, src="n1")
            listed = await q.call({"type": "list_committed_offsets", "keys": ["k"]})
            assert listed["offsets"] == {"k": 1}
            assert (await q.call({"type": "poll", "offsets": {"k": 0}}))["msgs"] == {"k": [[0, 7], [4, 8]]}
            assert (await q.call({"type": "send", "key": "k", "msg": 10}))["offset"] > own

    asyncio.run(scenario())


def test_default_dir_is_keyed_by_the_parent_process(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.delenv("MAELSTROM_DATA_DIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    class Stub:
        data_dir = None
        node_id = "n3"

    base = tmp_path / f"gossip-glomers-{os.getuid()}"
    stale = base / "run-999999999-1"  # a runner that is gone: cleaned up
    stale.mkdir(parents=True)
    path = node_dir(Stub())  # type: ignore[arg-type]
    assert path.parent.parent == base and path.parent.name.startswith(f"run-{os.getppid()}")
    assert not stale.exists() and node_dir(Stub()) == path  # type: ignore[arg-type]


@pytest.mark.parametrize("hole_after", [0.0, 3600.0])
def test_kafka_5b_closes_a_hole_left_by_a_killed_writer(hole_after: float) -> None:
    """An offset taken and never written (its writer was killed) stalls polls of that key until
    the slot is closed; with repair off (a huge HOLE_AFTER) the later message is never seen."""

    async def scenario() -> list[Any]:
        async with Program("multi-node-kafka-style-log", node_ids=["n0", "n1"]) as p:
            sys.modules[p.module_name].HOLE_AFTER = hole_after
            assert (await p.call({"type": "send", "key": "k", "msg": 10}))["offset"] == 0
            lin = p.services["lin-kv"]
            name = f"bucket/{zlib.crc32(b'k') % 64}"
            bucket = lin.handle("x", {"type": "read", "key": name, "msg_id": 1})["value"]
            taken = {**bucket, "next": {"k": 2}}  # offset 1 taken by a writer that then died
            assert (
                lin.handle("x", {"type": "cas", "key": name, "from": bucket, "to": taken, "msg_id": 2})[
                    "type"
                ]
                == "cas_ok"
            )
            assert (await p.call({"type": "send", "key": "k", "msg": 12}))["offset"] == 2
            polls = []
            for _ in range(3):
                polls.append((await p.call({"type": "poll", "offsets": {"k": 0}}))["msgs"])
            return polls

    polls = asyncio.run(scenario())
    assert polls[0] == {"k": [[0, 10]]}
    if hole_after == 0.0:
        assert polls[-1] == {"k": [[0, 10], [2, 12]]}
    else:
        assert polls[-1] == {"k": [[0, 10]]}


def test_kafka_5b_a_slow_writer_whose_slot_was_closed_takes_a_new_offset() -> None:
    async def scenario() -> int:
        async with Program("multi-node-kafka-style-log", node_ids=["n0", "n1"]) as p:
            await p.call({"type": "send", "key": "k", "msg": 10})
            lin = p.services["lin-kv"]
            # slot 1 closed before its writer got there
            lin.handle(
                "x",
                {
                    "type": "cas",
                    "key": "msg/k/1",
                    "from": 0,
                    "to": "hole",
                    "msg_id": 1,
                    "create_if_not_exists": True,
                },
            )
            offset = (await p.call({"type": "send", "key": "k", "msg": 11}))["offset"]
            polled = (await p.call({"type": "poll", "offsets": {"k": 0}}))["msgs"]
            assert polled == {"k": [[0, 10], [offset, 11]]}
            return offset

    assert asyncio.run(scenario()) == 2


def test_runner_kill_and_partition_leave_3c_valid_with_journals_in_the_run_dir(tmp_path: Path) -> None:
    """A short real run: nodes are SIGKILLed and restarted, and the broadcast stays lossless."""
    root = Path(__file__).resolve().parent.parent
    store = tmp_path / "store"
    command = [
        sys.executable, "-m", "harness", "test", "-w", "broadcast",
        "--bin", str(root / "fault-tolerant-broadcast" / "main.py"), "--node-count", "3", "--rate", "30",
        "--time-limit", "4", "--nemesis", "kill,partition", "--nemesis-interval", "0.5", "--seed", "3",
        "--recovery-time", "2", "--no-plots", "--store", str(store),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
    [run] = [p for p in store.glob("broadcast/*") if not p.is_symlink()]
    results = json.loads((run / "results.json").read_text())
    assert done.returncode == 0 and results["valid?"] is True, done.stdout[-2000:]
    assert results["workload"]["lost-count"] == 0
    assert ":killed" in (run / "history.txt").read_text()
    assert sorted(p.parent.name for p in (run / "node-data").glob("*/gossip.journal")) == ["n0", "n1", "n2"]


def test_records_keep_integers_beyond_64_bits() -> None:
    big = [-(2**63) - 1, 2**64, "x"]
    data = encode_record(big)
    assert decode_records(data) == ([big], len(data))
