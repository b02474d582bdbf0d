"""txn-list-append: transactions of list reads and appends, checked by Elle's list-append analysis.

RPC (Maelstrom's ``txn_list_append.clj``): ``{"type": "txn", "txn": [["r", k, null] |
["append", k, v], ...]}`` -> ``{"type": "txn_ok", "txn": [...]}`` whose micro-ops are exactly
three elements, ``f`` ``"r"`` (value a list or ``null``) or ``"append"`` (any value). The reply is
not compared with the request: Elle checks what came back. Reusable client; nothing idempotent
(a timeout is ``info``, a definite error code ``fail``); no final phase.

Generator (Elle's ``wr-txns`` with ``:w`` renamed ``:append``, as Maelstrom configures it):
1..``--max-txn-length`` (4) micro-ops, each a read or an append with equal odds, over
``--key-count`` (10) active keys picked exponentially (the last most often); appends to a key are
1, 2, 3, ..., and after ``--max-writes-per-key`` (16) the key is replaced by a fresh one. One
sequence shared by all threads. The checker forbids the anomalies of ``--consistency-models``
(strict-serializable by default) and writes each cycle's explanation and drawing under ``elle/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from harness.checkers import list_append
from harness.checkers.elle import nil_reads
from harness.checkers.elle.explain import write_case_files, write_cycle_files
from harness.history import Op
from harness.schema import ANY, Body, body, list_of
from harness.summary import Figure, FileSection, Link, Summary
from harness.workloads.base import register
from harness.workloads.elle import ElleTxnWorkload


def _mop(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) != 3:
        return f"not a 3-element micro-op: {value!r}"
    f, _k, v = value
    if f == "r":
        return list_of(ANY)(v)
    if f == "append":
        return None
    return f"micro-op f is neither 'r' nor 'append': {f!r}"


TXN_OK = body("txn_ok", txn=list_of(_mop))


@register
class TxnListAppend(ElleTxnWorkload):
    name: ClassVar[str] = "txn-list-append"
    write_f: ClassVar[str] = "append"
    txn_ok: ClassVar[Body] = TXN_OK

    def check(self, history: list[Op]) -> dict[str, Any]:
        return list_append.check(self.test, history)

    def write_files(self, result: Mapping[str, Any], run_dir: Path) -> None:
        """``elle/<anomaly>.txt`` and ``elle/<anomaly>/<i>.svg`` for each reported cycle type, and
        ``elle/<anomaly>.txt`` in words for each reported per-transaction anomaly (G1a, internal, ...)."""
        anomalies = result.get("anomalies") or {}
        write_cycle_files(anomalies, run_dir / "elle", verb="appended")
        write_case_files(anomalies, run_dir / "elle")

    @classmethod
    def report_files(cls, out_dir: Path) -> FileSection | None:
        """Each anomaly in words (elle/<anomaly>.txt) and its drawings (elle/<anomaly>/<i>.svg)."""
        elle = out_dir / "elle"
        texts = sorted(elle.glob("*.txt")) if elle.is_dir() else []
        if not texts:
            return None
        links = []
        for txt in texts:
            svgs = sorted(
                (elle / txt.stem).glob("*.svg"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0
            )
            drawings = tuple(Link(f"elle/{txt.stem}/{p.name}", f"#{p.stem}") for p in svgs)
            links.append(Link(f"elle/{txt.name}", txt.stem, "each case in words", drawings))
        return FileSection("Anomalies explained", "", tuple(links))

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        types = [t.name if hasattr(t, "name") else str(t) for t in result.get("anomaly-types") or []]
        anomalies = result.get("anomalies") or {}
        figures = [Figure("anomaly-type-count", "anomaly types", len(types))]
        for t in types:
            cases = anomalies.get(t)
            figures.append(Figure(f"{t}-count", t, len(cases) if isinstance(cases, list) else 1))
        if not types:
            findings = ["no anomaly the requested consistency models forbid"]
        else:
            findings = [f"anomalies: {', '.join(types)}"]
            not_ = sorted(m.name if hasattr(m, "name") else str(m) for m in result.get("not") or ())
            if not_:
                findings.append(f"not {', '.join(not_)} (see elle/*.txt for each anomaly in words)")
        if beyond := nil_reads.finding(result):
            findings.append(beyond)
        extra = (result.get("extra") or {}).get("unreported-anomaly-types")
        if extra:
            findings.append(
                "allowed by the models, not reported: "
                + ", ".join(t.name if hasattr(t, "name") else str(t) for t in extra)
            )
        return Summary(tuple(figures), tuple(findings))
