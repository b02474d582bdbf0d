"""What surviving crashes costs: each challenge at Fly.io's flags, with and without faults.

For every (challenge, mode, seed) it runs ``./maelstrom test <flags> --bin ./<folder>/main.py
--seed N`` once, one run at a time, where the mode is

* ``base``: the challenge's own flags (the "official flags" row);
* ``kill``: its ``--nemesis`` replaced by ``kill,partition``;
* ``pause``: its ``--nemesis`` replaced by ``pause``.

``--availability total`` is dropped in kill and pause modes: no program answers while it is
killed or stopped, so the ok fraction is shown instead. Modes are interleaved per seed (base,
kill, pause for seed 1, then seed 2, ...) so that every row sees the same machine load: compare
rows with each other. One JSON line per run goes to ``store/bench-crashes/runs.jsonl``, a re-run
replacing the earlier line of the same (challenge, mode, seed).

``--table`` prints the tables from what is recorded; ``--write-readmes`` puts each challenge's
table into its README, between ``<!-- crash-table: begin -->`` and ``<!-- crash-table: end -->``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.challenges import CHALLENGES, by_folder  # noqa: E402

OUT = ROOT / "store" / "bench-crashes"
RUNS = OUT / "runs.jsonl"
MAIN_OP = {"broadcast": "broadcast", "g-counter": "add", "kafka": "send", "txn-rw-register": "txn"}
MODES = {"base": "official flags", "kill": "kill,partition", "pause": "pause"}
BEGIN, END = "<!-- crash-table: begin -->", "<!-- crash-table: end -->"
#: the challenges a crash can cost something: more than one node (single-node ones are kill-only)
MULTI_NODE = [
    c.folder
    for c in CHALLENGES
    if c.workload in MAIN_OP and c.flags[c.flags.index("--node-count") + 1] != "1"
]


def flags_for(folder: str, mode: str) -> list[str]:
    flags = list(by_folder(folder).flags)
    if mode == "base":
        return flags
    kept: list[str] = []
    skip = False
    for flag in flags:
        if skip:
            skip = False
        elif flag in ("--nemesis", "--availability"):
            skip = True
        else:
            kept.append(flag)
    return [*kept, "--nemesis", "kill,partition" if mode == "kill" else "pause"]


def measure(folder: str, mode: str, seed: int) -> dict[str, Any]:
    flags = flags_for(folder, mode)
    run_dir_file = OUT / f"run-dir-{folder}-{mode}-{seed}"
    cmd = [
        str(ROOT / "maelstrom"), "test", *flags, "--bin", str(ROOT / folder / "main.py"),
        "--seed", str(seed), "--no-plots", "--quiet-ops", "--store", str(OUT / "store"),
        "--run-dir-file", str(run_dir_file),
    ]  # fmt: skip
    started = time.monotonic()
    with open(OUT / f"{folder}-{mode}-{seed}.log", "w") as log:
        code = subprocess.run(cmd, cwd=OUT, stdout=log, stderr=subprocess.STDOUT).returncode
    run_dir = Path(run_dir_file.read_text().strip()) if run_dir_file.exists() else None
    results_path = run_dir / "results.json" if run_dir else None
    res = json.loads(results_path.read_text()) if results_path and results_path.exists() else {}
    history = (run_dir / "history.txt").read_text() if run_dir and (run_dir / "history.txt").exists() else ""
    stats = res.get("stats", {})
    latency = res.get("perf", {}).get("latencies", {}).get(MAIN_OP[flags[1]], {})
    time_limit = float(flags[flags.index("--time-limit") + 1])
    return {
        "folder": folder, "mode": mode, "seed": seed, "exit": code, "valid": res.get("valid?"),
        "server_msgs_per_op": res.get("net", {}).get("servers", {}).get("msgs-per-op"),
        "p50_ms": latency.get("0.5"), "p99_ms": latency.get("0.99"),
        "ok_per_s": stats.get("ok-count", 0) / time_limit if stats else None,
        "ok_fraction": stats["ok-count"] / stats["count"] if stats.get("count") else None,
        "killed": history.count(":killed"), "paused": history.count(":paused"),
        "run_dir": str(run_dir), "wall_s": round(time.monotonic() - started, 1),
    }  # fmt: skip


def recorded() -> dict[tuple[str, str, int], dict[str, Any]]:
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    if RUNS.exists():
        for line in RUNS.read_text().splitlines():
            row = json.loads(line)
            rows[row["folder"], row["mode"], row["seed"]] = row  # a re-run replaces the earlier one
    return rows


def table(folder: str, rows: dict[tuple[str, str, int], dict[str, Any]]) -> str:
    def mean(runs: list[dict[str, Any]], key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.mean(values) if values else None

    def fmt(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        "| nemesis | seeds | valid | server msgs/op | p50 ms | p99 ms | ok ops/s | ok fraction | nodes killed / paused |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, label in MODES.items():
        runs = sorted(
            (r for (f, m, _), r in rows.items() if f == folder and m == mode), key=lambda r: r["seed"]
        )
        if not runs:
            continue
        valid = sum(1 for r in runs if r["valid"] is True)
        lines.append(
            f"| {label} | {','.join(str(r['seed']) for r in runs)} | {valid} of {len(runs)} "
            f"| {fmt(mean(runs, 'server_msgs_per_op'), 2)} | {fmt(mean(runs, 'p50_ms'), 1)} "
            f"| {fmt(mean(runs, 'p99_ms'), 0)} | {fmt(mean(runs, 'ok_per_s'), 1)} "
            f"| {fmt(mean(runs, 'ok_fraction'), 3)} "
            f"| {sum(r['killed'] for r in runs)} / {sum(r['paused'] for r in runs)} |"
        )
    return "\n".join(lines)


def write_readme(folder: str, rows: dict[tuple[str, str, int], dict[str, Any]]) -> bool:
    path = ROOT / folder / "README.md"
    text = path.read_text()
    if BEGIN not in text or END not in text:
        print(f"{path}: no {BEGIN} ... {END} block; not changed", file=sys.stderr)
        return False
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{table(folder, rows)}\n{END}{tail}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", help=f"challenge folders (default: {' '.join(MULTI_NODE)})")
    parser.add_argument(
        "--modes", default="base,kill", help="comma-separated: base,kill,pause (default base,kill)"
    )
    parser.add_argument("--seeds", default="1-5", help="e.g. 1-5 or 2,4 (default 1-5)")
    parser.add_argument(
        "--table", action="store_true", help="print the tables of what is recorded; run nothing"
    )
    parser.add_argument(
        "--write-readmes", action="store_true", help="put the tables into the READMEs; run nothing"
    )
    args = parser.parse_args(argv)
    folders = args.folders or MULTI_NODE
    for folder in folders:
        by_folder(folder)  # a clear error for an unknown folder
    if args.table or args.write_readmes:
        rows = recorded()
        for folder in folders:
            if args.write_readmes:
                write_readme(folder, rows)
            else:
                print(f"### {folder}\n\n{table(folder, rows)}\n")
        return 0
    modes = args.modes.split(",")
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown mode(s) {sorted(unknown)}; choose from {list(MODES)}")
    if "-" in args.seeds:
        first, last = args.seeds.split("-")
        seeds = list(range(int(first), int(last) + 1))
    else:
        seeds = [int(s) for s in args.seeds.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    failed = 0
    for seed in seeds:
        for folder in folders:
            for mode in modes:
                row = measure(folder, mode, seed)
                with RUNS.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                failed += row["valid"] is not True
                print(
                    f"{folder} {mode} seed {seed}: valid {row['valid']}, msgs/op {row['server_msgs_per_op']}, "
                    f"p50 {row['p50_ms']} ms, ok fraction {row['ok_fraction']} ({row['wall_s']} s)",
                    flush=True,
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
