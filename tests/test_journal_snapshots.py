"""The snapshots of every journal but Raft's (engines.gossip, engines.kafka, engines.txn): replaying a
compacted journal gives the state the whole journal gives, and the programs built on them keep
what they acknowledged across a kill that follows compactions.

Equivalence: one random sequence of operations drives two stores side by side, one whose journal
compacts (a tiny ``MAELSTROM_COMPACT_BYTES``) and one whose journal never does; every so often
each journal is replayed into a fresh store and the two states are compared (with what the live
store holds, and with what a restarted store would queue for its peers). Each check is shown to
catch a broken snapshot too.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from common.durable import Journal
from common.protocol import Message
from common.testing import FakeNode, SimNet, run
from engines.gossip import Gossip
from engines.kafka import LocalLogs
from engines.txn import TxnStore
from tests.inprocess import Program

NEVER = str(1 << 40)


class JournalNode(FakeNode):
    """A FakeNode with what a Journal needs of a Node: a data dir, init and commit hooks, a log."""

    def __init__(self, data_dir: Path, node_id: str = "n1", node_ids: list[str] | None = None) -> None:
        super().__init__(SimNet(latency=None), node_id, node_ids or [node_id, "n2", "n3"])
        self.data_dir = data_dir
        self.init_hooks: list[Callable[[], Any]] = []
        self.commit_hooks: list[Callable[[], Any]] = []
        self.logs: list[str] = []

    def on_init(self, hook: Callable[[], Any]) -> Callable[[], Any]:
        self.init_hooks.append(hook)
        return hook

    def add_commit_hook(self, hook: Callable[[], Any]) -> None:
        self.commit_hooks.append(hook)

    def log(self, *args: Any) -> None:
        self.logs.append(" ".join(map(str, args)))

    def init(self) -> None:
        for hook in self.init_hooks:
            hook()

    def commit(self) -> None:
        """What Node does before every stdout write."""
        for hook in self.commit_hooks:
            hook()


def journal_of(store: Any) -> Journal:
    journal = store.journal
    assert isinstance(journal, Journal)
    return journal


class Pair:
    """A store whose journal compacts and one whose journal never does, driven alike."""

    def __init__(
        self,
        tmp: Path,
        monkeypatch: pytest.MonkeyPatch,
        make: Callable[[JournalNode], Any],
        state: Callable[[Any], Any],
        compact_bytes: int,
        live: Callable[[Any], Any] | None = None,
    ) -> None:
        """``state(store)``: what a replayed store holds; ``live(store)``: the part of it a live
        store must hold too (not what a restart adds, such as values queued again)."""
        self.make, self.state, self.dirs = make, state, (tmp / "compacting", tmp / "whole")
        self.live = live or state
        self.nodes, self.stores = [], []
        for data_dir, threshold in zip(self.dirs, (str(compact_bytes), NEVER), strict=True):
            monkeypatch.setenv("MAELSTROM_COMPACT_BYTES", threshold)
            node = JournalNode(data_dir)
            store = make(node)
            node.init()
            self.nodes.append(node)
            self.stores.append(store)
        monkeypatch.setenv("MAELSTROM_COMPACT_BYTES", NEVER)  # the fresh stores of replay()

    def do(self, op: Callable[[Any, JournalNode], Any]) -> None:
        for store, node in zip(self.stores, self.nodes, strict=True):
            op(store, node)
            node.commit()

    def replayed(self, which: int) -> tuple[Any, Any]:
        node = JournalNode(self.dirs[which])
        store = self.make(node)
        node.init()
        live, state = self.live(store), self.state(store)
        journal_of(store).close()
        return live, state

    def check(self) -> None:
        compacted, whole = self.replayed(0), self.replayed(1)
        assert compacted == whole
        assert self.live(self.stores[0]) == whole[0]  # ... and it is what the live store holds

    @property
    def compactions(self) -> int:
        return journal_of(self.stores[0]).compactions

    def close(self) -> None:
        for store in self.stores:
            journal_of(store).close()


def drive(pair: Pair, ops: Iterable[Callable[[Any, JournalNode], Any]], every: int = 25) -> None:
    for i, op in enumerate(ops, 1):
        pair.do(op)
        if i % every == 0:
            pair.check()
    pair.check()


# -- gossip (broadcast 3a-3e) ----------------------------------------------------------------------


def gossip_state(g: Gossip) -> Any:
    # what replay rebuilds, and what a restarted node queues for each peer from it
    return g.values, g.peers, {p: list(link.unsent) for p, link in g._links.items()}


def gossip_ops(rng: random.Random, n: int) -> list[Callable[[Gossip, JournalNode], Any]]:
    ops: list[Callable[[Gossip, JournalNode], Any]] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.03:  # a topology (journaled)
            peers = rng.sample(["n2", "n3", "n4", "n5"], rng.randint(0, 3))
            ops.append(lambda g, _, peers=peers: g.set_peers(peers, persist=True))
        elif r < 0.05:  # an overlay the program chose (not journaled: replay must not bring it)
            peers = rng.sample(["n2", "n3", "n6"], 2)
            ops.append(lambda g, _, peers=peers: g.set_peers(peers))
        else:  # a value from a client or a peer, sometimes one it has (integers and strings)
            value: int | str = rng.randrange(800) if rng.random() < 0.8 else f"s{rng.randrange(50)}"
            src = rng.choice([None, "n2", "n3"])
            ops.append(lambda g, _, value=value, src=src: g.add(value, src))
    return ops


def _gossip_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pair:
    return Pair(tmp_path, monkeypatch, lambda node: Gossip(node), gossip_state, 400, lambda g: g.values)


def test_gossip_snapshot_replays_to_the_state_of_the_whole_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> int:
        pair = _gossip_pair(tmp_path, monkeypatch)
        drive(pair, gossip_ops(random.Random(1), 1500))
        compactions = pair.compactions
        pair.close()
        return compactions

    assert run(scenario()) >= 3


def test_gossip_equivalence_catches_a_snapshot_that_keeps_the_programs_own_overlay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot of the current peers (not the last journaled ones) replays to another state."""

    def wrong(self: Gossip) -> list[Any]:
        return [{"peers": self._peers}, self._values]

    monkeypatch.setattr(Gossip, "_snapshot", wrong)

    async def scenario() -> None:
        pair = _gossip_pair(tmp_path, monkeypatch)
        pair.do(lambda g, _: g.set_peers(["n2"], persist=True))
        pair.do(lambda g, _: g.set_peers(["n3"]))
        with pytest.raises(AssertionError):
            drive(pair, [lambda g, _, v=v: g.add(v) for v in range(200)])
        assert pair.compactions >= 1
        pair.close()

    run(scenario())


