"""raft-lin-kv/main.py in-process (tests/inprocess.py): request validation and error codes.

A node whose peers never answer has no leader: every whole request gets 11 at once (nothing
was appended), every malformed one 12, and nothing reaches Raft. A one-node cluster elects
itself (within its election timeout, 0.3-0.6 s of real time, waited for as an event) and then serves the key-value
semantics: 20 for a missing key, 22 for a cas whose ``from`` is not the value. Killed and
restarted, a node keeps its term, vote and log (its journal) and rebuilds the map from them; with
the journal switched off (the in-memory design) the same kill loses an acknowledged write.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest
from inprocess import Program
from waiting import WITHIN_S

MALFORMED = [
    {"type": "read"},
    {"type": "write", "key": 1},
    {"type": "cas", "key": 1, "from": 2},
    {"type": "cas", "key": 1, "to": 2},
]


def code(reply: dict[str, Any]) -> int | None:
    return reply.get("code") if reply.get("type") == "error" else None


def test_without_a_leader_whole_requests_get_11_and_malformed_ones_12() -> None:
    asyncio.run(asyncio.wait_for(_without_a_leader(), 2 * WITHIN_S))


async def _without_a_leader() -> None:
    async with Program("raft-lin-kv", node_ids=["n1", "n2", "n3"]) as node:
        for body in ({"type": "read", "key": 0}, {"type": "write", "key": 0, "value": 1}):
            assert code(await node.call(body)) == 11
        for body in MALFORMED:
            assert code(await node.call(body)) == 12, body
        # Raft messages from a client, and garbage from a peer, change nothing and crash nothing
        node.send({"type": "request_vote", "term": 9, "last_log_index": 0, "last_log_term": 0}, src="c1")
        node.send({"type": "append_entries", "term": "x"}, src="n2")
        node.send({"type": "relay", "dest": "n1", "origin": "n2", "body": [1]}, src="n3")
        node.send({"type": "forward", "id": 1, "request": {"type": "cas", "key": 1}}, src="n2")
        await asyncio.sleep(0.05)
        answers = [m["body"] for m in node.peer_messages if m["body"]["type"] == "forward_res"]
        assert [code(a["reply"]) for a in answers] == [12]
        assert not any("Traceback" in line for line in node.logs), node.logs


def test_a_one_node_cluster_serves_reads_writes_and_cas() -> None:
    asyncio.run(asyncio.wait_for(_one_node(), 2 * WITHIN_S))


async def _one_node() -> None:
    async with Program("raft-lin-kv", node_ids=["n1"]) as node:
        reply = await _until_leader(node)
        assert code(reply) == 20  # a missing key, from the state machine
        assert (await node.call({"type": "write", "key": 7, "value": 1}))["type"] == "write_ok"
        assert code(await node.call({"type": "cas", "key": 7, "from": 2, "to": 3})) == 22
        assert code(await node.call({"type": "cas", "key": 8, "from": 2, "to": 3})) == 20
        assert (await node.call({"type": "cas", "key": 7, "from": 1, "to": 3}))["type"] == "cas_ok"
        assert (await node.call({"type": "read", "key": 7}))["value"] == 3
        # 1 and 1.0 are different values (Clojure equality on the JSON)
        assert code(await node.call({"type": "cas", "key": 7, "from": 3.0, "to": 4})) == 22


async def _until_leader(node: Program, key: Any = 7) -> dict[str, Any]:
    """The first read answered by a leader: the node elects itself within its election timeout
    once it runs (and its journal's fsyncs end); the bound is for a loaded machine."""
    deadline = asyncio.get_running_loop().time() + WITHIN_S
    while asyncio.get_running_loop().time() < deadline:
        reply = await node.call({"type": "read", "key": key})
        if code(reply) != 11:
            return reply
        await asyncio.sleep(0.02)
    raise AssertionError(f"no leader in {WITHIN_S} s")


class _NoJournal:
    """A Journal that keeps nothing: the node as it was before persistence."""

    replayed = 0

    def __init__(self, *_: Any) -> None:
        pass

    def append(self, record: Any) -> None:
        pass


@pytest.mark.parametrize("durable", [True, False])
def test_a_killed_node_keeps_its_term_vote_and_log_and_rebuilds_the_map(
    durable: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not durable:
        monkeypatch.setattr("common.durable.Journal", _NoJournal)
    asyncio.run(asyncio.wait_for(_kill_and_restart(durable), 2 * WITHIN_S))


async def _kill_and_restart(durable: bool) -> None:
    async with Program("raft-lin-kv", node_ids=["n1"]) as first:
        await _until_leader(first)
        assert (await first.call({"type": "write", "key": 7, "value": 1}))["type"] == "write_ok"
        assert (await first.call({"type": "cas", "key": 7, "from": 1, "to": 2}))["type"] == "cas_ok"
        await first.kill()
    second = first.restarted()
    async with second:
        read = await _until_leader(second)
        if not durable:
            assert code(read) == 20  # the acknowledged write is gone: this test can fail
            return
        assert read == {"type": "read_ok", "value": 2, "in_reply_to": read["in_reply_to"]}
        restarted = [line for line in second.logs if line.startswith("restarted:")]
        # term 1 (vote n1), its no-op and the two commands; then it stands again in term 2
        assert restarted == ["restarted: 4 journal records, term 1, vote n1, log up to 3"], restarted
        raft = sys.modules[second.module_name].raft
        assert (raft.term, raft.storage.voted_for, raft.storage.last_index()) == (2, "n1", 4)


def test_a_forwarded_request_taken_on_before_a_restart_is_not_run_again() -> None:
    asyncio.run(asyncio.wait_for(_forward_across_a_restart(), 2 * WITHIN_S))


async def _forward_across_a_restart() -> None:
    write = {"type": "write", "key": 1, "value": 2}
    read = {"type": "read", "key": 1}

    async def forward(node: Program, forward_id: int, request: dict[str, Any] = write) -> dict[str, Any]:
        node.send({"type": "forward", "id": forward_id, "request": request}, src="n2")
        deadline = asyncio.get_running_loop().time() + WITHIN_S
        while asyncio.get_running_loop().time() < deadline:
            answers = [m["body"] for m in node.peer_messages if m["body"]["type"] == "forward_res"]
            if any(a["id"] == forward_id for a in answers):
                return next(a["reply"] for a in answers if a["id"] == forward_id)
            await asyncio.sleep(0.01)
        raise AssertionError(f"no answer to forward {forward_id}")

    async with Program("raft-lin-kv", node_ids=["n1", "n2", "n3"]) as first:
        assert code(await forward(first, 5)) == 11  # not the leader: it ran, and had no effect
        assert code(await forward(first, 7, read)) == 11
        await first.kill()
    async with first.restarted() as second:
        # the earlier incarnation took request 5 on; for all this one knows, it appended it
        assert code(await forward(second, 5)) == 13
        assert code(await forward(second, 6)) == 11  # a new one runs as usual
        assert code(await forward(second, 7, read)) == 11  # a read may run twice: not journalled
