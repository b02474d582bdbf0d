"""The asyncio shell (common.Node) in-process over os.pipe pairs: rpc, timeouts, tasks, EOF."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from waiting import WITHIN_S

from common import KV, TSO, KeyDoesNotExist, LinKV, Node, PreconditionFailed, RPCTimeout

INIT = {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1", "n2"]}


class Wire:
    """Pipes to and from a Node running in this event loop."""

    def __init__(self, **node_options: Any) -> None:
        self.to_node_r, self.to_node_w = os.pipe()
        self.from_node_r, self.from_node_w = os.pipe()
        os.set_blocking(self.from_node_r, False)
        self.node = Node(stdin=self.to_node_r, stdout=self.from_node_w, **node_options)
        self._buffer = b""
        self._lines: list[dict[str, Any]] = []
        self.serving: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.serving = asyncio.get_running_loop().create_task(self.node.serve())

    def send(self, src: str = "c1", **body: Any) -> None:
        os.write(self.to_node_w, json.dumps({"src": src, "dest": "n1", "body": body}).encode() + b"\n")

    def close_input(self) -> None:
        os.close(self.to_node_w)
        self.to_node_w = -1

    async def recv(self, timeout: float = WITHIN_S) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._lines:
            try:
                self._buffer += os.read(self.from_node_r, 1 << 16)
            except BlockingIOError:
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError("no line from the node") from None
                await asyncio.sleep(0.002)
                continue
            *complete, self._buffer = self._buffer.split(b"\n")
            self._lines += [json.loads(text) for text in complete]
        return self._lines.pop(0)

    async def recv_body(self, timeout: float = WITHIN_S) -> dict[str, Any]:
        return (await self.recv(timeout))["body"]

    async def nothing_for(self, seconds: float) -> None:
        with pytest.raises(TimeoutError):
            await self.recv(seconds)

    def close(self) -> None:
        for fd in (self.to_node_r, self.to_node_w, self.from_node_r, self.from_node_w):
            if fd >= 0:
                os.close(fd)


def run(test: Callable[[Wire], Awaitable[None]] | None = None, **node_options: Any) -> Any:
    """``@run`` or ``@run(eof_grace=...)``: run an async test with a fresh Wire, bounded in time."""
    if test is None:
        return lambda inner: run(inner, **node_options)

    def sync_test() -> None:
        async def main() -> None:
            wire = Wire(**node_options)
            try:
                await test(wire)
            finally:
                if wire.serving is not None and not wire.serving.done():
                    wire.serving.cancel()
                    await asyncio.gather(wire.serving, return_exceptions=True)
                wire.close()

        asyncio.run(asyncio.wait_for(main(), 2 * WITHIN_S))

    sync_test.__name__ = test.__name__
    return sync_test


async def started(wire: Wire) -> Wire:
    wire.start()
    wire.send("c0", **INIT)
    assert await wire.recv_body() == {"type": "init_ok", "in_reply_to": 1}
    return wire


async def finish(wire: Wire) -> None:
    wire.close_input()
    assert wire.serving is not None
    await asyncio.wait_for(wire.serving, WITHIN_S)


# -- rpc ---------------------------------------------------------------------------------------


@run
async def test_rpc_round_trip_and_coroutine_handler(wire: Wire) -> None:
    node = wire.node

    @node.handler("relay")
    async def relay(msg):
        reply = await node.rpc("n2", {"type": "ping", "n": msg.body["n"]})
        return {"type": "relay_ok", "got": reply["n"]}

    await started(wire)
    wire.send(type="relay", n=5, msg_id=2)
    request = await wire.recv()
    assert request == {"src": "n1", "dest": "n2", "body": {"type": "ping", "n": 5, "msg_id": 1}}
    wire.send("n2", type="ping_ok", n=6, in_reply_to=1)
    assert await wire.recv_body() == {"type": "relay_ok", "got": 6, "in_reply_to": 2}
    assert node.protocol.pending_count == 0
    await finish(wire)


@run
async def test_rpc_timeout_cleans_up_and_late_reply_is_dropped(wire: Wire) -> None:
    node = wire.node
    outcomes: list[str] = []

    @node.handler("relay")
    async def relay(msg):
        try:
            await node.rpc("n2", {"type": "ping"}, timeout=0.1)
        except RPCTimeout as exc:
            outcomes.append(str(exc))
            raise

    await started(wire)
    wire.send(type="relay", msg_id=2)
    assert (await wire.recv_body())["msg_id"] == 1
    error = await wire.recv_body()
    assert error["type"] == "error" and error["code"] == 0 and error["in_reply_to"] == 2
    assert node.protocol.pending_count == 0 and "within 0.1s" in outcomes[0]
    wire.send("n2", type="ping_ok", in_reply_to=1)  # late
    wire.send(type="relay", msg_id=3)
    assert (await wire.recv_body())["msg_id"] == 2  # alive, and the late reply produced nothing
    assert node.protocol.dropped_replies == 1
    await finish(wire)


@run
async def test_kv_clients_map_error_replies(wire: Wire) -> None:
    node = wire.node
    kv, lin, tso = KV(node, "seq-kv"), LinKV(node), TSO(node)
    results: list[Any] = []

    @node.handler("go")
    async def go(msg):
        results.append(await kv.read("k", default=0))
        try:
            await lin.cas("k", 1, 2, create_if_not_exists=True)
        except PreconditionFailed as exc:
            results.append(exc.text)
        results.append(await tso.ts())
        await kv.read("missing")  # raises KeyDoesNotExist: the client gets error 20

    await started(wire)
    wire.send(type="go", msg_id=2)
    read = await wire.recv()
    assert (read["dest"], read["body"]) == ("seq-kv", {"type": "read", "key": "k", "msg_id": 1})
    wire.send("seq-kv", type="error", code=20, text="key does not exist", in_reply_to=1)
    cas = await wire.recv()
    assert cas["dest"] == "lin-kv"
    assert cas["body"] == {
        "type": "cas",
        "key": "k",
        "from": 1,
        "to": 2,
        "create_if_not_exists": True,
        "msg_id": 2,
    }
    wire.send("lin-kv", type="error", code=22, text="current value 5 is not 1", in_reply_to=2)
    ts = await wire.recv()
    assert (ts["dest"], ts["body"]) == ("lin-tso", {"type": "ts", "msg_id": 3})
    wire.send("lin-tso", type="ts_ok", ts=41, in_reply_to=3)
    assert (await wire.recv_body())["type"] == "read"
    wire.send("seq-kv", type="error", code=20, in_reply_to=4)
    error = await wire.recv_body()
    assert (error["code"], error["in_reply_to"]) == (20, 2)
    assert results == [0, "current value 5 is not 1", 41]
    await finish(wire)


def test_kv_read_without_default_raises():
    async def main() -> None:
        class FakeNode:
            async def rpc(self, dest, body, timeout):
                raise KeyDoesNotExist("key does not exist")

        with pytest.raises(KeyDoesNotExist):
            await KV(FakeNode(), "lin-kv").read("k")  # type: ignore[arg-type]
        assert await KV(FakeNode(), "lin-kv").read("k", default=None) is None  # type: ignore[arg-type]

    asyncio.run(main())


# -- handler tasks, background tasks, periodic -------------------------------------------------


@run
async def test_coroutine_handler_crash_is_answered_and_logged(wire: Wire) -> None:
    node = wire.node

    @node.handler("boom")
    async def boom(msg):
        await asyncio.sleep(0)
        raise RuntimeError("kaput")

    await started(wire)
    wire.send(type="boom", msg_id=2)
    error = await wire.recv_body()
    assert (error["code"], error["in_reply_to"]) == (13, 2) and "kaput" in error["text"]
    wire.send(type="boom")  # no msg_id: logged, no reply
    await wire.nothing_for(0.1)
    await finish(wire)


@run
async def test_every_and_spawn_and_async_init_hook(wire: Wire) -> None:
    node = wire.node
    ticks: list[int] = []

    @node.on_init
    async def init():
        await asyncio.sleep(0.01)
        node.every(0.02, lambda: node.send("n2", {"type": "gossip", "tick": len(ticks)}) or ticks.append(1))

        async def failing():
            raise ValueError("background failure")

        node.spawn(failing())

    await started(wire)
    first, second = await wire.recv_body(), await wire.recv_body()
    assert (first, second) == ({"type": "gossip", "tick": 0}, {"type": "gossip", "tick": 1})
    await finish(wire)  # the periodic task is cancelled at EOF


def test_spawn_failure_is_logged(capsys):
    async def main() -> None:
        wire = Wire()
        done = asyncio.Event()

        async def failing():
            try:
                raise ValueError("background failure")
            finally:
                done.set()

        wire.node.spawn(failing())  # before serve: deferred until it runs
        wire.start()
        await asyncio.wait_for(done.wait(), WITHIN_S)
        await asyncio.sleep(0.01)
        wire.close_input()
        await asyncio.wait_for(wire.serving, WITHIN_S)  # type: ignore[arg-type]
        wire.close()

    asyncio.run(main())
    assert "ValueError: background failure" in capsys.readouterr().err


# -- end of input --------------------------------------------------------------------------------


@run
async def test_eof_lets_running_handlers_finish(wire: Wire) -> None:
    node = wire.node

    @node.handler("slow")
    async def slow(msg):
        await asyncio.sleep(0.2)
        return {"type": "slow_ok"}

    await started(wire)
    wire.send(type="slow", msg_id=2)
    wire.close_input()
    assert await wire.recv_body() == {"type": "slow_ok", "in_reply_to": 2}
    await asyncio.wait_for(wire.serving, WITHIN_S)  # type: ignore[arg-type]


@run(eof_grace=0.2)
async def test_eof_grace_cancels_stuck_handlers_with_an_answer(wire: Wire) -> None:
    node = wire.node

    @node.handler("stuck")
    async def stuck(msg):
        await asyncio.sleep(3600)

    await started(wire)
    wire.send(type="stuck", msg_id=2)
    await asyncio.sleep(0.05)
    wire.close_input()
    error = await wire.recv_body()
    assert (error["code"], error["in_reply_to"]) == (13, 2)
    await asyncio.wait_for(wire.serving, WITHIN_S)  # type: ignore[arg-type]


def test_stdin_and_stdout_regular_files_and_batched_output(monkeypatch):
    lines = [{"src": "c0", "dest": "n1", "body": INIT}]
    lines += [
        {"src": "c1", "dest": "n1", "body": {"type": "echo", "echo": i, "msg_id": i + 2}} for i in range(3000)
    ]
    with tempfile.TemporaryFile() as source, tempfile.TemporaryFile() as sink:
        source.write(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
        source.seek(0)
        node = Node(stdin=source.fileno(), stdout=sink.fileno())
        node.handler("echo")(lambda msg: {"type": "echo_ok", "echo": msg.body["echo"]})
        writes: list[int] = []
        real_write = os.write

        def counting_write(fd: int, data: Any) -> int:
            writes.append(len(data))
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", counting_write)
        asyncio.run(asyncio.wait_for(node.serve(), WITHIN_S))
        monkeypatch.undo()
        sink.seek(0)
        replies = [json.loads(text)["body"] for text in sink.read().splitlines()]
    assert replies[0]["type"] == "init_ok"
    assert [body["echo"] for body in replies[1:]] == list(range(3000))
    assert len(writes) <= 3  # one write per chunk read (about 200 KB of input), not one per line


def test_handler_registration_errors():
    node = Node()
    node.handler("a")(lambda msg: None)
    with pytest.raises(ValueError):
        node.handler("a")(lambda msg: None)
    with pytest.raises(TypeError):
        node.handler(lambda msg: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        node.every(0, lambda: None)


def test_stray_print_goes_to_stderr_not_the_protocol_stream():
    program = (
        "from common import Node\n"
        "node = Node()\n"
        "node.handler('echo')(lambda msg: print('debug', msg.body) or {'type': 'echo_ok', 'echo': msg.body['echo']})\n"
        "node.run()\n"
    )
    requests = json.dumps({"src": "c0", "dest": "n1", "body": INIT}) + "\n"
    requests += (
        json.dumps({"src": "c1", "dest": "n1", "body": {"type": "echo", "echo": 1, "msg_id": 2}}) + "\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], input=requests.encode(), capture_output=True, timeout=20, check=True
    )
    assert [json.loads(text)["body"]["type"] for text in done.stdout.splitlines()] == ["init_ok", "echo_ok"]
    assert b"debug" in done.stderr
