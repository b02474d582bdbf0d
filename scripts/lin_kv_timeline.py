#!/usr/bin/env python3
"""A lin-kv run's client completions per second, with the partitions, to see how long each
partition or heal left the cluster unavailable; and the run's totals.

Columns: ok; ``answered`` fails (key-does-not-exist, precondition-failed: the op ran, the answer
is correct and definite); ``unavail`` (temporarily-unavailable and other definite refusals);
``indef`` (timeouts and other indefinite outcomes: info, or a read's fail on a timeout).

usage: scripts/lin_kv_timeline.py RUN_DIR [--bucket SECONDS] [--totals]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from harness.edn import read_history

ANSWERED = {"key-does-not-exist", "precondition-failed"}
INDEFINITE = {"timeout", "net-timeout", "crash"}


def category(op) -> str:
    if op.type == "ok":
        return "ok"
    if op.type == "info":
        return "indef"
    name = str(op.error[0]).lstrip(":") if isinstance(op.error, list) and op.error else str(op.error)
    if name in ANSWERED:
        return "answered"
    return "indef" if name in INDEFINITE else "unavail"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--bucket", type=float, default=1.0)
    parser.add_argument("--totals", action="store_true", help="only the totals line")
    args = parser.parse_args()
    history = read_history(args.run_dir / "history.edn")
    buckets: dict[int, Counter[str]] = {}
    events: dict[int, list[str]] = {}
    total: Counter[str] = Counter()
    for op in history:
        b = int(op.time / 1e9 / args.bucket)
        if op.process == "nemesis":
            if op.f == "start-partition" and not isinstance(op.value, list):
                events.setdefault(b, []).append(f"partition {op.value}".replace(":", ""))
            elif op.f == "stop-partition" and op.value is None:
                events.setdefault(b, []).append("heal")
            continue
        if op.type != "invoke":
            c = category(op)
            buckets.setdefault(b, Counter())[c] += 1
            total[c] += 1
    if not args.totals:
        print("     t     ok answered unavail indef")
        for b in range(max(buckets, default=-1) + 1):
            c = buckets.get(b, Counter())
            n = sum(c.values())
            served = (c["ok"] + c["answered"]) / n if n else 0.0
            bar = "#" * round(served * 20)
            print(
                f"{b * args.bucket:6.1f}s {c['ok']:4} {c['answered']:8} {c['unavail']:7} {c['indef']:5} "
                f"{bar:<20} {' '.join(events.get(b, []))}"
            )
    n = sum(total.values())
    print(
        f"total {n}: ok {total['ok']} ({total['ok'] / n:.3f}), answered {total['answered']}, "
        f"served {(total['ok'] + total['answered']) / n:.3f}, unavailable {total['unavail']}, "
        f"indefinite {total['indef']}"
    )


if __name__ == "__main__":
    main()