# -- kafka LocalLogs (5a, 5c) ----------------------------------------------------------------------


def kafka_state(logs: LocalLogs) -> Any:
    return logs.logs, logs.committed


def kafka_ops(rng: random.Random, n: int) -> list[Callable[[LocalLogs, JournalNode], Any]]:
    keys = [f"k{i}" for i in range(6)]
    ops: list[Callable[[LocalLogs, JournalNode], Any]] = []
    for _ in range(n):
        r, key = rng.random(), rng.choice(keys)
        if r < 0.5:
            msg = rng.randrange(10**6)
            ops.append(lambda s, _, key=key, msg=msg: s.append(key, msg))
        elif r < 0.7:  # a replica's extension: sometimes overlapping, sometimes leaving a gap
            msgs = [rng.randrange(1000) for _ in range(rng.randint(0, 4))]
            back = rng.randint(-1, 3)
            ops.append(
                lambda s, _, key=key, msgs=msgs, back=back: s.extend(
                    key, len(s.logs.get(key, ())) - back, msgs
                )
            )
        elif r < 0.8:  # a poll of a key nobody wrote leaves no trace, but an empty extension does
            ops.append(lambda s, _, key=key: s.extend(key, 5, []))
        else:  # commits, often of offsets already committed (journaled only when they rise)
            offsets = {k: rng.randrange(40) for k in rng.sample(keys, rng.randint(1, 3))}
            ops.append(lambda s, _, offsets=offsets: s.commit(offsets))
    return ops


def _kafka_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pair:
    return Pair(tmp_path, monkeypatch, lambda node: LocalLogs(100, node), kafka_state, 1000)


def test_kafka_snapshot_replays_to_the_state_of_the_whole_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = _kafka_pair(tmp_path, monkeypatch)
    drive(pair, kafka_ops(random.Random(2), 2000))
    assert pair.compactions >= 3
    pair.close()


def test_kafka_equivalence_catches_a_snapshot_without_the_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        LocalLogs, "_snapshot", lambda self: [["x", k, 0, log] for k, log in self.logs.items()]
    )
    pair = _kafka_pair(tmp_path, monkeypatch)
    pair.do(lambda s, _: s.commit({"k": 3}))
    with pytest.raises(AssertionError):
        drive(pair, [lambda s, _, i=i: s.append("k", i) for i in range(300)])
    assert pair.compactions >= 1
    pair.close()


