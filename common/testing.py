"""Test doubles for node logic, in one place: virtual time, linked protocols, fake nodes on a fake net.

- :class:`VirtualTimeLoop` (from :mod:`common.clock`, where the simulation finds it) and :func:`run`:
  an asyncio loop whose clock jumps to the next timer whenever nothing is ready, so ``sleep``,
  ``call_later`` and periodic tasks cost no wall time and every timestamp is exact.
- :class:`LinkedProtocols`: sans-I/O :class:`~common.protocol.Protocol` nodes joined by a fake
  link, h11-style: what one sends is fed to the other when you call :meth:`~LinkedProtocols.pump`.
- :class:`SimNet` and :class:`FakeNode`: the slice of :class:`common.Node` that the shared program
  logic (``engines.gossip.Gossip``, ``engines.txn.TxnStore``) uses, on a network with latency and
  partitions that delivers by loop timers or by hand.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from common.clock import VirtualTimeLoop
from common.protocol import Message, Protocol

__all__ = ["FakeNode", "LinkedProtocols", "SimNet", "VirtualTimeLoop", "run"]

T = TypeVar("T")


# -- virtual time ---------------------------------------------------------------------------------


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` on a fresh :class:`VirtualTimeLoop`."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)


# -- linked protocols -------------------------------------------------------------------------------


class LinkedProtocols:
    """Protocols for ``node_ids``, initialised and joined by a fake link.

    Nothing moves until :meth:`pump`, which feeds every line a node wrote to its destination
    node until all are quiet; lines for anyone else (clients, services) are returned.
    """

    def __init__(self, node_ids: Iterable[str], log: Callable[[str], None] | None = None) -> None:
        ids = list(node_ids)
        self.logs: list[str] = []
        self.nodes = {n: Protocol(log=log or self.logs.append) for n in ids}
        for n, protocol in self.nodes.items():
            init = {"type": "init", "msg_id": 1, "node_id": n, "node_ids": ids}
            protocol.feed(_line("c0", n, init))
        self.pump()  # the init_ok replies

    def __getitem__(self, node_id: str) -> Protocol:
        return self.nodes[node_id]

    def client_send(self, src: str, dest: str, body: dict[str, Any]) -> None:
        """A line from a client (or any outside party) to node ``dest``."""
        self.nodes[dest].feed(_line(src, dest, body))

    def pump(self, drop: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        """Deliver between the nodes until none has output; return the messages for others.

        ``drop(msg)`` true loses a node-to-node message (a partition)."""
        outside: list[dict[str, Any]] = []
        moved = True
        while moved:
            moved = False
            for protocol in self.nodes.values():
                data = bytes(protocol.data_to_send())
                for text in data.splitlines():
                    moved = True
                    msg = json.loads(text)
                    target = self.nodes.get(msg["dest"])
                    if target is None:
                        outside.append(msg)
                    elif drop is None or not drop(msg):
                        target.feed(text + b"\n")
        return outside


def _line(src: str, dest: str, body: dict[str, Any]) -> bytes:
    return json.dumps({"src": src, "dest": dest, "body": body}).encode() + b"\n"


# -- fake nodes on a simulated network ------------------------------------------------------------


class SimNet:
    """Carries bodies between :class:`FakeNode` s, unless a partition cuts the pair.

    With a ``latency`` in seconds, a message is delivered by a loop timer that much later (use
    :class:`VirtualTimeLoop` for exact, instant runs); with ``latency=None`` it waits in
    ``in_flight`` until :meth:`deliver_all`. ``sent`` and ``dropped`` count messages.
    """

    def __init__(self, latency: float | None = 0.0) -> None:
        self.latency = latency
        self.cut: set[tuple[str, str]] = set()
        self.nodes: dict[str, FakeNode] = {}
        self.in_flight: list[tuple[str, str, dict[str, Any]]] = []
        self.sent = 0
        self.dropped = 0

    def send(self, src: str, dest: str, body: dict[str, Any]) -> None:
        self.sent += 1
        if (src, dest) in self.cut:
            self.dropped += 1
        elif self.latency is None:
            self.in_flight.append((src, dest, body))
        else:
            asyncio.get_running_loop().call_later(self.latency, self.nodes[dest].deliver, src, body)

    def deliver_all(self, *, drop: bool = False) -> int:
        """Deliver (or, with ``drop``, lose) every message in flight, and what that causes, until
        the net is quiet; return how many moved."""
        moved = 0
        while self.in_flight:
            batch, self.in_flight = self.in_flight, []
            for src, dest, body in batch:
                moved += 1
                if drop:
                    self.dropped += 1
                else:
                    self.nodes[dest].deliver(src, body)
        return moved

    def isolate(self, node: str) -> None:
        for other in self.nodes:
            if other != node:
                self.cut |= {(node, other), (other, node)}

    def heal(self) -> None:
        self.cut.clear()

    def stop(self) -> None:
        """Cancel every node's periodic tasks."""
        for node in self.nodes.values():
            node.stop()


class FakeNode:
    """What ``Gossip`` and ``TxnStore`` use of :class:`common.Node`: ids, ``handler``, ``send``,
    ``every``, the clock (``now``, ``call_later``) and ``random``. ``every`` starts a task when called inside a running loop; outside one it only
    records the callback in ``periodic`` (a test then calls it by hand)."""

    def __init__(self, net: SimNet, node_id: str, node_ids: list[str] | None = None) -> None:
        self.net = net
        self.node_id = node_id
        self.node_ids = node_ids if node_ids is not None else [node_id]
        self.handlers: dict[str, Callable[[Message], Any]] = {}
        self.periodic: list[tuple[float, Callable[[], Any]]] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.random = random.Random(node_id)
        self.clock = 0.0
        net.nodes[node_id] = self

    def now(self) -> float:
        """The loop's time; outside a running loop ``clock``, which a test moves by hand."""
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return self.clock

    def wall_ns(self) -> int:
        return round(self.now() * 1e9)

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, fn, *args)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> asyncio.Handle:
        return asyncio.get_running_loop().call_soon(fn, *args)

    def handler(self, kind: str) -> Callable[[Callable[[Message], Any]], Callable[[Message], Any]]:
        def register(fn: Callable[[Message], Any]) -> Callable[[Message], Any]:
            self.handlers[kind] = fn
            return fn

        return register

    def every(self, interval: float, fn: Callable[[], Any]) -> None:
        self.periodic.append((interval, fn))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return

        async def repeat() -> None:
            while True:
                await asyncio.sleep(interval)
                fn()

        self.tasks.append(loop.create_task(repeat()))

    def send(self, dest: str, body: dict[str, Any]) -> None:
        self.net.send(self.node_id, dest, body)

    def deliver(self, src: str, body: dict[str, Any]) -> None:
        self.handlers[body["type"]](Message(src=src, dest=self.node_id, body=body))

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
