"""Shrinking and swarm sweeps on the suite's broken nodes (tests/shrink_cases.py).

For each broken node: a plain sweep (seeds 1, 2, ... up to --seeds) until the first failing seed,
the same with --swarm, then ``maelstrom shrink`` of the plain sweep's failing run with the default
budget (--shrink-time). Prints a markdown table per part (README's "Shrinking" section has them).
Every run is --sim, in this process; one case at a time (--cases a,b to pick).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.cli import main as maelstrom  # noqa: E402
from harness.shrink.shrinker import DEFAULT_SHRINK_SECONDS, shrink_run_dir  # noqa: E402
from tests.shrink_cases import Case, cases  # noqa: E402


def first_failure(case: Case, store: Path, seeds: int, swarm: bool) -> tuple[int | None, Path | None]:
    """(how many seeds it took, the failing run dir); (None, None) if none of ``seeds`` failed."""
    where = store / "run-dir"
    for seed in range(1, seeds + 1):
        words = ["test", *case.words, "--sim", "--seed", str(seed), "--store", str(store)]
        words += ["--no-plots", "--quiet-ops", "--run-dir-file", str(where)] + (["--swarm"] if swarm else [])
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = maelstrom(words)
        if code != 0:
            return seed, Path(where.read_text().strip())
    return None, None


def faults_text(faults: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(faults.items())) or "none"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="seeds per sweep (default 200)")
    parser.add_argument("--shrink-time", type=float, default=DEFAULT_SHRINK_SECONDS)
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    wanted = set(filter(None, args.cases.split(",")))
    rows = []
    for case in cases():
        if wanted and case.name not in wanted:
            continue
        with tempfile.TemporaryDirectory(prefix="bench-shrink-") as tmp:
            store = Path(tmp)
            plain, run_dir = first_failure(case, store / "plain", args.seeds, swarm=False)
            swarm, _ = first_failure(case, store / "swarm", args.seeds, swarm=True)
            row: dict[str, object] = {"case": case.name, "what": case.what, "plain": plain, "swarm": swarm}
            if run_dir is not None:
                started = time.monotonic()
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    code = shrink_run_dir(run_dir, args.shrink_time)
                row["shrink-seconds"] = round(time.monotonic() - started, 1)
                shrunk = (store / "plain" / "latest").resolve()
                info = json.loads((shrunk / "shrink.json").read_text())
                row |= {"exit": code, **{k: info[k] for k in ("from-sizes", "to-sizes", "failure", "runs")}}
                row["same"] = info["fails-the-same-way"]
                row["identical"] = info["replay-byte-identical"]
                row["expected-kind"] = info["failure"] == case.kind
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(
        "| broken node | seeds to 1st failure: plain | with --swarm | client ops: original -> shrunk "
        "| faults: original -> shrunk | nodes | fails the same way | replay byte-identical | shrink time |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    met = 0
    for r in rows:
        if "from-sizes" not in r:
            print(
                f"| {r['what']} | {r['plain'] or '> ' + str(args.seeds)} | {r['swarm'] or '> ' + str(args.seeds)} | - | - | - | - | - | - |"
            )
            continue
        a, b = r["from-sizes"], r["to-sizes"]  # type: ignore[index]
        small = b["ops"] <= 20 and b["ops"] <= 0.1 * a["ops"]
        met += small
        print(
            f"| {r['what']} | {r['plain']} | {r['swarm'] or '> ' + str(args.seeds)} | {a['ops']:,} -> **{b['ops']}**"
            f"{'' if small else ' (over target)'} | {faults_text(a['faults'])} -> {faults_text(b['faults'])} "
            f"| {a['nodes']} -> {b['nodes']} | {'yes' if r['same'] else 'NO'} ({r['failure']}) "
            f"| {'yes' if r['identical'] else 'NO'} | {r['shrink-seconds']} s, {r['runs']} runs |"
        )
    print(f"\n{met} of {len(rows)} shrunk to <= 20 client ops and <= 10% of the original's.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
