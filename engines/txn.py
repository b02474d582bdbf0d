"""A totally available, read-committed key/value store for the txn-rw-register workload.

Each node executes a ``txn`` entirely locally inside one synchronous handler, so no other
transaction on that node ever runs in between: its reads see its own earlier writes, and nobody
else sees its intermediate writes (no G1b). A transaction never aborts (no G1a) and never waits
for a peer, so it stays available under any partition.

Versions: every register holds ``(value, (counter, node))``. A node keeps a Lamport counter; a
transaction that writes takes ``counter + 1`` as the version of all its writes, and a node that
learns a peer's write raises its counter past it. So a transaction that read (or overwrote)
another's value always writes with a larger version: every ww and wr dependency points forward
in version order, which rules out ww cycles (G0) and ww/wr cycles (G1c). Replicas apply a write
only if its version is larger than what they hold (last writer wins), so they converge.

Replication: a node remembers, per peer, the latest version of each key it wrote and the peer has
not acknowledged (only final writes of a transaction; later writes to a key replace earlier
ones). Every ``sync_interval`` it sends them all in one ``txn_sync`` message; the peer applies the
batch in one handler (atomically) and answers ``txn_sync_ack`` with the versions it got. Entries
not acknowledged within ``retry_after`` are sent again, which carries writes across partitions
once they heal. Messages (server to server, no ``msg_id``):
``{"type": "txn_sync", "writes": [[k, v, counter, node], ...]}`` and
``{"type": "txn_sync_ack", "acks": [[k, counter, node], ...]}``.

Durability: every write a node applies, its own transactions' and its peers', is journaled
(``common.durable``) as ``[key, value, counter, node]`` before the ``txn_ok`` or the
``txn_sync_ack`` that promises it goes out. A node restarted after a kill replays the journal in
``init`` (which restores the Lamport counter too) and queues the registers whose newest version is
its own for every peer again: what it had sent and not had acked was in memory only. The journal
grows with every write, the registers only with new keys, so it compacts to a snapshot of the
registers (one record of ``[key, value, counter, node]``, versions included, so the same ones are
queued).

Every message is validated whole before any of it is applied (``common.requests``): a ``txn``
with one bad micro-op gets error 12 and writes nothing, as error 12 promises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from common.durable import Journal
from common.node import Node
from common.protocol import Message
from common.requests import Request, parse

__all__ = ["MicroOp", "Txn", "TxnStore", "serve_txns"]

Version = tuple[int, str]
#: ``["r", key, null]`` or ``["w", key, value]``; keys and values are integers (Maelstrom's)
MicroOp = tuple[Literal["r", "w"], int, int | None]


class Txn(Request):
    txn: list[MicroOp]

    def __post_init__(self) -> None:
        for i, (f, k, v) in enumerate(self.txn):
            if (f == "r") != (v is None):
                wanted = "null" if f == "r" else "an integer"
                raise ValueError(f"micro-op {i} [{f!r}, {k}, {v!r}]: the value of {f!r} must be {wanted}")


class TxnSync(Request):
    writes: list[tuple[int, int, int, str]]  # key, value, version counter, version node


class TxnSyncAck(Request):
    acks: list[tuple[int, int, str]]  # key, version counter, version node


class TxnStore:
    """The replicated registers of one node. Use from the node's event loop only."""

    def __init__(
        self, node: Node, *, sync_interval: float = 0.1, retry_after: float = 0.5, durable: bool = True
    ) -> None:
        self.node = node
        self.sync_interval = sync_interval
        self.retry_after = retry_after
        self.registers: dict[Any, tuple[Any, Version]] = {}
        self.counter = 0
        # peer -> key -> (value, version, when last sent; 0 = never)
        self.unacked: dict[str, dict[Any, list[Any]]] = {}
        self.journal = Journal(node, "txn", self._replay, snapshot=self._snapshot) if durable else None

    def _replay(self, writes: list[list[Any]]) -> None:
        for k, v, counter, origin in writes:
            self.apply(k, v, (counter, origin))

    def _snapshot(self) -> list[list[list[Any]]]:
        """One record replaying to this state: every register with its value and version.

        That is all replay needs: the version's node says which registers ``start`` queues again
        (those whose newest version is ours), and the Lamport counter comes back as the largest
        version counter held, which is what it is (a write's version never exceeds the one its
        key ends up holding, and the counter only ever takes a write's version)."""
        return [[[k, v, *version] for k, (v, version) in self.registers.items()]]

    def start(self) -> None:
        me = self.node.node_id
        self.unacked = {p: {} for p in self.node.node_ids if p != me}
        for pending in self.unacked.values():  # after a restart: our newest writes, once more
            for k, (v, version) in self.registers.items():
                if version[1] == me:
                    pending[k] = [v, version, 0.0]
        if self.unacked:
            self.node.every(self.sync_interval, self.sync)

    def execute(self, txn: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """Run one transaction atomically; return it with read values filled in.

        ``txn`` must be valid already (a ``Txn``'s micro-ops): every op that is not a read writes.
        """
        version = (self.counter + 1, self.node.node_id)
        result, written = [], {}
        for f, k, v in txn:
            if f == "r":
                held = self.registers.get(k)
                result.append(["r", k, held[0] if held else None])
            else:
                self.registers[k] = (v, version)
                written[k] = v
                result.append(["w", k, v])
        if written:
            self.counter += 1
            if self.journal is not None:
                self.journal.append([[k, v, *version] for k, v in written.items()])
            for pending in self.unacked.values():
                for k, v in written.items():
                    pending[k] = [v, version, 0.0]
        return result

    def apply(self, k: Any, v: Any, version: Version) -> None:
        self.counter = max(self.counter, version[0])
        held = self.registers.get(k)
        if held is None or held[1] < version:
            self.registers[k] = (v, version)

    def sync(self) -> None:
        now = self.node.now()
        for peer, pending in self.unacked.items():
            batch = []
            for k, entry in pending.items():
                if now - entry[2] >= self.retry_after:
                    entry[2] = now
                    batch.append([k, entry[0], *entry[1]])
            if batch:
                self.node.send(peer, {"type": "txn_sync", "writes": batch})

    def on_sync(self, msg: Message) -> None:
        acks = []
        writes = parse(msg, TxnSync).writes
        for k, v, counter, origin in writes:
            self.apply(k, v, (counter, origin))
            acks.append([k, counter, origin])
        if writes and self.journal is not None:
            self.journal.append(writes)
        self.node.send(msg.src, {"type": "txn_sync_ack", "acks": acks})

    def on_ack(self, msg: Message) -> None:
        pending = self.unacked.get(msg.src, {})
        for k, counter, origin in parse(msg, TxnSyncAck).acks:
            entry = pending.get(k)
            if entry is not None and entry[1] == (counter, origin):
                del pending[k]


def serve_txns(node: Node, store: TxnStore | None = None) -> TxnStore:
    """Register ``txn`` and the replication handlers on ``node``."""
    store = store or TxnStore(node)

    @node.handler("txn")
    def txn(msg: Message) -> dict[str, Any]:
        return {"type": "txn_ok", "txn": store.execute(parse(msg, Txn).txn)}

    @node.handler("txn_sync")
    def txn_sync(msg: Message) -> None:
        store.on_sync(msg)

    @node.handler("txn_sync_ack")
    def txn_sync_ack(msg: Message) -> None:
        store.on_ack(msg)

    node.on_init(store.start)
    return store
