"""5c's two nodes in-process, the test as their network: kills at the worst moments lose no
acknowledged send, never give one offset twice, and no poll ever skips an offset that is filled
later (what Jepsen's kafka checker calls lost writes, duplicates and poll skips).

Sync rounds pass on virtual time, so a loaded machine cannot reorder them."""

from __future__ import annotations

import asyncio
import random
import sys
from bisect import bisect_left
from typing import Any

import pytest

from common.testing import run as virtual_time
from tests.inprocess import Program

CHALLENGE = "efficient-kafka-style-log"
IDS = {"n0": ["n0", "n1"], "n1": ["n1", "n0"]}  # each Program is its list's first id
KEYS = ["a", "b"]


class Pair:
    """Two nodes, a network that delivers, drops or holds their syncs, kills and restarts."""

    def __init__(self) -> None:
        self.nodes: dict[str, Program] = {}
        self.dead: list[Program] = []

    async def start(self, name: str, program: Program | None = None) -> None:
        program = program or Program(CHALLENGE, node_ids=IDS[name])
        await program.__aenter__()
        sys.modules[program.module_name].RESEND_AFTER = 0.05  # resend soon after a drop
        self.nodes[name] = program

    async def kill(self, name: str) -> None:
        program = self.nodes.pop(name)
        await program.kill()
        self.dead.append(program)

    async def restart(self, name: str) -> None:
        [*_, program] = [p for p in self.dead if p.node_id == name]  # its latest life
        await self.start(name, program.restarted())

    def deliver(self, drop: float = 0.0, rng: random.Random | None = None) -> None:
        """Hand every sync written so far to its destination (a dead one loses it)."""
        for program in [*self.nodes.values(), *self.dead]:
            messages, program.peer_messages = program.peer_messages, []
            for msg in messages:
                target = self.nodes.get(msg["dest"])
                if target is not None and not (rng and rng.random() < drop):
                    target.send(msg["body"], src=msg["src"])

    async def settle(self, rounds: int = 20) -> None:
        for _ in range(rounds):
            await asyncio.sleep(0.06)  # a sync interval: every node writes its syncs
            self.deliver()

    async def close(self) -> None:
        for program in [*self.nodes.values(), *self.dead]:
            await program.__aexit__(None, None, None)


async def poll_all(program: Program, key: str, start: int = 0) -> list[list[Any]]:
    entries: list[list[Any]] = []
    while True:
        got = (await program.call({"type": "poll", "offsets": {key: start}}))["msgs"].get(key, [])
        entries += got
        if len(got) < 100:
            return entries
        start = got[-1][0] + 1


def check_history(
    acked: list[tuple[str, str, int, int]],
    polls: list[tuple[str, int, list[list[Any]]]],
    final: dict[str, list[list[Any]]],
) -> None:
    """Acknowledged sends are all in the final log, each node's offsets rise, and every poll was
    exactly the final log's entries from its start offset (no skip, no reorder, no insert)."""
    last: dict[tuple[str, str], int] = {}
    for node, key, offset, value in acked:
        assert [offset, value] in final[key], (node, key, offset, value)
        assert offset > last.get((node, key), -1), (node, key, offset)
        last[node, key] = offset
    for key, log in final.items():
        offsets = [o for o, _ in log]
        assert offsets == sorted(set(offsets)), key  # one message per offset, in order
    for key, start, got in polls:
        log = final[key]
        i = bisect_left([o for o, _ in log], start)
        assert got == log[i : i + len(got)], (key, start, got)


@pytest.mark.parametrize("seed", range(4))
def test_random_kills_drops_and_polls_keep_the_kafka_guarantees(seed: int) -> None:
    rng = random.Random(seed)
    acked: list[tuple[str, str, int, int]] = []
    polls: list[tuple[str, int, list[list[Any]]]] = []
    value = 0

    async def scenario() -> dict[str, list[list[Any]]]:
        nonlocal value
        pair = Pair()
        try:
            for name in IDS:
                await pair.start(name)
            for _ in range(120):
                action = rng.random()
                alive = sorted(pair.nodes)
                if action < 0.45 and alive:  # a send, acknowledged before anything is copied
                    name, key = rng.choice(alive), rng.choice(KEYS)
                    value += 1
                    reply = await pair.nodes[name].call({"type": "send", "key": key, "msg": value})
                    acked.append((name, key, reply["offset"], value))
                elif action < 0.7 and alive:
                    key, start = rng.choice(KEYS), rng.choice([0, 0, rng.randrange(40)])
                    polls.append((key, start, await poll_all(pair.nodes[rng.choice(alive)], key, start)))
                elif action < 0.85:  # time passes: syncs go out, some are lost
                    await asyncio.sleep(0.06)
                    pair.deliver(drop=0.3, rng=rng)
                elif action < 0.93 and alive:  # killed right after whatever came before
                    await pair.kill(rng.choice(alive))
                elif len(alive) < 2:
                    await pair.restart(rng.choice([n for n in IDS if n not in pair.nodes]))
            for name in IDS:
                if name not in pair.nodes:
                    await pair.restart(name)
            await pair.settle()
            finals = [{k: await poll_all(p, k) for k in KEYS} for p in pair.nodes.values()]
            assert finals[0] == finals[1]  # both nodes end with the same logs
            return finals[0]
        finally:
            await pair.close()

    final = virtual_time(scenario())
    check_history(acked, polls, final)
    assert acked and any(got for _, _, got in polls)


def test_a_send_acknowledged_just_before_its_node_dies_holds_back_later_offsets() -> None:
    """n0 acknowledges a send and is killed before any sync copies it. n1 keeps taking sends and
    answering polls, but shows nothing past n0's floor until n0 is back: showing n1's later
    message first would make n0's a skip. Then both show both, in offset order."""

    async def scenario() -> None:
        pair = Pair()
        try:
            for name in IDS:
                await pair.start(name)
            await pair.settle(3)  # floors exchanged
            first = (await pair.nodes["n0"].call({"type": "send", "key": "a", "msg": 1}))["offset"]
            await pair.kill("n0")  # before its next sync
            second = (await pair.nodes["n1"].call({"type": "send", "key": "a", "msg": 2}))["offset"]
            assert second > first  # n1's clock had followed n0's floor, past n0's message
            await pair.settle(3)
            assert await poll_all(pair.nodes["n1"], "a") == []  # held back while n0 is down
            await pair.restart("n0")
            await pair.settle()
            for program in pair.nodes.values():
                assert await poll_all(program, "a") == [[first, 1], [second, 2]]
            third = (await pair.nodes["n0"].call({"type": "send", "key": "a", "msg": 3}))["offset"]
            assert third > second  # the restarted n0 resumes above everything it has seen
        finally:
            await pair.close()

    virtual_time(scenario())
