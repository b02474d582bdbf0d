"""The results table: every challenge's verdict, key figures and target, from <challenge>/results/.

    maelstrom results              # print the table (also: python -m harness results)
    maelstrom results --markdown   # also write RESULTS.md at the top level

Reads only each challenge's committed ``results/results.json``, and only through the checkers'
summaries (``harness.checkers.core.summarize`` with the workload's ``summarize``): targets name
figures by key. A challenge without one is "not run
yet", never a guessed verdict. The challenges and their targets come from ``harness.challenges``.
Exit status: 0 when every challenge has results that are valid and meet its target and all
results/ folders together stay under 10 MB, 1 otherwise (so run-all.sh can just call this).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.challenges import CHALLENGES, ROOT, Challenge, Target
from harness.checkers.core import DISPLAY_ORDER, summarize
from harness.summary import Figure
from harness.workloads import REGISTRY

__all__ = [
    "COMMON_FIGURES",
    "RESULTS_SIZE_LIMIT",
    "Check",
    "Row",
    "evaluate",
    "figure_labels",
    "key_figures",
    "main",
    "rows",
    "target_text",
]


@dataclass(frozen=True, slots=True)
class Check:
    """One measured requirement: what it says, whether it holds, and the figure behind it."""

    label: str
    met: bool
    figure: str


# -- Key figures: what the checkers' own summaries say (harness/summary.py); this module reads no
# checker's result keys, so a new workload or figure needs no edit here.


def key_figures(workload: str, results: Mapping[str, Any]) -> dict[str, Figure]:
    """Every key figure of a run's results, by key: the core checkers' summaries and the workload's
    (its class's ``summarize``)."""
    cls = REGISTRY.get(workload)
    out: dict[str, Figure] = {}
    for summary in summarize(results, cls.summarize if cls is not None else None).values():
        for f in summary.figures:
            out.setdefault(f.key, f)
    return out


def figure_labels(challenge: Challenge) -> dict[str, Figure]:
    """The challenge's figures without values: their labels and units word its targets."""
    return key_figures(challenge.workload, {name: {} for name in DISPLAY_ORDER})


def _text(figs: Mapping[str, Figure], key: str) -> str:
    f = figs.get(key)
    return f.text() if f is not None else f"{key} ?"


#: shown for every challenge, before its own targets' figures
COMMON_FIGURES = ("ops", "availability", "server-msgs-per-op")


# -- Targets (data in harness.challenges) checked against those figures ---------------------------


def _target_label(target: Target, labels: Mapping[str, Figure]) -> str:
    m = labels.get(target.key) or Figure(target.key, target.key, None)
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
    labels = figure_labels(challenge)
    return "; ".join(["valid", *(_target_label(t, labels) for t in challenge.targets)])


def valid(results: Mapping[str, Any], figs: Mapping[str, Figure]) -> Check:
    return Check("valid", results.get("valid?") is True, _text(figs, "ops"))


def check_target(target: Target, figs: Mapping[str, Figure], labels: Mapping[str, Figure]) -> Check:
    f = figs.get(target.key)
    return Check(
        _target_label(target, labels), target.met_by(None if f is None else f.value), _text(figs, target.key)
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


def evaluate(root: Path, challenge: Challenge, results_root: Path | None = None) -> Row:
    """``challenge``'s row from ``root/FOLDER/results/`` (or ``results_root/FOLDER/``)."""
    results_dir = (
        root / challenge.folder / "results" if results_root is None else results_root / challenge.folder
    )
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
    figs = key_figures(challenge.workload, results)
    labels = figure_labels(challenge)
    checks = [valid(results, figs), *(check_target(t, figs, labels) for t in challenge.targets)]
    # the same three figures for every challenge, then whatever its own targets measure
    common = [_text(figs, key) for key in COMMON_FIGURES]
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


def rows(root: Path = ROOT, results_root: Path | None = None) -> list[Row]:
    return [evaluate(root, c, results_root) for c in CHALLENGES]


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
        "The key figures are what each checker says about its own result (its summary): server",
        "msgs/op counts node-to-node and node-to-service messages per client operation (Maelstrom's",
        "net checker); stable latency is how long a broadcast value took to appear in every read;",
        "availability is the fraction of operations that succeeded.",
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
    parser.add_argument(
        "--sim",
        dest="simulated",
        action="store_true",
        help="the simulated runs' results (store/sim-results/, from run-challenge --sim) instead of results/",
    )
    args = parser.parse_args(argv)
    if args.simulated:
        if args.markdown is not None:
            parser.error(
                "--markdown writes RESULTS.md, which shows the real-mode reference runs; not with --sim"
            )
        table = rows(args.root, args.root / "store" / "sim-results")
        print("Simulated runs (--sim), from store/sim-results/:")
        print(plain_table(table))
        return 0 if all(r.meets_target for r in table) else 1
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
