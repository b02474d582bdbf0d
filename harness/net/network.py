"""Maelstrom's simulated network: per-recipient delivery queues, latency, partitions, journal.

Mirrors ``maelstrom.net`` (jepsen-io/maelstrom, src/maelstrom/net.clj):

* every registered id has one queue ordered by deadline (ties by send order) and ONE delivery
  "thread" (event-loop callbacks, see ``Network._take``), which takes the head immediately (even when it is not due yet), drops it if the
  recipient holds a grudge against the sender *at that moment*, sleeps until the deadline,
  journals it as received and hands it over. So a message due later blocks everything behind
  it (head-of-line blocking), exactly like Maelstrom's single stdin thread per node;
* latency applies only when neither party's id starts with ``c`` (clients);
* every accepted message gets a global integer ``id`` starting at 0.

Clients receive directly: every message to or from a client has zero latency, so a queue
would only ever hold due messages in send order.

A message to an idle recipient is taken at once, inside ``send``: a zero-latency one is
delivered inline, which is what Maelstrom's waiting delivery thread would do next anyway.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from array import array
from collections.abc import Callable
from time import monotonic_ns
from typing import IO, Any

import msgspec

from harness.checkers.core import quantile

__all__ = ["Endpoint", "Message", "Network", "latency_sampler"]

_encode = msgspec.json.Encoder().encode


class Message:
    """One message in flight. ``line`` is its JSON encoding as a node receives it (no newline)."""

    __slots__ = ("body", "dest", "id", "line", "src")

    def __init__(self, id: int, src: str, dest: str, body: dict[str, Any], line: bytes) -> None:
        self.id = id
        self.src = src
        self.dest = dest
        self.body = body
        self.line = line


Deliver = Callable[[Message], None]


class Endpoint:
    """A registered id: its queue, its delivery callback, and the head it is waiting to deliver.

    ``idle`` is True when no message is taken (the queue is empty); otherwise ``timer`` fires at the
    taken head's due time.
    """

    __slots__ = ("admit", "deliver", "direct", "heap", "held", "id", "idle", "timer")

    def __init__(self, id: str, deliver: Deliver, direct: bool) -> None:
        self.id = id
        self.deliver = deliver
        # direct: deliver at send time, no queue or loop (clients)
        self.direct = direct
        self.heap: list[tuple[int, int, Message]] = []
        self.idle = True
        self.timer: asyncio.TimerHandle | None = None
        #: a killed node's endpoint: messages to it wait in its queue until ``release``
        self.held = False
        #: while held, messages from this id (the restarted node's init client) still go through
        self.admit: str | None = None


def latency_sampler(mean_ms: int, dist: str, rng: random.Random) -> Callable[[], int]:
    """A function drawing one inter-node latency in whole ms, as Maelstrom's ``--latency-dist``.

    Raises ValueError where Maelstrom fails at construction (uniform or exponential with mean 0).
    """
    if dist == "constant":
        return lambda: mean_ms
    if dist == "uniform":
        if mean_ms <= 0:
            raise ValueError("--latency-dist uniform needs --latency > 0 (Maelstrom fails the same way)")
        top = 2 * mean_ms
        return lambda: rng.randrange(top)
    if dist == "exponential":
        if mean_ms <= 0:
            raise ValueError("--latency-dist exponential needs --latency > 0 (Maelstrom divides by zero)")
        rate = 1.0 / mean_ms
        return lambda: int(rng.expovariate(rate))
    raise ValueError(f"unknown --latency-dist {dist!r}: expected constant, uniform or exponential")


class Network:
    """The simulated network of one run. Use from the event loop thread only."""

    def __init__(
        self,
        latency: Callable[[], int] | None = None,
        journal: IO[bytes] | None = None,
        *,
        t0_ns: int | None = None,
        log: Callable[[str], None] | None = None,
        log_send: bool = False,
        log_recv: bool = False,
        clock: Callable[[], int] = monotonic_ns,
    ) -> None:
        # ns on the event loop's clock (the loop's time() is monotonic() unless a test says otherwise)
        self._clock = clock
        self._latency = latency or (lambda: 0)
        self._constant_zero = latency is None
        self.endpoints: dict[str, Endpoint] = {}
        #: dest -> srcs whose messages dest drops (Maelstrom's ``partitions``)
        self.partitions: dict[str, set[str]] = {}
        self.journal = journal
        self.t0_ns = clock() if t0_ns is None else t0_ns
        self._next_id = 0
        self._seq = 0
        self.send_count = 0
        self.recv_count = 0
        self.client_send_count = 0
        self.client_recv_count = 0
        self.dropped_count = 0
        #: lateness of every delivery that waited for a due time, in microseconds
        self.lateness_us = array("q")
        self._log: Callable[[str], None] = log or (lambda _: None)
        self._log_send = log_send and log is not None
        self._log_recv = log_recv and log is not None
        self._closed = False
        #: nodes paused or killed right now, and how many pauses and kills there have been
        self.faulted: set[str] = set()
        self.fault_epoch = 0
        #: closed clients during whose last request some node was paused or killed: a late reply
        #: to one can be the fault's doing (the node waited on a peer that was down), not the
        #: node's, so it is discarded instead of being a node fault
        self.excused: set[str] = set()
        self.excused_replies = 0

    # -- registration -------------------------------------------------------------------------

    def register(self, id: str, deliver: Deliver, *, direct: bool = False) -> Endpoint:
        """Register ``id``. ``deliver(msg)`` is called once per delivered message, in order."""
        if id in self.endpoints:
            raise ValueError(f"{id} is already registered")
        ep = Endpoint(id, deliver, direct)
        self.endpoints[id] = ep
        return ep

    def unregister(self, id: str) -> None:
        """Forget ``id``; messages still queued for it are never delivered (as in Maelstrom)."""
        ep = self.endpoints.pop(id, None)
        if ep is not None and ep.timer is not None:
            ep.timer.cancel()

    def __contains__(self, id: str) -> bool:
        return id in self.endpoints

    # -- partitions ---------------------------------------------------------------------------

    def drop(self, src: str, dest: str) -> None:
        """From now on ``dest`` drops messages from ``src`` (checked when dest dequeues them)."""
        self.partitions.setdefault(dest, set()).add(src)

    def heal(self) -> None:
        self.partitions.clear()

    # -- killed nodes -------------------------------------------------------------------------

    def mark_faulted(self, node: str) -> None:
        self.faulted.add(node)
        self.fault_epoch += 1

    def mark_recovered(self, node: str) -> None:
        self.faulted.discard(node)

    def hold(self, id: str) -> None:
        """Stop delivering to ``id`` (its process was killed): messages to it wait, undelivered.

        The id stays registered, so peers may go on sending to it (Maelstrom PR #102 keeps a
        killed node in the network too); a head already taken goes back into the queue.
        """
        self.endpoints[id].held = True

    def admit(self, id: str, src: str) -> None:
        """While ``id`` is held, deliver messages from ``src`` anyway: the restarted process gets
        its ``init`` first, and everything that waited only after it answered."""
        ep = self.endpoints[id]
        ep.admit = src
        if ep.idle:
            self._take(ep)

    def release(self, id: str) -> None:
        """Deliver to ``id`` again (a fresh process runs under it). Messages from clients that
        are gone by now are dropped: their replies would go to an id nobody holds any more."""
        ep = self.endpoints[id]
        ep.held = False
        ep.admit = None
        now = self._clock()
        # what waited is due now, not late: the wait is the fault's, not the runner's lateness
        kept = [
            (max(deadline, now), seq, msg)
            for deadline, seq, msg in ep.heap
            if not (msg.src[0] == "c" and msg.src not in self.endpoints)
        ]
        self.dropped_count += len(ep.heap) - len(kept)
        heapq.heapify(kept)
        ep.heap = kept
        if ep.idle:
            self._take(ep)

    # -- sending ------------------------------------------------------------------------------

    def send(self, src: str, dest: str, body: dict[str, Any]) -> Message:
        """Accept a message into the network. The caller has checked that src and dest exist."""
        ep = self.endpoints[dest]
        mid = self._next_id
        self._next_id = mid + 1
        line = _encode({"id": mid, "src": src, "dest": dest, "body": body})
        msg = Message(mid, src, dest, body, line)
        now = self._clock()
        self.send_count += 1
        is_client = src[0] == "c" or dest[0] == "c"
        if is_client:
            self.client_send_count += 1
        if self.journal is not None:
            self.journal.write(b'{"type":"send","time":%d,"message":%b}\n' % (now - self.t0_ns, line))
        if self._log_send:
            self._log(f":send {line.decode()}")
        if ep.direct:
            self._deliver(ep, msg, is_client)
            return msg
        latency_ms = 0 if is_client or self._constant_zero else self._latency()
        self._seq += 1
        heapq.heappush(ep.heap, (now + latency_ms * 1_000_000, self._seq, msg))
        if ep.idle:
            # an idle delivery thread takes the message as soon as it arrives
            self._take(ep)
        return msg

    def _deliver(self, ep: Endpoint, msg: Message, is_client: bool) -> None:
        self.recv_count += 1
        if is_client:
            self.client_recv_count += 1
        if self.journal is not None:
            self.journal.write(
                b'{"type":"recv","time":%d,"message":%b}\n' % (self._clock() - self.t0_ns, msg.line)
            )
        if self._log_recv:
            self._log(f":recv {msg.line.decode()}")
        ep.deliver(msg)

    def _take(self, ep: Endpoint) -> None:
        """What ``ep``'s single delivery thread does: take the head of the queue at once, even when
        it is not due (partitions are checked now), and deliver it at its due time; everything
        behind it waits. Due heads are delivered right away, one after another.

        Callbacks on the event loop rather than a task per endpoint: many deliveries due at the
        same moment (a node's batch to 24 peers) then cost no task switches, which keeps
        deliveries close to their due time.
        """
        if ep.held:
            ep.idle = True
            if ep.admit is not None and any(e[2].src == ep.admit for e in ep.heap):
                admitted = sorted(e for e in ep.heap if e[2].src == ep.admit)
                ep.heap = [e for e in ep.heap if e[2].src != ep.admit]
                heapq.heapify(ep.heap)
                for _, _, msg in admitted:  # from a client: no latency, due at once
                    self._deliver(ep, msg, True)
            return
        heap = ep.heap
        partitioned = self.partitions.get(ep.id, ())
        while heap:
            deadline, _, msg = heapq.heappop(heap)
            if msg.src in partitioned:
                self.dropped_count += 1
                continue
            now = self._clock()
            if deadline > now:
                ep.idle = False
                ep.timer = asyncio.get_running_loop().call_at(deadline / 1e9, self._due, ep, deadline, msg)
                return
            is_client = msg.src[0] == "c" or msg.dest[0] == "c"
            if deadline < now and not is_client:
                # due already: it waited behind a head-of-line message, or the runner was slow
                self.lateness_us.append((now - deadline) // 1000)
            self._deliver(ep, msg, is_client)
            if self.endpoints.get(ep.id) is not ep:
                return
        ep.idle = True

    def _due(self, ep: Endpoint, deadline: int, msg: Message) -> None:
        ep.timer = None
        if self._closed or self.endpoints.get(ep.id) is not ep:
            return
        if ep.held:
            # killed while this head was waiting for its due time: it waits with the rest, and
            # what the restart's init client sent meanwhile goes through now (_take does both)
            self._seq += 1
            heapq.heappush(ep.heap, (deadline, -self._seq, msg))
            self._take(ep)
            return
        self.lateness_us.append((self._clock() - deadline) // 1000)
        self._deliver(ep, msg, msg.src[0] == "c" or msg.dest[0] == "c")
        if self.endpoints.get(ep.id) is ep:
            self._take(ep)

    # -- results ------------------------------------------------------------------------------

    def lateness_ms(self) -> dict[str, Any]:
        """p50/p99/max of how late deliveries were against their due time, in ms."""
        xs = sorted(self.lateness_us)
        if not xs:
            return {"count": 0}

        def q(p: float) -> float:
            return round(quantile(xs, p) / 1000, 3)

        return {"count": len(xs), "p50": q(0.5), "p99": q(0.99), "max": round(xs[-1] / 1000, 3)}

    def counts(self) -> dict[str, int]:
        return {
            "send-count": self.send_count,
            "recv-count": self.recv_count,
            # every message is journaled as sent once, so distinct ids == sends
            "msg-count": self.send_count,
            "client-send-count": self.client_send_count,
            "client-recv-count": self.client_recv_count,
        }

    async def close(self) -> None:
        self._closed = True
        for ep in self.endpoints.values():
            if ep.timer is not None:
                ep.timer.cancel()
        self.endpoints.clear()
        if self.journal is not None:
            self.journal.flush()
