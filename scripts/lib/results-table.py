#!/usr/bin/env python3
"""The results table: every challenge's verdict, key figures and target, from <challenge>/results/.

    python scripts/lib/results-table.py              # print the table
    python scripts/lib/results-table.py --markdown   # also write RESULTS.md at the top level

Reads only each challenge's committed ``results/results.json``. A challenge without one is "not run
yet", never a guessed verdict. Exit status: 0 when every challenge has results that are valid and
meet its target and all results/ folders together stay under 10 MB, 1 otherwise (so run-all.sh
can just call this).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Check:
    """One measured requirement: what it says, whether it holds, and the figure behind it."""

    label: str
    met: bool
    figure: str


Rule = Callable[[Mapping[str, Any]], Check]


def _get(results: Mapping[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def valid(results: Mapping[str, Any]) -> Check:
    v = results.get("valid?")
    return Check("valid", v is True, f"{_get(results, 'stats', 'count')} ops")


def availability_total(results: Mapping[str, Any]) -> Check:
    frac = _get(results, "availability", "ok-fraction")
    figure = f"availability {frac:.4g}" if _is_num(frac) else "availability ?"
    return Check("availability 1.0", _is_num(frac) and frac == 1, figure)


def server_msgs_per_op(limit: float) -> Rule:
    def rule(results: Mapping[str, Any]) -> Check:
        mpo = _get(results, "net", "servers", "msgs-per-op")
        figure = f"server msgs/op {mpo:.2f}" if _is_num(mpo) else "server msgs/op ?"
        return Check(f"server msgs/op <= {limit:g}", _is_num(mpo) and mpo <= limit, figure)

    return rule


def _quantile(q: Mapping[str, Any] | None, *keys: str) -> Any:
    if not isinstance(q, Mapping):
        return None
    for k in keys:
        if k in q:
            return q[k]
    return None


def stable_latency(median_ms: float, max_ms: float) -> Rule:
    def rule(results: Mapping[str, Any]) -> Check:
        lat = _get(results, "workload", "stable-latencies")
        p50, p100 = _quantile(lat, "0.5"), _quantile(lat, "1", "1.0")
        ok = _is_num(p50) and _is_num(p100) and p50 <= median_ms and p100 <= max_ms
        figure = f"stable latency median {p50} ms, max {p100} ms" if _is_num(p50) else "stable latency ?"
        return Check(f"median stable latency <= {median_ms:g} ms, max <= {max_ms:g} ms", ok, figure)

    return rule


def final_reads_exact(results: Mapping[str, Any]) -> Check:
    """Every final read agrees and equals the sum of acknowledged adds.

    The counter checker's acceptable ranges start at that sum (ok adds); when indeterminate
    (info) adds widen the range, a read inside it is as exact as the run allows.
    """
    reads = _get(results, "workload", "final-reads") or []
    acceptable = _get(results, "workload", "acceptable") or []
    ranges = [r for r in acceptable if isinstance(r, list) and len(r) == 2 and all(map(_is_num, r))]
    acked = ranges[0][0] if ranges else None
    inside = all(any(lo <= x <= hi for lo, hi in ranges) for x in reads if _is_num(x))
    ok = bool(reads) and all(map(_is_num, reads)) and len(set(reads)) == 1 and inside
    if ok and len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        ok = reads[0] == acked
    shown = ", ".join(map(str, reads[:5])) + (" …" if len(reads) > 5 else "")
    return Check(
        "final reads = sum of acknowledged adds", ok, f"final reads [{shown}], acknowledged sum {acked}"
    )


def no_lost(results: Mapping[str, Any]) -> Check:
    lost = _get(results, "workload", "lost-count")
    return Check("no lost messages", lost == 0, f"lost {lost}")


def no_anomalies(results: Mapping[str, Any]) -> Check:
    kinds = _get(results, "workload", "anomaly-types")
    return Check(
        "no anomalies", kinds == [] or kinds is None, "anomalies " + (", ".join(kinds or []) or "none")
    )


def no_bad_kafka_errors(results: Mapping[str, Any]) -> Check:
    bad = _get(results, "workload", "bad-error-types")
    return Check(
        "no bad error types", not bad, "bad error types " + (", ".join(map(str, bad or [])) or "none")
    )


def no_duplicates(results: Mapping[str, Any]) -> Check:
    dup = _get(results, "workload", "duplicated-count")
    return Check("no duplicate ids", dup == 0, f"duplicates {dup}")


@dataclass(frozen=True, slots=True)
class Challenge:
    folder: str
    name: str
    target: str
    rules: tuple[Rule, ...]


CHALLENGES: tuple[Challenge, ...] = (
    Challenge("echo", "1 Echo", "valid", (valid,)),
    Challenge(
        "unique-id-generation",
        "2 Unique IDs",
        "valid, availability 1.0",
        (valid, availability_total, no_duplicates),
    ),
    Challenge("single-node-broadcast", "3a Single-node broadcast", "valid", (valid, no_lost)),
    Challenge("multi-node-broadcast", "3b Multi-node broadcast", "valid", (valid, no_lost)),
    Challenge("fault-tolerant-broadcast", "3c Fault-tolerant broadcast", "valid", (valid, no_lost)),
    Challenge(
        "efficient-broadcast",
        "3d/3e Efficient broadcast",
        "valid; server msgs/op <= 5; median stable latency <= 250 ms; max <= 450 ms",
        (valid, server_msgs_per_op(5), stable_latency(250, 450)),
    ),
    Challenge(
        "grow-only-counter",
        "4 Grow-only counter",
        "valid; final reads = sum of acknowledged adds; server msgs/op <= 0.5",
        (valid, final_reads_exact, server_msgs_per_op(0.5)),
    ),
    Challenge("single-node-kafka-style-log", "5a Single-node log", "valid", (valid, no_bad_kafka_errors)),
    Challenge("multi-node-kafka-style-log", "5b Multi-node log", "valid", (valid, no_bad_kafka_errors)),
    Challenge(
        "efficient-kafka-style-log",
        "5c Efficient log",
        "valid; server msgs/op <= 1.0",
        (valid, no_bad_kafka_errors, server_msgs_per_op(1.0)),
    ),
    Challenge(
        "single-node-totally-available-transactions",
        "6a Single-node transactions",
        "valid, availability 1.0",
        (valid, availability_total, no_anomalies),
    ),
    Challenge(
        "totally-available-read-uncommitted-transactions",
        "6b Read-uncommitted transactions",
        "valid, availability 1.0",
        (valid, availability_total, no_anomalies),
    ),
    Challenge(
        "totally-available-read-committed-transactions",
        "6c Read-committed transactions",
        "valid, availability 1.0",
        (valid, availability_total, no_anomalies),
    ),
    Challenge("raft-lin-kv", "Raft lin-kv (Maelstrom's chapter 6)", "valid", (valid,)),
)


@dataclass(frozen=True, slots=True)
class Row:
    challenge: Challenge
    verdict: str  # "valid", "INVALID", "unknown", "not run yet", "unreadable results"
    figures: list[str]
    failed: list[str]  # labels of unmet checks
    has_report: bool

    @property
    def meets_target(self) -> bool:
        return self.verdict == "valid" and not self.failed


def evaluate(root: Path, challenge: Challenge) -> Row:
    results_dir = root / challenge.folder / "results"
    path = results_dir / "results.json"
    has_report = (results_dir / "index.html").is_file()
    if not path.is_file():
        return Row(challenge, "not run yet", [], [], has_report)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(results, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        return Row(challenge, "unreadable results", [str(e)[:80]], ["results.json"], has_report)
    v = results.get("valid?")
    verdict = "valid" if v is True else "INVALID" if v is False else "unknown"
    checks = [rule(results) for rule in challenge.rules]
    # the same three figures for every challenge, then whatever its own checks measured
    common = [valid(results), availability_total(results), server_msgs_per_op(0)(results)]
    figures = list(dict.fromkeys(c.figure for c in [*common, *checks]))
    failed = [c.label for c in checks if not c.met]
    return Row(challenge, verdict, figures, failed, has_report)


#: every challenge's results/ together must stay below this (they are committed)
RESULTS_SIZE_LIMIT = 10 * 1024 * 1024


def results_size(root: Path = ROOT) -> int:
    """Bytes in all challenges' results/ folders (what gets committed)."""
    total = 0
    for c in CHALLENGES:
        d = root / c.folder / "results"
        if d.is_dir():
            total += sum(p.stat().st_size for p in d.rglob("*") if p.is_file())
    return total


