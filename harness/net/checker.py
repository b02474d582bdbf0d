"""The network's checker: Maelstrom's ``:net`` result (jepsen-io/maelstrom, src/maelstrom/net/checker.clj).

Message counts for all messages, client messages and server messages, and msgs-per-op, from the
network's live counts (:meth:`harness.net.network.Network.counts`) or recounted from a stored
``net-journal.jsonl`` (:func:`net_counts_from_journal`, for ``maelstrom analyze``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["net_counts_from_journal", "net_result"]


def net_result(
    counts: dict[str, int], op_count: int, lateness: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Maelstrom's ``:net`` checker result from journal counts (M:net/checker.clj).

    ``op_count`` is the number of invocations whose process is not the nemesis. ``:clients`` has
    no msgs-per-op; ``:all`` and ``:servers`` have one only when op_count > 0.
    """
    send, recv, msgs = counts["send-count"], counts["recv-count"], counts["msg-count"]
    c_send, c_recv = counts["client-send-count"], counts["client-recv-count"]
    c_msgs = counts.get("client-msg-count", c_send)
    all_: dict[str, float] = {"send-count": send, "recv-count": recv, "msg-count": msgs}
    clients = {"send-count": c_send, "recv-count": c_recv, "msg-count": c_msgs}
    servers: dict[str, float] = {
        "send-count": send - c_send,
        "recv-count": recv - c_recv,
        "msg-count": msgs - c_msgs,
    }
    if op_count > 0:
        all_["msgs-per-op"] = msgs / op_count
        servers["msgs-per-op"] = servers["msg-count"] / op_count
    out: dict[str, Any] = {"all": all_, "clients": clients, "servers": servers}
    if lateness is not None:
        out["delivery-lateness-ms"] = lateness
    out["valid?"] = True
    return out


def net_counts_from_journal(path: Path) -> dict[str, int]:
    """Recount a stored ``net-journal.jsonl`` the way Maelstrom's net checker does."""
    send = recv = c_send = c_recv = 0
    ids: set[int] = set()
    client_ids: set[int] = set()
    with open(path, "rb") as f:
        for raw in f:
            event = json.loads(raw)
            m = event["message"]
            is_client = m["src"].startswith("c") or m["dest"].startswith("c")
            ids.add(m["id"])
            if is_client:
                client_ids.add(m["id"])
            if event["type"] == "send":
                send += 1
                c_send += is_client
            else:
                recv += 1
                c_recv += is_client
    return {
        "send-count": send,
        "recv-count": recv,
        "msg-count": len(ids),
        "client-send-count": c_send,
        "client-recv-count": c_recv,
        "client-msg-count": len(client_ids),
    }
