"""txn-rw-register: transactions of register reads and writes, checked by an Elle-style analysis.

Generator (Elle's ``wr-txns`` as Maelstrom configures it): each txn has 1..``--max-txn-length``
micro-ops, each a read or a write with equal odds, over ``--key-count`` (default 10) active keys.
Key position i is chosen with probability proportional to 2^i, so the last one is the hottest.
Writes to a key use 1, 2, 3, ... ; once a key has had ``--max-writes-per-key`` writes, it is
replaced in place by a fresh key (the largest active key + 1) and the draw is retried. One
sequence is shared by all threads. No setup and no final phase.

Client: ``txn`` -> ``txn_ok`` with ``txn`` a list of 3-element ``[f, k, v]`` (f "r" or "w"); the
reply is not compared with the request (maelstrom issue #57; our checker lists mismatches as
extra findings). Reusable; nothing is idempotent, so a timeout is ``info`` and only definite
error codes are ``fail``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from harness.checkers import rw_register
from harness.history import OK, Keyword, Op, kw
from harness.schema import ANY, body, list_of, one_of, tuple_of
from harness.summary import Figure, Summary, compact
from harness.workloads.base import RPCClient, Workload, register
from harness.workloads.elle import KeyPool

TXN_OK = body("txn_ok", txn=list_of(tuple_of(one_of("r", "w"), ANY, ANY)))


@register
class TxnRwRegister(Workload):
    name: ClassVar[str] = "txn-rw-register"
    idempotent: ClassVar[frozenset[str]] = frozenset()
    reusable_client: ClassVar[bool] = True
    has_final: ClassVar[bool] = False

    def __init__(self, test: Any, rng: Any) -> None:
        super().__init__(test, rng)
        self.key_count = test.key_count or 10
        self.keys = KeyPool(rng, self.key_count, test.max_writes_per_key)

    def next_txn(self) -> list[list[Any]]:
        length = self.rng.randint(1, self.test.max_txn_length)
        txn: list[list[Any]] = []
        for _ in range(length):
            f, k, v = self.keys.next()
            txn.append([kw(f), k, v])
        return txn

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        return {"f": "txn", "value": self.next_txn()}

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        request = [[mop[0].name, mop[1], mop[2]] for mop in op.value]
        reply = await client.rpc({"type": "txn", "txn": request}, TXN_OK)
        value = [[kw(f), k, v] for f, k, v in reply["txn"] or []]
        return dataclasses.replace(op, type=OK, value=value, extra=dict(op.extra))

    def check(self, history: list[Op]) -> dict[str, Any]:
        return rw_register.check(self.test, history)

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        """Elle's anomaly types fail the run; our extra findings (``extra``) never do."""
        types = [
            t.name if isinstance(t, Keyword) else str(t).removeprefix(":")
            for t in result.get("anomaly-types") or []
        ]
        findings = ["anomalies: " + (", ".join(types) if types else "none")]
        extra = result.get("extra")
        if isinstance(extra, Mapping) and extra:
            findings.append(f"extra findings (not failures in Maelstrom): {compact(extra, 200)}")
        return Summary(
            figures=(
                Figure("anomaly-count", "anomalies", len(types)),
                Figure("anomaly-types", "anomalies:", ", ".join(types) or "none"),
            ),
            findings=tuple(findings),
        )
