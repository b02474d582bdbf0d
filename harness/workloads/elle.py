"""Elle's ``wr-txns`` micro-op stream, shared by the txn and kafka generators, and the txn
workload both Elle transaction workloads (txn-rw-register, txn-list-append) are.

Each micro-op is a read or a write (50/50) of a key from a pool of ``key_count`` active keys,
chosen with Elle's exponential distribution (base 2: active position i has weight 2^i, so the
last position is picked about half the time). Writes to a key take the values 1, 2, 3, ...;
once a key would exceed ``max_writes`` it is retired, a fresh key (the largest so far + 1) takes
its place in the pool, and the micro-op is drawn again.
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any, ClassVar

from harness.history import OK, Op, kw
from harness.options import TestOptions
from harness.schema import Body
from harness.workloads.base import RPCClient, Workload

KEY_DIST_BASE = 2


class KeyPool:
    def __init__(self, rng: random.Random, key_count: int, max_writes: int) -> None:
        self.rng = rng
        self.active = list(range(key_count))
        self.next_value: dict[int, int] = {}
        self.max_writes = max_writes
        # rand * scale + base spans [base, base^(count+1)), so floor(log_base(..)) - 1 is a
        # position in [0, count) with weight base^i (Elle's key-dist-scale)
        self.scale = (KEY_DIST_BASE**key_count - 1) * KEY_DIST_BASE / (KEY_DIST_BASE - 1)

    def rand_key(self) -> int:
        x = self.rng.random() * self.scale + KEY_DIST_BASE
        i = math.floor(math.log(x, KEY_DIST_BASE) - 1)
        return self.active[min(max(i, 0), len(self.active) - 1)]

    def next(self) -> tuple[str, int, int | None]:
        """The next micro-op as ``(f, key, value)``: ``("r", k, None)`` or ``("w", k, v)``."""
        while True:
            f = self.rng.choice(("r", "w"))
            k = self.rand_key()
            if f == "r":
                return f, k, None
            v = self.next_value.get(k, 1)
            if v > self.max_writes:
                self.active[self.active.index(k)] = max(self.active) + 1
                continue
            self.next_value[k] = v + 1
            return f, k, v


class ElleTxnWorkload(Workload):
    """A Maelstrom ``txn`` workload over Elle's ``wr-txns``: 1..``--max-txn-length`` micro-ops
    per transaction from one shared ``KeyPool``, sent as ``{"type": "txn", "txn": [[f, k, v], ...]}``
    and recorded as the reply's micro-ops (not compared with the request: the checker judges what
    came back). Reusable client; nothing idempotent (a timeout is ``info``, a definite error
    ``fail``); no final phase. A subclass names its write (``write_f``), its reply schema and its
    checker."""

    idempotent: ClassVar[frozenset[str]] = frozenset()
    reusable_client: ClassVar[bool] = True
    has_final: ClassVar[bool] = False
    #: what a write micro-op is called on the wire and in the history ("w", "append")
    write_f: ClassVar[str]
    txn_ok: ClassVar[Body]

    def __init__(self, test: TestOptions, rng: random.Random) -> None:
        super().__init__(test, rng)
        self.keys = KeyPool(rng, test.key_count or 10, test.max_writes_per_key)

    def next_txn(self) -> list[list[Any]]:
        txn: list[list[Any]] = []
        for _ in range(self.rng.randint(1, self.test.max_txn_length)):
            f, k, v = self.keys.next()
            txn.append([kw("r" if f == "r" else self.write_f), k, v])
        return txn

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        return {"f": "txn", "value": self.next_txn()}

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        request = [[mop[0].name, mop[1], mop[2]] for mop in op.value]
        reply = await client.rpc({"type": "txn", "txn": request}, self.txn_ok)
        value = [[kw(f), k, v] for f, k, v in reply["txn"] or []]
        return dataclasses.replace(op, type=OK, value=value, extra=dict(op.extra))
