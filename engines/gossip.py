"""A grow-only set spread over an overlay of peers: batched pushes, lazy acks, retries.

Every broadcast program is this module plus a choice of overlay and three knobs:

* ``batch_interval``: per peer, the first new value after a quiet spell goes out at once; values
  that arrive within ``batch_interval`` of the last send to that peer wait and share one message.
* ``ack_delay`` (None = fire and forget): a receiver owes an ack for every value it was sent. Acks
  ride on the next message it sends that peer anyway; only if none goes out within ``ack_delay``
  does it send a message carrying acks alone. So a busy link pays almost nothing for acks.
* ``retry_after``: a value sent to a peer and not acked within this time is sent again, in the
  next batch to that peer. This is what carries values across partitions once they heal.

A value goes to every overlay neighbour except the one it came from (flooding, which on a tree
overlay crosses each edge once); with ``relay=False`` only values added here (from a client) go
out, which is what an overlay where every node is every other's neighbour (all-to-all) needs. Receiving a value from a peer also tells us that peer has it, so
it is never sent back. Nothing is sent while there is nothing new, unacked or owed: an idle
cluster is silent.

Wire format (server to server, no ``msg_id``, never answered):
``{"type": "gossip", "values": [...], "acks": [...]}``, ``acks`` present only when non-empty.

Durability: every value a node adds, from a client or a peer, and the overlay Maelstrom's
``topology`` gives are journaled (``common.durable``) before anything is said about them, so a
``broadcast_ok`` or an ack is only sent once the value is on disk. A node restarted after a kill
replays the journal in ``init`` and queues every value it knows for every peer again (one batch
each; with acks on, peers ack what they had), because what it had sent but not yet had acked was
in memory only. ``durable=False`` keeps everything in memory. The journal holds each value once,
so it grows with the set, not with time; still, its snapshot (the last journaled overlay and every
value in one record) lets it compact once it is twice that, which about halves the file and makes a restart
decode one record instead of one per value.

Values are integers or strings (Maelstrom broadcasts integers): JSON scalars that Python's set
would not confuse, as it would 1, 1.0 and true. Every message, from a client or a peer, is
validated whole before any of it is applied (``common.requests``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable
from typing import Any

import msgspec

from common.durable import Journal
from common.node import Node
from common.protocol import Message
from common.requests import Request, parse

__all__ = ["COMPACT_RATIO", "Broadcast", "Gossip", "GossipBatch", "Topology", "Value", "serve_broadcast"]

Value = int | str

#: compact the journal when it is this many times its snapshot. Not durable.COMPACT_RATIO (4): a
#: value is journaled once, when new, as a record of 8 header bytes + the value, and the snapshot
#: holds it as the value + a comma, so for values of 2 digits or more the journal never reaches 4
#: times its snapshot; at 2 it compacts for values of up to 6 digits (Maelstrom's are counters).
COMPACT_RATIO = 2.0


class Broadcast(Request):
    message: Value


class Topology(Request):
    topology: dict[str, list[str]]


class GossipBatch(Request):
    values: list[Value] = msgspec.field(default_factory=list)
    acks: list[Value] = msgspec.field(default_factory=list)


class _Link:
    """What we owe one peer and what it owes us."""

    __slots__ = ("ack_timer", "flush_timer", "inflight", "last_send", "owed_acks", "unsent")

    def __init__(self) -> None:
        self.unsent: dict[Hashable, None] = {}  # ordered set: to send in the next batch
        self.inflight: dict[Hashable, float] = {}  # value -> when last sent, until acked
        self.owed_acks: dict[Hashable, None] = {}  # values this peer sent us, not yet acked
        self.last_send = float("-inf")
        self.flush_timer: asyncio.Handle | None = None
        self.ack_timer: asyncio.Handle | None = None


class Gossip:
    """The replicated set and its per-peer links. Use from the node's event loop only."""

    def __init__(
        self,
        node: Node,
        *,
        batch_interval: float = 0.0,
        ack_delay: float | None = None,
        retry_after: float | None = None,
        kind: str = "gossip",
        durable: bool = True,
        relay: bool = True,
    ) -> None:
        if (ack_delay is None) != (retry_after is None):
            raise ValueError("ack_delay and retry_after go together (reliable) or not at all")
        if retry_after is not None and ack_delay is not None and retry_after <= ack_delay:
            raise ValueError("retry_after must exceed ack_delay, or every value is sent twice")
        self.node = node
        self.batch_interval = batch_interval
        self.ack_delay = ack_delay
        self.retry_after = retry_after
        self.kind = kind
        self.relay = relay
        self._values: list[Any] = []
        self._seen: set[Hashable] = set()
        self._peers: list[str] = []  # the overlay: where new values go
        self._persisted_peers: list[str] | None = None  # the last overlay journaled (a snapshot's)
        self._links: dict[str, _Link] = {}  # every peer we exchange values or acks with
        node.handler(kind)(self._on_gossip)
        self.journal = (
            Journal(node, kind, self._replay, snapshot=self._snapshot, compact_ratio=COMPACT_RATIO)
            if durable
            else None
        )
        if durable:
            node.on_init(self._after_replay)
        if retry_after is not None:
            node.every(retry_after / 4, self._retry_expired)

    # -- the set ------------------------------------------------------------------------------

    @property
    def values(self) -> list[Any]:
        """Every value known here, in arrival order (a fresh list)."""
        return list(self._values)

    def __contains__(self, value: Hashable) -> bool:
        return value in self._seen

    def __len__(self) -> int:
        return len(self._values)

    @property
    def peers(self) -> list[str]:
        return list(self._peers)

    def _replay(self, record: Any) -> None:
        if isinstance(record, dict):  # {"peers": [...]}: the overlay as topology gave it
            self._peers = list(record["peers"])
            self._persisted_peers = list(self._peers)
        elif isinstance(record, list):  # a snapshot's values, in arrival order (values are scalars)
            for value in record:
                self._replay_value(value)
        else:
            self._replay_value(record)

    def _replay_value(self, value: Any) -> None:
        if value not in self._seen:
            self._seen.add(value)
            self._values.append(value)

    def _snapshot(self) -> list[Any]:
        """Records whose replay gives what the whole journal does: the last overlay journaled
        (not one the program set itself, which replay never sees) and every value, in order."""
        records: list[Any] = []
        if self._persisted_peers is not None:
            records.append({"peers": self._persisted_peers})
        if self._values:
            records.append(self._values)  # encoded before this turn ends: no copy needed
        return records

    def _after_replay(self) -> None:
        """After a restart, offer every known value to every peer once more."""
        if self._values:
            for peer in self._peers:
                link = self._link(peer)
                link.unsent.update(dict.fromkeys(self._values))
                self._schedule_flush(peer, link)

    def set_peers(self, peers: Iterable[str], *, persist: bool = False) -> None:
        """Choose the overlay neighbours; values already known are queued for new ones.

        ``persist`` journals the choice, for an overlay a restarted node cannot choose again
        (Maelstrom sends ``topology`` once, not after a restart)."""
        old = set(self._peers)
        self._peers = [p for p in dict.fromkeys(peers) if p != self.node.node_id]
        if persist and self.journal is not None:
            self.journal.append({"peers": self._peers})
            self._persisted_peers = self._peers
        for peer in self._peers:
            if peer not in old and self._values:
                link = self._link(peer)
                link.unsent.update(dict.fromkeys(self._values))
                self._schedule_flush(peer, link)

    def _link(self, peer: str) -> _Link:
        link = self._links.get(peer)
        if link is None:
            link = self._links[peer] = _Link()
        return link

    def add(self, value: Hashable, src: str | None = None) -> bool:
        """Add ``value`` (from a client when ``src`` is None); True if it was new here."""
        if value in self._seen:
            return False
        self._seen.add(value)
        self._values.append(value)
        if self.journal is not None:
            self.journal.append(value)
        if src is not None and not self.relay:
            return True
        for peer in self._peers:
            if peer != src:
                link = self._link(peer)
                link.unsent[value] = None
                self._schedule_flush(peer, link)
        return True

    # -- receiving ----------------------------------------------------------------------------

    def _on_gossip(self, msg: Message) -> None:
        batch = parse(msg, GossipBatch)
        peer = msg.src
        link = self._link(peer)
        for value in batch.acks:
            link.inflight.pop(value, None)
            link.unsent.pop(value, None)
        values = batch.values
        for value in values:
            self.add(value, src=peer)
            # The sender has it: never send it back.
            link.inflight.pop(value, None)
            link.unsent.pop(value, None)
        if values and self.ack_delay is not None:
            # Ack even values we already had: the sender is waiting to stop resending them.
            link.owed_acks.update(dict.fromkeys(values))
            if link.ack_timer is None:
                link.ack_timer = self.node.call_later(self.ack_delay, self._flush, peer, link)

    # -- sending ------------------------------------------------------------------------------

    def _schedule_flush(self, peer: str, link: _Link) -> None:
        if link.flush_timer is not None:
            return
        wait = link.last_send + self.batch_interval - self.node.now()
        # call_soon even when due now, so that every value of one incoming message shares a batch
        if wait <= 0:
            link.flush_timer = self.node.call_soon(self._flush, peer, link)
        else:
            link.flush_timer = self.node.call_later(wait, self._flush, peer, link)

    def _flush(self, peer: str, link: _Link) -> None:
        """Send everything due to ``peer`` in one message: unsent values and owed acks."""
        if link.flush_timer is not None:
            link.flush_timer.cancel()
            link.flush_timer = None
        if link.ack_timer is not None:
            link.ack_timer.cancel()
            link.ack_timer = None
        if not link.unsent and not link.owed_acks:
            return
        body: dict[str, Any] = {"type": self.kind, "values": list(link.unsent)}
        if link.owed_acks:
            body["acks"] = list(link.owed_acks)
            link.owed_acks.clear()
        now = self.node.now()
        if self.retry_after is not None:
            for value in link.unsent:
                link.inflight[value] = now
        link.unsent.clear()
        if body["values"]:
            link.last_send = now  # pure acks do not hold back the next batch
        self.node.send(peer, body)

    def _retry_expired(self) -> None:
        assert self.retry_after is not None
        now = self.node.now()
        for peer, link in self._links.items():
            expired = [v for v, sent in link.inflight.items() if now - sent >= self.retry_after]
            if expired:
                for value in expired:
                    del link.inflight[value]
                    link.unsent[value] = None
                self._schedule_flush(peer, link)


def serve_broadcast(node: Node, gossip: Gossip, *, use_topology: bool = True) -> None:
    """Answer Maelstrom's broadcast workload (broadcast, read, topology) from ``gossip``.

    With ``use_topology`` the peers are the neighbours Maelstrom's ``topology`` message gives;
    otherwise the program sets its own overlay and the topology is acknowledged and ignored.
    """

    @node.handler("broadcast")
    def broadcast(msg: Message) -> dict[str, Any]:
        gossip.add(parse(msg, Broadcast).message)
        return {"type": "broadcast_ok"}

    @node.handler("read")
    def read(msg: Message) -> dict[str, Any]:
        return {"type": "read_ok", "messages": gossip.values}

    @node.handler("topology")
    def topology(msg: Message) -> dict[str, Any]:
        topology = parse(msg, Topology).topology
        if use_topology:
            gossip.set_peers(topology.get(node.node_id, []), persist=True)
        return {"type": "topology_ok"}