# -- txn TxnStore (6a-6c) --------------------------------------------------------------------------


def txn_state(store: TxnStore) -> Any:
    """The registers, the Lamport counter, and what ``start`` queues for each peer from them."""
    store.start()
    queued = {peer: {k: entry[:2] for k, entry in pending.items()} for peer, pending in store.unacked.items()}
    return store.registers, store.counter, queued


def txn_ops(rng: random.Random, n: int) -> list[Callable[[TxnStore, JournalNode], Any]]:
    ops: list[Callable[[TxnStore, JournalNode], Any]] = []
    clocks = {"n2": 0, "n3": 0}
    for _ in range(n):
        if rng.random() < 0.6:
            txn = [
                ["r", k, None] if rng.random() < 0.4 else ["w", k, rng.randrange(100)]
                for k in (rng.randrange(12) for _ in range(rng.randint(1, 4)))
            ]
            ops.append(lambda s, _, txn=txn: s.execute(txn))
        else:  # a peer's sync: versions ahead of ours, behind, or tied with another node's
            peer = rng.choice(sorted(clocks))
            clocks[peer] += rng.randint(-2, 3)
            writes = [[rng.randrange(12), rng.randrange(100), max(1, clocks[peer]), peer] for _ in range(3)]
            body = {"type": "txn_sync", "writes": writes}
            ops.append(lambda s, _, peer=peer, body=body: s.on_sync(Message(src=peer, dest="n1", body=body)))
    return ops


def _txn_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pair:
    return Pair(
        tmp_path, monkeypatch, lambda node: TxnStore(node), txn_state, 600, lambda s: (s.registers, s.counter)
    )


def test_txn_snapshot_replays_to_the_state_of_the_whole_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = _txn_pair(tmp_path, monkeypatch)
    drive(pair, txn_ops(random.Random(3), 1500))
    assert pair.compactions >= 10
    pair.close()


def test_txn_equivalence_catches_a_snapshot_that_loses_whose_version_is_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Values with counters but every version as the node's own: the counter and the registers'
    values come back, yet the restarted node would queue its peers' writes as its own."""

    def wrong(self: TxnStore) -> list[Any]:
        return [[[k, v, version[0], self.node.node_id] for k, (v, version) in self.registers.items()]]

    monkeypatch.setattr(TxnStore, "_snapshot", wrong)
    pair = _txn_pair(tmp_path, monkeypatch)
    with pytest.raises(AssertionError):
        drive(pair, txn_ops(random.Random(3), 300))
    assert pair.compactions >= 1
    pair.close()


# -- the programs, killed in-process after compactions ----------------------------------------------


def _journal(program: Program) -> Journal:
    [journal] = [
        h.__self__ for h in program.node._commit_hooks if isinstance(getattr(h, "__self__", None), Journal)
    ]
    return journal


def test_broadcast_3c_compacts_and_a_kill_loses_no_acknowledged_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAELSTROM_COMPACT_BYTES", "300")
    values = list(range(400))

    async def scenario() -> tuple[int, int, list[Any], list[Any]]:
        async with Program("fault-tolerant-broadcast", node_ids=["n1", "n2"]) as p:
            await p.call({"type": "topology", "topology": {"n1": ["n2"], "n2": ["n1"]}})
            for v in values:
                assert (await p.call({"type": "broadcast", "message": v}))["type"] == "broadcast_ok"
            journal = _journal(p)
            compactions, size = journal.compactions, journal.size
            await p.kill()
        q = p.restarted()
        async with q:
            read = (await q.call({"type": "read"}))["messages"]
            for _ in range(100):
                if q.peer_messages:
                    break
                await asyncio.sleep(0.01)
            # the topology came back from the snapshot: every value is offered to n2 again
            resent = [v for m in q.peer_messages if m["dest"] == "n2" for v in m["body"].get("values", [])]
        return compactions, size, read, resent

    compactions, size, read, resent = asyncio.run(scenario())
    assert compactions >= 2 and size < 2 * 4 * len(values)  # the whole journal: about 11 bytes a value
    assert read == values and sorted(resent) == values


