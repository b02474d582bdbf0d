"""Run a challenge's main.py in-process, the test acting as its whole network.

``Program`` loads a fresh copy of ``<challenge>/main.py`` with ``common.Node`` swapped for a Node
on os.pipe pairs, then serves it in the running event loop: no subprocess, no sleeping. What the
node writes is routed as Maelstrom would: requests to a service (``seq-kv``, ``lin-kv``, ...)
are answered by ``harness.services``, replies to a client resolve that client's ``call``, and
anything else (messages to peers that do not run here) is kept in ``peer_messages``.

``kill()`` stops the node as SIGKILL would (no EOF, nothing more written, journal records not yet
committed dropped) and ``restarted()`` builds a fresh instance of the program on the same data dir
and services, which gets ``init`` again as Maelstrom's kill nemesis does.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import inspect
import itertools
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from waiting import WITHIN_S

import common
from common import Node
from common.durable import lose_as_sigkill
from harness.services import Service, make_services

ROOT = Path(__file__).resolve().parent.parent
_PIPE_SIZE = 1 << 20  # a node writing more than a pipe holds would block this very loop
_loaded = itertools.count()


def _pipe() -> tuple[int, int]:
    r, w = os.pipe()
    with contextlib.suppress(OSError):  # Linux only; the default 64 KiB is enough for small tests
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    return r, w


def _fresh_data_dir() -> str:
    base = os.environ.get("MAELSTROM_DATA_DIR")  # per test (tests/conftest.py)
    if base:
        os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix="inprocess-", dir=base)


class Program:
    """One node of ``challenge`` (a folder name) with ids ``node_ids``; this is ``node_ids[0]``."""

    def __init__(
        self,
        challenge: str,
        argv: list[str] | None = None,
        node_ids: list[str] | None = None,
        seed: int = 0,
        *,
        data_dir: str | None = None,
        services: dict[str, Service] | None = None,
    ) -> None:
        self.challenge, self.argv = challenge, argv
        self.node_ids = node_ids or ["n1"]
        self.node_id = self.node_ids[0]
        self.data_dir = data_dir or _fresh_data_dir()
        self.services: dict[str, Service] = services or make_services(random.Random(seed))
        self.killed = False
        self.peer_messages: list[dict[str, Any]] = []
        self.logs: list[str] = []
        self._to_node_r, self._to_node_w = _pipe()
        self._from_node_r, self._from_node_w = _pipe()
        os.set_blocking(self._from_node_r, False)
        self._buffer = b""
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_msg_id = 0
        self.node = self._load(challenge, argv or [])
        # keep stderr quiet: what the node logs is kept for the test to look at
        self.node._log_line = self.node.protocol.log = self.logs.append  # type: ignore[method-assign]
        self.node.data_dir = self.data_dir
        self._serving: asyncio.Task[None] | None = None

    def _load(self, challenge: str, argv: list[str]) -> Node:
        created: list[Node] = []
        pipes = (self._to_node_r, self._from_node_w)

        class PipedNode(Node):
            def __init__(self, **_: Any) -> None:
                super().__init__(stdin=pipes[0], stdout=pipes[1], eof_grace=2.0)
                created.append(self)

            def run(self) -> None:  # a main() that ends in node.run(): the test serves it instead
                pass

        self.module_name = f"{challenge.replace('-', '_')}_under_test_{next(_loaded)}"
        spec = importlib.util.spec_from_file_location(self.module_name, ROOT / challenge / "main.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # listed while it runs, as __main__ would be: msgspec resolves string annotations there
        sys.modules[self.module_name] = module
        saved, common.Node = common.Node, PipedNode  # type: ignore[misc]
        try:
            spec.loader.exec_module(module)
            if not created:  # the program builds its node in main()
                module.main(argv) if inspect.signature(module.main).parameters else module.main()
        finally:
            common.Node = saved  # type: ignore[misc]
        [node] = created
        return node

    # -- running -----------------------------------------------------------------------------

    async def __aenter__(self) -> Program:
        loop = asyncio.get_running_loop()
        loop.add_reader(self._from_node_r, self._on_output)
        self._serving = loop.create_task(self.node.serve())
        init = {"type": "init", "node_id": self.node_id, "node_ids": self.node_ids}
        assert await self.call(init, src="c0") == {"type": "init_ok", "in_reply_to": 1}
        return self

    async def kill(self) -> None:
        """Stop the node as SIGKILL would: nothing more is read, written or committed."""
        node = self.node
        lose_as_sigkill(node)
        node._stdout_closed = True
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._to_node_r)
        tasks = [*node._handler_tasks, *node._background_tasks]
        if self._serving is not None:
            tasks.append(self._serving)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for future in self._waiting.values():
            future.cancel()
        self.killed = True

    def restarted(self) -> Program:
        """A fresh instance of the program with the same node id, data dir and services."""
        return Program(
            self.challenge, self.argv, self.node_ids, data_dir=self.data_dir, services=self.services
        )

    async def __aexit__(self, *exc_info: object) -> None:
        loop = asyncio.get_running_loop()
        try:
            if not self.killed:
                os.close(self._to_node_w)  # EOF: the node finishes its handlers and returns
                self._to_node_w = -1
                assert self._serving is not None
                await asyncio.wait_for(self._serving, WITHIN_S)
        finally:
            loop.remove_reader(self._from_node_r)
            for fd in (self._to_node_r, self._to_node_w, self._from_node_r, self._from_node_w):
                if fd >= 0:
                    os.close(fd)
            sys.modules.pop(self.module_name, None)

    # -- talking to the node -------------------------------------------------------------------

    def send(self, body: dict[str, Any], src: str = "c1") -> None:
        """Write one message to the node, as is."""
        line = json.dumps({"src": src, "dest": self.node_id, "body": body}).encode() + b"\n"
        view = memoryview(line)
        while view:  # the node reads only when this loop runs: a full pipe would hang the test
            view = view[os.write(self._to_node_w, view) :]

    async def call(self, body: dict[str, Any], src: str = "c1", timeout: float = WITHIN_S) -> dict[str, Any]:
        """Send ``body`` with a fresh msg_id and return the reply body."""
        reply = self.request(body, src)
        return await asyncio.wait_for(reply, timeout)

    def request(self, body: dict[str, Any], src: str = "c1") -> asyncio.Future[dict[str, Any]]:
        """Send ``body`` with a fresh msg_id; a future of its reply body."""
        self._next_msg_id += 1
        msg_id = self._next_msg_id
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = reply
        self.send({**body, "msg_id": msg_id}, src)
        return reply

    def _on_output(self) -> None:
        try:
            chunk = os.read(self._from_node_r, 1 << 20)
        except BlockingIOError:
            return
        *lines, self._buffer = (self._buffer + chunk).split(b"\n")
        for line in lines:
            self._route(json.loads(line))

    def _route(self, msg: dict[str, Any]) -> None:
        assert set(msg) == {"src", "dest", "body"} and msg["src"] == self.node_id, msg
        dest, body = msg["dest"], msg["body"]
        service = self.services.get(dest)
        if service is not None and type(body.get("msg_id")) is int:
            reply = service.handle(self.node_id, body)
            if reply is not None:
                self.send({**reply, "in_reply_to": body["msg_id"]}, src=dest)
            return
        waiting = self._waiting.pop(body.get("in_reply_to"), None) if "in_reply_to" in body else None
        if waiting is not None:
            waiting.set_result(body)
        else:
            self.peer_messages.append(msg)
