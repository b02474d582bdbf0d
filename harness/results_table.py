"""The results table: every challenge's verdict, key figures and target, from <challenge>/results/.

    maelstrom results              # print the table (also: python -m harness results)
    maelstrom results --markdown   # also write RESULTS.md at the top level

Reads only each challenge's committed ``results/results.json``. A challenge without one is "not run
yet", never a guessed verdict. The challenges and their targets come from ``harness.challenges``.
Exit status: 0 when every challenge has results that are valid and meet its target and all
results/ folders together stay under 10 MB, 1 otherwise (so run-all.sh can just call this).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.challenges import CHALLENGES, ROOT, Challenge, Target

__all__ = ["FIGURES", "RESULTS_SIZE_LIMIT", "Check", "Row", "evaluate", "main", "rows", "target_text"]


@dataclass(frozen=True, slots=True)
class Check:
    """One measured requirement: what it says, whether it holds, and the figure behind it."""

    label: str
    met: bool
    figure: str


# -- Key figures: the one place that reads checker result keys out of results.json ---------------
# (harness.summary's Workload.summarize is to take this over; targets name figures by key.)


def _get(results: Mapping[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _quantile(results: Mapping[str, Any], *keys: str) -> Any:
    q = _get(results, "workload", "stable-latencies")
    if not isinstance(q, Mapping):
        return None
    return next((q[k] for k in keys if k in q), None)


def _final_reads_exact(results: Mapping[str, Any]) -> tuple[bool, str]:
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
    return ok, f"final reads [{shown}], acknowledged sum {acked}"


def _count(*path: str, absent: int | None = None) -> Callable[[Mapping[str, Any]], Any]:
    """The number at ``path`` (the length of a list there); ``absent`` when there is nothing."""

    def read(results: Mapping[str, Any]) -> Any:
        value = _get(results, *path)
        return len(value) if isinstance(value, list) else absent if value is None else value

    return read


def _listing(what: str, *path: str) -> Callable[[Mapping[str, Any]], str]:
    def show(results: Mapping[str, Any]) -> str:
        items = _get(results, *path)
        return f"{what} " + (", ".join(map(str, items)) if isinstance(items, list) and items else "none")

    return show


@dataclass(frozen=True, slots=True)
class Measure:
    """How to read one key figure: ``value`` (what a target compares; None when absent) and
    ``text`` (the figure as the table shows it); ``label`` and ``unit`` word its targets."""

    label: str
    value: Callable[[Mapping[str, Any]], Any]
    text: Callable[[Mapping[str, Any]], str]
    unit: str = ""


def _num_text(fmt: str, missing: str, *path: str) -> Callable[[Mapping[str, Any]], str]:
    def text(results: Mapping[str, Any]) -> str:
        x = _get(results, *path)
        return fmt.format(x) if _is_num(x) else missing

    return text


def _latency_text(label: str, *keys: str) -> Callable[[Mapping[str, Any]], str]:
    def text(results: Mapping[str, Any]) -> str:
        x = _quantile(results, *keys)
        return f"{label} {x} ms" if _is_num(x) else f"{label} ?"

    return text


FIGURES: dict[str, Measure] = {
    "ops": Measure("ops", _count("stats", "count"), lambda r: f"{_get(r, 'stats', 'count')} ops"),
    "availability": Measure(
        "availability",
        lambda r: _get(r, "availability", "ok-fraction"),
        _num_text("availability {:.4g}", "availability ?", "availability", "ok-fraction"),
    ),
    "server-msgs-per-op": Measure(
        "server msgs/op",
        lambda r: _get(r, "net", "servers", "msgs-per-op"),
        _num_text("server msgs/op {:.2f}", "server msgs/op ?", "net", "servers", "msgs-per-op"),
    ),
    "stable-latency-median": Measure(
        "median stable latency",
        lambda r: _quantile(r, "0.5"),
        _latency_text("stable latency median", "0.5"),
        " ms",
    ),
    "stable-latency-max": Measure(
        "max stable latency", lambda r: _quantile(r, "1", "1.0"), _latency_text("max", "1", "1.0"), " ms"
    ),
    "final-reads-exact": Measure(
        "final reads = sum of acknowledged adds",
        lambda r: _final_reads_exact(r)[0],
        lambda r: _final_reads_exact(r)[1],
    ),
    "lost-count": Measure(
        "lost messages",
        _count("workload", "lost-count"),
        lambda r: f"lost {_get(r, 'workload', 'lost-count')}",
    ),
    "duplicated-count": Measure(
        "duplicate ids",
        _count("workload", "duplicated-count"),
        lambda r: f"duplicates {_get(r, 'workload', 'duplicated-count')}",
    ),
    "anomaly-count": Measure(
        "anomalies",
        _count("workload", "anomaly-types", absent=0),
        _listing("anomalies", "workload", "anomaly-types"),
    ),
    "bad-error-count": Measure(
        "bad error types",
        _count("workload", "bad-error-types", absent=0),
        _listing("bad error types", "workload", "bad-error-types"),
    ),
}

#: shown for every challenge, before its own targets' figures
COMMON_FIGURES = ("ops", "availability", "server-msgs-per-op")


# -- Targets (data in harness.challenges) checked against those figures ---------------------------


def _target_label(target: Target) -> str:
    m = FIGURES[target.key]
    if target.equals is True:
        return m.label
    if target.at_most == 0 and target.at_least is None:
        return f"no {m.label}"
    parts = []
    if target.at_least is not None:
        parts.append(f">= {target.at_least:g}{m.unit}")
    if target.at_most is not None:
        parts.append(f"<= {target.at_most:g}{m.unit}")
    if target.equals is not None:
        parts.append(f"= {target.equals}")
    return f"{m.label} {' and '.join(parts)}"


def target_text(challenge: Challenge) -> str:
    """The challenge's target in words, "valid" first."""
    return "; ".join(["valid", *(_target_label(t) for t in challenge.targets)])


def valid(results: Mapping[str, Any]) -> Check:
    return Check("valid", results.get("valid?") is True, FIGURES["ops"].text(results))


def check_target(target: Target, results: Mapping[str, Any]) -> Check:
    m = FIGURES[target.key]
    value = m.value(results)
    return Check(_target_label(target), target.met_by(value), m.text(results))


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
    checks = [valid(results), *(check_target(t, results) for t in challenge.targets)]
    # the same three figures for every challenge, then whatever its own targets measure
    common = [FIGURES[key].text(results) for key in COMMON_FIGURES]
    figures = list(dict.fromkeys([*common, *(c.figure for c in checks)]))
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
        [r.challenge.folder, r.verdict, "; ".join(r.figures) or "-", target_text(r.challenge), _meets(r)]
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
        "Generated by `./maelstrom results --markdown` from each challenge's",
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
            f"| {_md(target_text(r.challenge))} | {_md(meets)} |"
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
    parser = argparse.ArgumentParser(prog="maelstrom results", description=__doc__.splitlines()[0])
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
