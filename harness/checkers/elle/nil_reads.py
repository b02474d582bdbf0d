"""Elle 0.2.7's definite nil reads, reported beyond Maelstrom's verdict.

Elle 0.2.7 reads ``[:r k nil]`` as "k has no value", so a later read of k in the same txn that
returns a value is an ``internal`` anomaly (jepsen-io/elle commit 8a5e27b: ``op-internal-case``
in src/elle/rw_register.clj, ``op-int-case`` in src/elle/list_append.clj). Maelstrom checks with
Elle 0.2.2, where nil was an unknown state, so it passes such txns. By default the checkers follow
0.2.7 and put those cases, and what Maelstrom would have said, under ``"beyond-maelstrom"``;
``--elle 0.2.2`` gives Maelstrom's verdict exactly and lists the cases under ``"extra"`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.options import ELLE_VERSIONS, MAELSTROM_ELLE

__all__ = ["beyond_maelstrom", "finding", "maelstrom_anomalies"]

WHY = (
    f"Elle {ELLE_VERSIONS[0]} (jepsen-io/elle 8a5e27b) reads [:r k nil] as a definite 'no value': "
    "a later read of k in the same txn must agree. Maelstrom checks with Elle "
    f"{MAELSTROM_ELLE}, which forgets a nil read and does not report these cases; "
    f"--elle {MAELSTROM_ELLE} gives Maelstrom's verdict."
)


def maelstrom_anomalies(anomalies: Mapping[str, list[Any]], cases: list[dict[str, Any]]) -> dict[str, Any]:
    """``anomalies`` as Maelstrom's Elle finds them: without the ``internal`` cases that only
    Elle 0.2.7 reports (``cases``, this module's nil reads)."""
    nil_ops = {id(c["op"]) for c in cases}
    internal = [c for c in anomalies.get("internal", ()) if id(c["op"]) not in nil_ops]
    theirs = {t: v for t, v in anomalies.items() if t != "internal"}
    if internal:
        theirs["internal"] = internal
    return theirs


def beyond_maelstrom(cases: list[dict[str, Any]], maelstrom_valid: Any) -> dict[str, Any]:
    """The labelled finding: the ``internal`` cases only Elle 0.2.7 reports, and Maelstrom's verdict."""
    return {"elle": ELLE_VERSIONS[0], "why": WHY, "internal": cases, "maelstrom-valid?": maelstrom_valid}


def finding(result: Mapping[str, Any]) -> str | None:
    """One summary line for a result's ``"beyond-maelstrom"`` entry, if it has one."""
    beyond = result.get("beyond-maelstrom")
    if not isinstance(beyond, Mapping):
        return None
    n = len(beyond.get("internal") or ())
    differs = beyond.get("maelstrom-valid?") != result.get("valid?")
    verdict = (
        f"Maelstrom would say valid? {beyond.get('maelstrom-valid?')}; --elle {MAELSTROM_ELLE} for its verdict"
        if differs
        else "the verdict is Maelstrom's"
    )
    return (
        f"beyond Maelstrom (Elle {ELLE_VERSIONS[0]}: a nil read is definite): {n} internal txn(s); {verdict}"
    )
