"""Real mode against the simulation (``--sim``) on challenge 3d/3e (efficient-broadcast) at its
official flags: server msgs/op and the median stable latency, per seed and on average, and each
mode's wall time. Real-mode runs are timing-sensitive: they run one at a time.

    scripts/bench-sim.sh                 # seeds 1..5
    scripts/bench-sim.sh --seeds 3       # seeds 1..3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.challenges import ROOT, by_folder
from harness.results_table import key_figures

KEYS = ("server-msgs-per-op", "stable-latency-median")


def run(challenge: str, seed: int, sim: bool, store: Path) -> tuple[dict[str, float], float]:
    c = by_folder(challenge)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir_file = Path(tmp) / "run-dir"
        command = [
            sys.executable, "-m", "harness", "test", *c.flags[:2], "--bin", str(c.main_py), *c.flags[2:],
            "--seed", str(seed), "--store", str(store), "--no-plots", "--quiet-ops",
            "--run-dir-file", str(run_dir_file), *(["--sim"] if sim else []),
        ]  # fmt: skip
        start = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.monotonic() - start
        if done.returncode != 0:
            raise SystemExit(
                f"{challenge} seed {seed} ({'sim' if sim else 'real'}) exited {done.returncode}:\n{done.stderr[-3000:]}"
            )
        run_dir = Path(run_dir_file.read_text().strip())
    results = json.loads((run_dir / "results.json").read_text())
    figs = key_figures(c.workload, results)
    return {k: float(figs[k].value) for k in KEYS}, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--challenge", default="efficient-broadcast")
    args = parser.parse_args()
    store = ROOT / "store" / "bench-sim"
    rows: dict[str, list[dict[str, float]]] = {"real": [], "sim": []}
    wall = {"real": 0.0, "sim": 0.0}
    for seed in range(1, args.seeds + 1):
        for mode in ("real", "sim"):
            figs, elapsed = run(args.challenge, seed, mode == "sim", store)
            rows[mode].append(figs)
            wall[mode] += elapsed
            print(
                f"seed {seed} {mode:4}: "
                + "  ".join(f"{k} {v:g}" for k, v in figs.items())
                + f"  ({elapsed:.1f} s)"
            )
    print()
    worst = 0.0
    for key in KEYS:
        real = statistics.mean(r[key] for r in rows["real"])
        sim = statistics.mean(r[key] for r in rows["sim"])
        diff = (sim - real) / real
        worst = max(worst, abs(diff))
        print(f"{key}: real mean {real:.4g}, sim mean {sim:.4g}, sim/real {sim / real:.3f} ({diff:+.1%})")
    print(f"wall time: real {wall['real']:.1f} s, sim {wall['sim']:.1f} s, {wall['real'] / wall['sim']:.1f}x")
    print(f"within 10%: {'yes' if worst <= 0.10 else 'NO'} (largest difference {worst:.1%})")
    return 0 if worst <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
