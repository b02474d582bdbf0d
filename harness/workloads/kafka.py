"""The kafka workload, driven as Maelstrom drives it (``maelstrom.workload.kafka`` over
``jepsen.tests.kafka`` with ``:txn? false :crash-clients? true :sub-via #{:assign}``).

Generator, per op:

* Elle's ``wr-txns`` with one micro-op: 50/50 read (``poll``) or write (``send``) of a key picked
  from ``--key-count`` (10) active integer keys with the exponential distribution (position i with
  probability 2^(i+1)/2046); values per key are 1, 2, ...; a key whose next value would pass
  ``--max-writes-per-key`` (16) is replaced in place by max+1. Keys go over the wire as strings.
* With probability 1/64 an ``assign`` of that op's key is emitted instead (the op comes next);
  about 1/3 of assigns also take every key with acknowledged but not yet polled sends (``unseen``).
* ``crash`` ops (completing ``info`` at once, which gives the thread a fresh client) staggered
  U[0, 60/concurrency) s apart, the first at the start.

Client (one per thread, not reusable): a map key -> next offset, empty when opened. ``assign``
keeps the assigned keys' local offsets, else the committed offset from
``list_committed_offsets``, else 0 (``seek-to-beginning?``: every key at 0). ``poll`` sends the
whole map, advances each returned key to its highest offset + 1, then ``commit_offsets`` with the
highest offsets returned. ``assign`` is idempotent (its errors are ``fail``).

Final phase, per thread: ``crash``, ``assign`` of every key any ok op touched with
``seek-to-beginning?``, then polls U[0, 0.4) s apart until this thread has polled up to the highest
offset seen on every key when the phase began; the whole phase is clipped to 10 s.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from harness.checkers import kafka as kafka_checker
from harness.history import INFO, OK, Keyword, Op, kw
from harness.options import TestOptions
from harness.schema import ANY, INT, STR, body, list_of, map_of, tuple_of
from harness.summary import Figure, Summary
from harness.workloads.base import FinalWorker, RPCClient, Workload, register
from harness.workloads.elle import KeyPool

SEND, POLL = kw("send"), kw("poll")
SEND_OK = body("send_ok", offset=INT)
POLL_OK = body("poll_ok", msgs=map_of(STR, list_of(tuple_of(INT, ANY))))
COMMIT_OK = body("commit_offsets_ok")
LIST_OK = body("list_committed_offsets_ok", offsets=map_of(STR, INT))

SUBSCRIBE_P = 1 / 64
UNSEEN_P = 1 / 3
CRASH_INTERVAL = 30.0  # seconds, divided by concurrency
FINAL_LIMIT = 10.0
FINAL_POLL_GAP = 0.2  # mean seconds between final polls


def _int_key(k: Any) -> int | None:
    try:
        return int(k)
    except (TypeError, ValueError):
        return None


def max_offsets(op: Op, sends: bool = True, polls: bool = True) -> dict[int, int]:
    """``op->max-offsets`` of an ok/info op, with integer keys: highest offset polled or sent."""
    out: dict[int, int] = {}
    if op.type not in (OK, INFO) or not isinstance(op.value, list):
        return out
    for mop in op.value:
        if not isinstance(mop, list) or not mop:
            continue
        if polls and mop[0] == POLL and len(mop) > 1 and isinstance(mop[1], dict):
            for k, pairs in mop[1].items():
                ik = _int_key(k)
                if ik is not None:
                    top = max((p[0] for p in pairs or () if isinstance(p[0], int)), default=-1)
                    out[ik] = max(out.get(ik, top), top)
        elif sends and mop[0] == SEND and len(mop) > 2 and isinstance(mop[2], list) and mop[2]:
            ik, offset = _int_key(mop[1]), mop[2][0]
            if ik is not None and isinstance(offset, int):
                out[ik] = max(out.get(ik, 0), offset)
    return out


def _merge_max(into: dict[int, int], more: dict[int, int]) -> None:
    for k, v in more.items():
        if k not in into or v > into[k]:
            into[k] = v


@register
class Kafka(Workload):
    name: ClassVar[str] = "kafka"
    idempotent: ClassVar[frozenset[str]] = frozenset({"assign"})
    reusable_client: ClassVar[bool] = False
    with_errors: ClassVar[bool] = True
    rpc_timeout: ClassVar[float] = 5.0
    has_final: ClassVar[bool] = True

    def __init__(self, test: TestOptions, rng: random.Random) -> None:
        super().__init__(test, rng)
        self.keys = KeyPool(rng, test.key_count or 10, test.max_writes_per_key)
        self._pending: tuple[str, int, int | None] | None = None
        self._next_crash: int | None = None
        self._crash_mean = CRASH_INTERVAL / max(1, test.concurrency)
        # poll-unseen: highest offsets acknowledged sent / polled, per key, while not caught up
        self._sent: dict[int, int] = {}
        self._polled: dict[int, int] = {}
        # track-key-offsets: highest offset any ok op showed, per key (final-phase targets)
        self.max_offsets: dict[int, int] = {}
        # client state: id(client) -> (client, key -> next offset to poll)
        self._offsets: dict[int, tuple[RPCClient, dict[str, int]]] = {}
        self._final_deadline: float | None = None

    # -- generator ------------------------------------------------------------------------------

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        if self._next_crash is None:
            self._next_crash = now_ns
        if now_ns >= self._next_crash:
            self._next_crash += int(self.rng.random() * 2 * self._crash_mean * 1e9)
            return {"f": "crash", "value": None}
        if self._pending is None:
            self._pending = self.keys.next()
        f, k, v = self._pending
        if self.rng.random() < SUBSCRIBE_P:
            # the displaced op stays pending and comes next
            return self._assign([k])
        self._pending = None
        if f == "r":
            return {"f": "poll", "value": [[POLL]]}
        return {"f": "send", "value": [[SEND, str(k), v]]}

    def _assign(self, keys: list[int]) -> dict[str, Any]:
        op: dict[str, Any] = {"f": "assign"}
        if self._sent and self.rng.random() < UNSEEN_P:
            keys = list(dict.fromkeys([*self._sent, *keys]))
            op["unseen"] = {
                k: {kw("polled"): self._polled.get(k, -1), kw("sent"): s}
                for k, s in sorted(self._sent.items())
            }
        op["value"] = [str(k) for k in keys]
        return op

    def on_complete(self, op: Op) -> None:
        if op.type != OK:
            return
        _merge_max(self.max_offsets, max_offsets(op))
        _merge_max(self._sent, max_offsets(op, polls=False))
        _merge_max(self._polled, max_offsets(op, sends=False))
        for k in list(self._sent.keys() | self._polled.keys()):
            if self._polled.get(k, -1) >= self._sent.get(k, -1):
                self._sent.pop(k, None)
                self._polled.pop(k, None)

    # -- client ---------------------------------------------------------------------------------

    def _client_offsets(self, client: RPCClient) -> dict[str, int]:
        entry = self._offsets.get(id(client))
        if entry is None or entry[0] is not client:
            entry = (client, {})
            self._offsets[id(client)] = entry
        return entry[1]

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        if op.f == "crash":
            self._offsets.pop(id(client), None)
            return replace(op, type=INFO)
        offsets = self._client_offsets(client)
        if op.f == "assign":
            keys = list(op.value)
            if op.extra.get("seek-to-beginning?"):
                fresh = dict.fromkeys(keys, 0)
            else:
                reply = await client.rpc({"type": "list_committed_offsets", "keys": keys}, LIST_OK)
                committed = reply["offsets"]
                fresh = {}
                for k in keys:
                    mine, theirs = offsets.get(k), committed.get(k)
                    fresh[k] = mine if mine is not None else theirs if theirs is not None else 0
            offsets.clear()
            offsets.update(fresh)
            return replace(op, type=OK)
        if op.f == "poll":
            reply = await client.rpc({"type": "poll", "offsets": dict(offsets)}, POLL_OK)
            msgs = reply["msgs"]
            commit: dict[str, int] = {}
            for k, pairs in msgs.items():
                top = max((p[0] for p in pairs or ()), default=-1)
                offsets[k] = max(offsets.get(k, top + 1), top + 1)
                if pairs:
                    commit[k] = max(0, top)
            if commit:
                await client.rpc({"type": "commit_offsets", "offsets": commit}, COMMIT_OK)
            return replace(op, type=OK, value=[[POLL, msgs]])
        if op.f == "send":
            [[_, k, msg]] = op.value
            reply = await client.rpc({"type": "send", "key": k, "msg": msg}, SEND_OK)
            return replace(op, type=OK, value=[[SEND, k, [reply["offset"], msg]]])
        raise ValueError(f"kafka workload cannot run {op.f!r}")

    # -- final phase ----------------------------------------------------------------------------

    async def final(self, worker: FinalWorker) -> None:
        now = asyncio.get_running_loop().time()  # the loop's clock: virtual under --sim
        if self._final_deadline is None:
            self._final_deadline = now + FINAL_LIMIT
        targets = {str(k): o for k, o in self.max_offsets.items()}
        if not targets:
            return
        steps: list[dict[str, Any]] = [
            {"f": "crash", "value": None},
            {"f": "assign", "value": list(targets), "seek-to-beginning?": True},
        ]
        while targets and asyncio.get_running_loop().time() < self._final_deadline:
            if steps:
                await worker.invoke(steps.pop(0))
                continue
            done = await worker.invoke({"f": "poll", "value": [[POLL]], "poll-ms": 1000})
            if done.type == OK:
                for k, seen in max_offsets(done).items():
                    if targets.get(str(k), math.inf) <= seen:
                        del targets[str(k)]
            if targets:
                gap = self.rng.random() * 2 * FINAL_POLL_GAP
                await worker.sleep(
                    max(0.0, min(gap, self._final_deadline - asyncio.get_running_loop().time()))
                )

    def check(self, history: list[Op]) -> dict[str, Any]:
        return kafka_checker.check(self.test, history)

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        """Bad error types (each with its count) are what fails a kafka run; the others are
        what Maelstrom tolerates."""
        bad = [_name(t) for t in result.get("bad-error-types") or []]
        tolerated = [t for t in (_name(t) for t in result.get("error-types") or []) if t not in bad]
        counts = []
        for t in bad:
            entry = result.get(t)
            counts.append(
                f"{t} ({entry.get('count')})" if isinstance(entry, Mapping) and "count" in entry else t
            )
        lag = result.get("worst-realtime-lag")
        findings = ["bad error types: " + (", ".join(counts) if counts else "none")]
        if tolerated:
            findings.append("tolerated error types: " + ", ".join(tolerated))
        return Summary(
            figures=(
                Figure("bad-error-count", "bad error types", len(bad)),
                Figure("bad-error-types", "bad error types:", ", ".join(bad) or "none"),
                Figure(
                    "worst-realtime-lag",
                    "worst realtime lag",
                    lag.get("lag") if isinstance(lag, Mapping) else None,
                    " s",
                ),
            ),
            findings=tuple(findings),
        )


def _name(value: Any) -> str:
    """An error type's name, whether a keyword (a fresh result) or a string (results.json)."""
    return value.name if isinstance(value, Keyword) else str(value).removeprefix(":")