def test_kafka_5a_compacts_and_a_kill_loses_no_send_or_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAELSTROM_COMPACT_BYTES", "500")

    async def scenario() -> tuple[int, dict[str, Any], dict[str, Any], int]:
        async with Program("single-node-kafka-style-log") as p:
            for i in range(300):
                key = f"k{i % 3}"
                assert (await p.call({"type": "send", "key": key, "msg": i}))["offset"] == i // 3
                if i % 10 == 9:
                    await p.call({"type": "commit_offsets", "offsets": {key: i // 3}})
            compactions = _journal(p).compactions
            await p.kill()
        async with p.restarted() as q:
            polled = await q.call({"type": "poll", "offsets": {"k0": 0, "k1": 90, "k2": 95}})
            listed = await q.call({"type": "list_committed_offsets", "keys": ["k0", "k1", "k2"]})
            offset = (await q.call({"type": "send", "key": "k1", "msg": "next"}))["offset"]
        return compactions, polled["msgs"], listed["offsets"], offset

    compactions, msgs, offsets, offset = asyncio.run(scenario())
    assert compactions >= 2
    assert msgs == {
        "k0": [[o, 3 * o] for o in range(100)],
        "k1": [[o, 3 * o + 1] for o in range(90, 100)],
        "k2": [[o, 3 * o + 2] for o in range(95, 100)],
    }
    committed: dict[str, int] = {}
    for i in range(9, 300, 10):
        committed[f"k{i % 3}"] = max(committed.get(f"k{i % 3}", 0), i // 3)
    assert offsets == committed and offset == 100


def test_kafka_5c_compacts_and_a_kill_loses_no_copied_or_own_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAELSTROM_COMPACT_BYTES", "400")

    async def scenario() -> tuple[int, dict[str, Any], dict[str, Any], int]:
        async with Program("efficient-kafka-style-log", node_ids=["n2", "n1"]) as p:
            for i in range(0, 100, 2):  # n1's messages at even offsets, copied in order
                entries = [["k", 2 * i, i], ["k", 2 * i + 2, i + 1]]
                body = {"type": "sync", "start": i, "entries": entries, "floor": i + 2, "acked": 0}
                p.send({**body, "committed": {"k": 2 * i}}, src="n1")
            for offset in range(200, 1000):  # commits: the journal keeps each, the snapshot the last
                await p.call({"type": "commit_offsets", "offsets": {"k": offset}})
            own = (await p.call({"type": "send", "key": "k", "msg": "mine"}))["offset"]
            compactions = _journal(p).compactions
            await p.kill()
        async with p.restarted() as q:
            body = {"type": "sync", "start": 100, "entries": [], "floor": 200, "acked": 1, "committed": {}}
            q.send(body, src="n1")
            polled = await q.call({"type": "poll", "offsets": {"k": 150}})
            listed = await q.call({"type": "list_committed_offsets", "keys": ["k"]})
        return compactions, polled["msgs"], listed["offsets"], own

    compactions, msgs, offsets, own = asyncio.run(scenario())
    assert compactions >= 2 and own == 201
    assert msgs == {"k": [*([o, o // 2] for o in range(150, 200, 2)), [201, "mine"]]}
    assert offsets == {"k": 999}


def test_txn_6c_compacts_and_a_kill_loses_no_write_and_requeues_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAELSTROM_COMPACT_BYTES", "400")
    challenge = "totally-available-read-committed-transactions"

    async def scenario() -> tuple[int, list[Any], list[Any]]:
        async with Program(challenge, node_ids=["n1", "n2"]) as p:
            for i in range(100):
                await p.call({"type": "txn", "txn": [["w", i % 4, i], ["w", 10 + i % 2, i]]})
            # n2's write with a newer version: key 0 is n2's now, so it is not n1's to resend
            sync = {"type": "txn_sync", "writes": [[0, 500, 1000, "n2"]]}
            p.send(sync, src="n2")
            await p.call({"type": "txn", "txn": [["r", 0, None]]})  # after the sync was handled
            compactions = _journal(p).compactions
            await p.kill()  # before any txn_sync went out (every 0.1 s; this takes less)
        async with p.restarted() as q:
            reply = await q.call({"type": "txn", "txn": [["r", k, None] for k in (0, 1, 2, 3, 10, 11)]})
            for _ in range(100):
                if q.peer_messages:
                    break
                await asyncio.sleep(0.02)
            writes = [
                w for m in q.peer_messages if m["body"]["type"] == "txn_sync" for w in m["body"]["writes"]
            ]
        return compactions, reply["txn"], writes

    compactions, read, writes = asyncio.run(scenario())
    assert compactions >= 2
    assert read == [["r", 0, 500], ["r", 1, 97], ["r", 2, 98], ["r", 3, 99], ["r", 10, 98], ["r", 11, 99]]
    # its own newest writes, each with the version it had before the kill (the counter came back)
    assert sorted(writes) == [
        [1, 97, 98, "n1"],
        [2, 98, 99, "n1"],
        [3, 99, 100, "n1"],
        [10, 98, 99, "n1"],
        [11, 99, 100, "n1"],
    ]