def rows(root: Path = ROOT) -> list[Row]:
    return [evaluate(root, c) for c in CHALLENGES]


def _meets(row: Row) -> str:
    if row.verdict == "not run yet":
        return "not run yet"
    return "yes" if row.meets_target else "NO: " + ", ".join(row.failed)


def plain_table(table: list[Row]) -> str:
    header = ["challenge", "verdict", "key figures", "target", "meets target"]
    lines = [
        [r.challenge.folder, r.verdict, "; ".join(r.figures) or "-", r.challenge.target, _meets(r)]
        for r in table
    ]
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(len(header))]
    out = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [header, *lines]
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(table: list[Row]) -> str:
    met = sum(r.meets_target for r in table)
    lines = [
        "# Results",
        "",
        "Generated by `python scripts/lib/results-table.py --markdown` from each challenge's",
        "`results/results.json` (the last committed run). Do not edit by hand.",
        "",
        f"**{met} of {len(table)} challenges meet their target.**",
        "",
        "| Challenge | Folder | Verdict | Key figures | Target | Meets target |",
        "|---|---|---|---|---|---|",
    ]
    for r in table:
        folder = f"[`{r.challenge.folder}`]({r.challenge.folder}/)"
        verdict = r.verdict if r.verdict in ("valid", "not run yet") else f"**{r.verdict}**"
        if r.has_report:
            verdict += f" ([report]({r.challenge.folder}/results/index.html))"
        meets = _meets(r) if r.meets_target or r.verdict == "not run yet" else f"**{_meets(r)}**"
        lines.append(
            f"| {_md(r.challenge.name)} | {folder} | {verdict} | {_md('; '.join(r.figures)) or '-'} "
            f"| {_md(r.challenge.target)} | {_md(meets)} |"
        )
    lines += [
        "",
        "Server msgs/op is Maelstrom's `:net :servers :msgs-per-op` (node-to-node and node-to-service",
        "messages per client operation); stable latencies are the broadcast checker's",
        "`:stable-latencies`; availability is `:availability :ok-fraction`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    parser.add_argument(
        "--markdown",
        nargs="?",
        const="RESULTS.md",
        default=None,
        metavar="PATH",
        help="also write the Markdown table (default RESULTS.md, relative to --root)",
    )
    args = parser.parse_args(argv)
    table = rows(args.root)
    print(plain_table(table))
    size = results_size(args.root)
    too_big = size > RESULTS_SIZE_LIMIT
    print(
        f"committed results: {size / 1048576:.1f} MB of {RESULTS_SIZE_LIMIT / 1048576:.0f} MB"
        + (" -- TOO BIG: trim the results/ folders" if too_big else "")
    )
    if args.markdown is not None:
        out = args.root / args.markdown
        out.write_text(markdown(table), encoding="utf-8")
        print(f"wrote {out}")
    return 0 if all(r.meets_target for r in table) and not too_big else 1


if __name__ == "__main__":
    sys.exit(main())
