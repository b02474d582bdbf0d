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

from collections.abc import Mapping
from typing import Any, ClassVar

from harness.checkers import rw_register
from harness.checkers.elle import nil_reads
from harness.history import Keyword, Op
from harness.schema import ANY, Body, body, list_of, one_of, tuple_of
from harness.summary import Figure, Summary, compact
from harness.workloads.base import register
from harness.workloads.elle import ElleTxnWorkload

TXN_OK = body("txn_ok", txn=list_of(tuple_of(one_of("r", "w"), ANY, ANY)))


@register
class TxnRwRegister(ElleTxnWorkload):
    name: ClassVar[str] = "txn-rw-register"
    write_f: ClassVar[str] = "w"
    txn_ok: ClassVar[Body] = TXN_OK

    def check(self, history: list[Op]) -> dict[str, Any]:
        return rw_register.check(self.test, history)

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        """Elle's anomaly types fail the run; our extra findings (``extra``) never do. Elle 0.2.7's
        definite nil reads (``beyond-maelstrom``) get a line of their own: they can fail a run that
        Maelstrom passes."""
        types = [
            t.name if isinstance(t, Keyword) else str(t).removeprefix(":")
            for t in result.get("anomaly-types") or []
        ]
        findings = ["anomalies: " + (", ".join(types) if types else "none")]
        if beyond := nil_reads.finding(result):
            findings.append(beyond)
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
