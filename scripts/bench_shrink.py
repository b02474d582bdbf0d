"""Shrinking and swarm sweeps on the suite's broken nodes (tests/shrink_cases.py).

For each broken node: a sweep at the case's flags (seeds 1, 2, ...) to its first failing seed, and
``maelstrom shrink`` of that run with the default budget (--shrink-time); then two sweeps of short
runs (--sweep-flags, default --time-limit 1 --rate 5: a handful of ops, where a failure is no
longer certain), without and with
--swarm, each over --seeds seeds, counting the seeds to the first failure and the failing seeds. Prints markdown
tables (README's "Shrinking" section has them). Every run is --sim, in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.cli import main as maelstrom  # noqa: E402
from harness.shrink.shrinker import DEFAULT_SHRINK_SECONDS, shrink_run_dir  # noqa: E402
from tests.shrink_cases import Case, cases  # noqa: E402


def _run(words: list[str]) -> int:
    """``maelstrom WORDS`` in this process, quietly; a SIGTERM or Ctrl-C (which the run turns into
    exit 143 or 130) ends the benchmark rather than this one run."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = maelstrom(words)
    if code in (130, 143, 129):
        raise SystemExit(code)
    return code


def first_failure(
    case: Case, store: Path, seeds: int, swarm: bool, *extra: str
) -> tuple[int | None, Path | None]:
    """(how many seeds it took, the failing run dir); (None, None) if none of ``seeds`` failed."""
    where = store / "run-dir"
    for seed in range(1, seeds + 1):
        words = ["test", *case.words, *extra, "--sim", "--seed", str(seed), "--store", str(store)]
        words += ["--no-plots", "--quiet-ops", "--run-dir-file", str(where)] + (["--swarm"] if swarm else [])
        if _run(words) != 0:
            return seed, Path(where.read_text().strip())
    return None, None


def sweep(case: Case, store: Path, seeds: int, swarm: bool, *extra: str) -> tuple[int | None, int]:
    """Every seed of ``seeds``: (the first failing seed, how many failed)."""
    first, failed = None, 0
    for seed in range(1, seeds + 1):
        words = ["test", *case.words, *extra, "--sim", "--seed", str(seed), "--store", str(store)]
        words += ["--no-plots", "--quiet-ops"] + (["--swarm"] if swarm else [])
        if _run(words) != 0:
            failed += 1
            first = first or seed
    return first, failed


def faults_text(faults: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(faults.items())) or "none"


def measure(case: Case, store: Path, args: argparse.Namespace) -> dict[str, Any]:
    plain, run_dir = first_failure(case, store / "plain", args.seeds, False)
    row: dict[str, Any] = {"case": case.name, "what": case.what, "plain": plain}
    if run_dir is not None:
        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = shrink_run_dir(run_dir, args.shrink_time)
        row["shrink-seconds"] = round(time.monotonic() - started, 1)
        info = json.loads(((store / "plain" / "latest").resolve() / "shrink.json").read_text())
        row |= {
            "exit": code,
            **{k: info[k] for k in ("from-sizes", "to-sizes", "failure", "runs", "command")},
        }
        row["same"] = info["fails-the-same-way"]
        row["identical"] = info["replay-byte-identical"]
        row["expected-kind"] = info["failure"] == case.kind
    short = shlex.split(args.sweep_flags)
    row["plain-short"], row["plain-failed"] = sweep(case, store / "plain-short", args.seeds, False, *short)
    row["swarm-short"], row["swarm-failed"] = sweep(case, store / "swarm-short", args.seeds, True, *short)
    return row


def tables(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    out = [
        "| broken node | failing seed | client ops: original -> shrunk | faults: original -> shrunk | nodes "
        "| fails the same way | replay byte-identical | shrink time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    met = 0
    for r in rows:
        if "from-sizes" not in r:
            out.append(f"| {r['what']} | none of {args.seeds} | - | - | - | - | - | - |")
            continue
        a, b = r["from-sizes"], r["to-sizes"]
        small = b["ops"] <= 20 and b["ops"] <= 0.1 * a["ops"]
        met += small
        out.append(
            f"| {r['what']} | {r['plain']} | {a['ops']:,} -> **{b['ops']}**{'' if small else ' (over target)'} "
            f"| {faults_text(a['faults'])} -> {faults_text(b['faults'])} | {a['nodes']} -> {b['nodes']} "
            f"| {'yes' if r['same'] else 'NO'} ({r['failure']}) | {'yes' if r['identical'] else 'NO'} "
            f"| {r['shrink-seconds']} s, {r['runs']} runs |"
        )
    out.append(f"\n{met} of {len(rows)} shrunk to <= 20 client ops and <= 10% of the original's.")
    out.append(f"\nSeeds to the first failure with {args.sweep_flags}, at most {args.seeds} seeds:\n")
    out += [
        "| broken node | plain: seeds to 1st failure | --swarm: seeds to 1st failure | plain: failing seeds "
        "| --swarm: failing seeds |",
        "|---|---|---|---|---|",
    ]
    never = f"none in {args.seeds}"
    out += [
        f"| {r['what']} | {r['plain-short'] or never} | {r['swarm-short'] or never} "
        f"| {r['plain-failed']} of {args.seeds} | {r['swarm-failed']} of {args.seeds} |"
        for r in rows
    ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="seeds per sweep (default 200)")
    parser.add_argument("--shrink-time", type=float, default=DEFAULT_SHRINK_SECONDS)
    parser.add_argument(
        "--sweep-flags", default="--time-limit 1 --rate 5", help="flags of the swarm comparison's short runs"
    )
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":  # as `maelstrom test --sim` does: set iteration order
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    wanted = set(filter(None, args.cases.split(",")))
    rows = []
    for case in cases():
        if wanted and case.name not in wanted:
            continue
        with tempfile.TemporaryDirectory(prefix="bench-shrink-") as tmp:
            rows.append(measure(case, Path(tmp), args))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(tables(rows, args))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
