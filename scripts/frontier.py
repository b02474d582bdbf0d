"""The 3d/3e frontier: server msgs/op against median and max stable latency, over overlays and
batch intervals of efficient-broadcast/main.py, at Fly.io's 3d flags.

    scripts/frontier.sh                  # sweep every configuration in --sim (seeds 1-3), plot, table
    scripts/frontier.sh --confirm        # real mode, one run at a time, for each marked point
    scripts/frontier.sh --missing        # sweep only the configurations not recorded yet
    scripts/frontier.sh --plot           # plot and table from what is recorded (no runs)
    scripts/frontier.sh --plot --write-readme   # ... and put the tables into efficient-broadcast/README.md

The program reads its overlay and intervals from ``BROADCAST_*`` environment variables (its own
constants are the defaults), so a configuration here is an environment. A point is on the
frontier when no other partition-safe configuration has both fewer msgs/op and a lower max
stable latency (means over the seeds); fire-and-forget points are drawn for reference only. A
few frontier points that span it (``THIN``) and main.py's own configuration are *marked*: those
are the ones ``--confirm`` runs in real mode, on the same seeds, to compare with the simulation.
Every run appends one JSON line to ``store/frontier/runs.jsonl`` (a re-run of the same
configuration, mode and seed replaces it). The plot goes to ``efficient-broadcast/frontier.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.challenges import by_folder  # noqa: E402
from harness.results_table import key_figures  # noqa: E402

FOLDER = "efficient-broadcast"
OUT = ROOT / "store" / "frontier"
RUNS = OUT / "runs.jsonl"
PLOT = ROOT / FOLDER / "frontier.png"
README = ROOT / FOLDER / "README.md"
BEGIN, END = "<!-- frontier: begin -->", "<!-- frontier: end -->"
KEYS = {"msgs": "server-msgs-per-op", "median": "stable-latency-median", "max": "stable-latency-max"}

#: published points: (who, server msgs/op, median ms, max ms, note, label offset in points);
#: see issue 26 and each author's write-up (listed in the README)
PUBLISHED = [
    ("tirasundaraa", 7.75, 333, 533, "", (-5, 5)),
    ("teivah", 1.92, 764, 1087, " (3e)", (5, 3)),
    ("virajac0", 2.80, 269, 757, "", (5, 3)),
    ("Emmanuel32", 11.55, 82, 98, " (3d, no acks)", (-5, -11)),
    ("stoykotolev", 13.17, 345, 411, " (5-ary tree)", (5, -10)),
    ("Maelstrom tree4", 11.99, 386, 505, "", (5, 4)),
]
#: Fly.io's limits (strict <): name, msgs/op, median ms, max ms
LIMITS = [("3d", 30, 400, 600), ("3e", 20, 1000, 2000)]


@dataclass(frozen=True)
class Config:
    """One configuration of efficient-broadcast/main.py."""

    overlay: str  # star | tree<K> | all | topology:<maelstrom topology>
    hub_batch: float = 0.0
    leaf_batch: float = 0.0
    acks: bool = True

    @property
    def label(self) -> str:
        parts = [self.overlay, f"hub {self.hub_batch:g}"] if self.overlay != "all" else ["all"]
        if self.leaf_batch or self.overlay == "all":
            parts.append(f"leaf {self.leaf_batch:g}")
        return " ".join(parts) + ("" if self.acks else " no acks")

    @property
    def family(self) -> str:
        leaf = " + leaf batch" if self.leaf_batch and self.overlay != "all" else ""
        return self.overlay + leaf + ("" if self.acks else " no acks")

    def env(self) -> dict[str, str]:
        overlay = "topology" if self.overlay.startswith("topology:") else self.overlay
        env = {"BROADCAST_OVERLAY": overlay, "BROADCAST_HUB_BATCH": f"{self.hub_batch:g}"}
        env["BROADCAST_LEAF_BATCH"] = f"{self.leaf_batch:g}"
        if not self.acks:
            env["BROADCAST_ACK_DELAY"] = "none"  # otherwise main.py derives the ack timings
        return env

    def flags(self) -> list[str]:
        return ["--topology", self.overlay.split(":", 1)[1]] if self.overlay.startswith("topology:") else []


DEFAULT = Config("star", 0.1)  # efficient-broadcast/main.py's own constants

SWEEP: list[Config] = [
    *(Config("star", b) for b in (0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.3, 1.6)),
    # the hub's and the leaves' intervals: for a given sum, fewest messages near hub = leaf + 0.5 s
    *(Config("star", h, leaf) for h, leaf in ((0.7, 0.2), (0.8, 0.3), (0.9, 0.4), (1.0, 0.5), (1.1, 0.6))),
    *(Config("all", 0, leaf) for leaf in (0, 0.02, 0.04, 0.1, 0.2, 0.4)),
    Config("all", 0, 0, acks=False),
    *(Config(f"tree{k}", b) for k in (2, 4, 6) for b in (0, 0.1, 0.2)),
    Config("topology:tree4"),
    Config("topology:grid"),
]


def _key(config: Config, mode: str, seed: int) -> str:
    return f"{config.label}|{mode}|{seed}"


def load() -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    if RUNS.exists():
        for line in RUNS.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                runs[f"{rec['label']}|{rec['mode']}|{rec['seed']}"] = rec
    return runs


def measure(config: Config, mode: str, seed: int) -> dict[str, Any]:
    """One ``maelstrom test`` of ``config`` at the challenge's flags (``mode``: sim or real)."""
    c = by_folder(FOLDER)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir_file = Path(tmp) / "run-dir"
        command = [
            sys.executable, "-m", "harness", "test", *c.flags[:2], "--bin", str(c.main_py), *c.flags[2:],
            *config.flags(), "--seed", str(seed), "--store", str(OUT / "store"), "--no-plots",
            "--quiet-ops", "--run-dir-file", str(run_dir_file), *(["--sim"] if mode == "sim" else []),
        ]  # fmt: skip
        env = {**os.environ, **config.env()}
        load_before = os.getloadavg()[0]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if not run_dir_file.exists():
            raise SystemExit(
                f"{config.label} {mode} seed {seed} exited {done.returncode}:\n{done.stderr[-3000:]}"
            )
        run_dir = Path(run_dir_file.read_text().strip())
    results = json.loads((run_dir / "results.json").read_text())
    figs = key_figures(c.workload, results)
    rec: dict[str, Any] = {
        "label": config.label,
        "mode": mode,
        "seed": seed,
        "valid": results.get("valid?") is True,
    }
    rec.update({name: figs[key].value if key in figs else None for name, key in KEYS.items()})
    rec["lost"] = results.get("workload", {}).get("lost-count")
    rec["load"] = round(load_before, 2)
    # how late the runner delivered messages (real mode under load; 0 in --sim)
    rec["lateness_p99"] = results.get("net", {}).get("delivery-lateness-ms", {}).get("p99")
    rec["run_dir"] = str(run_dir.relative_to(ROOT)) if run_dir.is_relative_to(ROOT) else str(run_dir)
    return rec


def record(recs: Iterable[dict[str, Any]]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with RUNS.open("a") as f:
        for rec in recs:
            f.write(json.dumps(rec) + "\n")


def _say(rec: dict[str, Any]) -> None:
    print(
        f"{rec['label']:28} {rec['mode']:4} seed {rec['seed']}: {rec['msgs']:.2f} msgs/op, "
        f"median {rec['median']} ms, max {rec['max']} ms, valid {rec['valid']}, load {rec['load']}",
        flush=True,
    )


def sweep(configs: list[Config], seeds: list[int], jobs: int, missing: bool) -> None:
    """--sim runs are deterministic and independent of load: run them in parallel."""
    runs = load() if missing else {}
    tasks = [(c, "sim", s) for c in configs for s in seeds if _key(c, "sim", s) not in runs]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for rec in pool.map(lambda t: measure(*t), tasks):
            _say(rec)
            record([rec])


def mean_of(
    runs: dict[str, dict[str, Any]], config: Config, mode: str, seeds: list[int]
) -> dict[str, Any] | None:
    recs = [runs.get(_key(config, mode, s)) for s in seeds]
    got = [r for r in recs if r is not None]
    if len(got) < len(seeds) or any(r["msgs"] is None or r["max"] is None for r in got):
        return None
    out: dict[str, Any] = {name: statistics.mean(r[name] for r in got) for name in KEYS}
    out["valid"] = sum(r["valid"] for r in got)
    out["n"] = len(got)
    out["load"] = max(r["load"] for r in got)
    return out


def frontier(points: dict[Config, dict[str, Any]]) -> list[Config]:
    """Partition-safe, valid configurations no other such one beats on both msgs/op and max."""
    safe = {c: p for c, p in points.items() if c.acks and p["valid"] == p["n"]}
    return [
        c
        for c, p in safe.items()
        if not any(
            q["msgs"] <= p["msgs"] and q["max"] <= p["max"] and (q["msgs"], q["max"]) != (p["msgs"], p["max"])
            for q in safe.values()
        )
    ]


#: along the frontier, from the fastest point on, a point is marked (and confirmed in real mode)
#: when its msgs/op is at most this fraction of the last marked one's: a handful of points that
#: span the curve, rather than every step of the sweep
THIN = 0.75


def marked(points: dict[Config, dict[str, Any]], pareto: list[Config]) -> list[Config]:
    chosen: list[Config] = []
    for c in sorted(pareto, key=lambda c: (points[c]["max"], points[c]["msgs"])):
        if not chosen or points[c]["msgs"] <= THIN * points[chosen[-1]]["msgs"]:
            chosen.append(c)
    if DEFAULT in points and DEFAULT not in chosen:
        chosen.append(DEFAULT)  # the challenge's own configuration is always confirmed
    return chosen


def plot(
    points: dict[Config, dict[str, Any]],
    pareto: list[Config],
    chosen: list[Config],
    real: dict[Config, dict[str, Any]],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, 2, figsize=(11, 5), dpi=80, sharex=True)
    families = sorted({c.family for c in points}, key=lambda f: [c.family for c in SWEEP].index(f))
    colours = dict(zip(families, plt.get_cmap("tab10").colors, strict=False))
    for ax, stat, title in (
        (axes[0], "median", "median stable latency"),
        (axes[1], "max", "max stable latency"),
    ):
        for name, msgs, median, top, colour in (
            ("3e", 20, 1000, 2000, "tab:orange"),
            ("3d", 30, 400, 600, "tab:green"),
        ):
            limit = median if stat == "median" else top
            ax.add_patch(Rectangle((0.1, 0), msgs - 0.1, limit, fill=True, alpha=0.07, color=colour, lw=0))
            ax.add_patch(Rectangle((0.1, 0), msgs - 0.1, limit, fill=False, color=colour, lw=1.2, ls="--"))
            text = f"Fly.io {name}: < {msgs} msgs/op, < {limit} ms"
            ax.text(0.32, limit * 0.985, text, ha="left", va="top", fontsize=7.5, color=colour)
        for family in families:
            cs = sorted((c for c in points if c.family == family), key=lambda c: points[c]["msgs"])
            xs = [points[c]["msgs"] for c in cs]
            ys = [points[c][stat] for c in cs]
            ls = "-" if family != "topology:tree4" and family != "topology:grid" else "none"
            ax.plot(xs, ys, marker="o", ms=3.5, ls=ls, lw=0.8, color=colours[family], label=family)
        front = sorted(pareto, key=lambda c: points[c]["msgs"])
        ax.plot(
            [points[c]["msgs"] for c in front], [points[c][stat] for c in front],
            ls=":", lw=1.5, color="black", alpha=0.6, label="frontier (msgs/op vs max)",
        )  # fmt: skip
        ax.plot(
            [points[c]["msgs"] for c in chosen], [points[c][stat] for c in chosen],
            ls="none", marker="o", ms=9, mfc="none", mec="black", mew=1.2, label="marked: confirmed in real mode",
        )  # fmt: skip
        ax.plot(
            [r["msgs"] for r in real.values()], [r[stat] for r in real.values()],
            ls="none", marker="+", ms=9, mew=1.5, color="red", label="real mode, same seeds",
        )  # fmt: skip
        ax.plot(
            [points[DEFAULT]["msgs"]], [points[DEFAULT][stat]], ls="none", marker="*", ms=14,
            color="gold", mec="black", label="main.py as committed",
        )  # fmt: skip
        for who, msgs, median, top, note, (dx, dy) in PUBLISHED:
            y = median if stat == "median" else top
            ax.plot([msgs], [y], ls="none", marker="X", ms=7, color="black")
            ha = "left" if dx > 0 else "right"
            ax.annotate(
                f"{who}{note}", (msgs, y), xytext=(dx, dy), textcoords="offset points", fontsize=7, ha=ha
            )
        ax.set_xscale("log")
        ax.set_xlim(0.3, 32)
        ax.set_ylim(0, 2200)
        ax.set_xlabel("server msgs/op (log)")
        ax.set_ylabel(f"{title}, ms")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
    axes[0].legend(fontsize=6.5, loc="upper right", ncol=2)
    fig.suptitle(
        "3d/3e: 25 nodes, 100 ms per hop, 100 ops/s, 20 s (--sim, mean of seeds 1-3; X = published)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(PLOT, dpi=80, pil_kwargs={"optimize": True})
    plt.close(fig)
    print(f"wrote {PLOT.relative_to(ROOT)} ({PLOT.stat().st_size // 1024} kB)")


def _fmt(p: dict[str, Any] | None, stat: str) -> str:
    if p is None:
        return ""
    return f"{p[stat]:.2f}" if stat == "msgs" else f"{p[stat]:.0f}"


def table(
    runs: dict[str, dict[str, Any]],
    points: dict[Config, dict[str, Any]],
    pareto: list[Config],
    chosen: list[Config],
    seeds: list[int],
) -> str:
    lines = [
        "| configuration | acks | sim msgs/op | sim median ms | sim max ms | valid | frontier | "
        "real msgs/op | real median ms | real max ms | real valid | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in sorted(points, key=lambda c: SWEEP.index(c) if c in SWEEP else -1):
        p = points[c]
        real = mean_of(runs, c, "real", seeds)
        mark = "**marked**" if c in chosen else "yes" if c in pareto else ""
        if c == DEFAULT:
            mark += " (main.py)"
        lines.append(
            f"| {c.label} | {'yes' if c.acks else 'no'} | {_fmt(p, 'msgs')} | {_fmt(p, 'median')} | "
            f"{_fmt(p, 'max')} | {p['valid']}/{p['n']} | {mark} | {_fmt(real, 'msgs')} | "
            f"{_fmt(real, 'median')} | {_fmt(real, 'max')} | "
            + (f"{real['valid']}/{real['n']} | {real['load']:.1f} |" if real else " | |")
        )
    return "\n".join(lines)


def confirmations(
    runs: dict[str, dict[str, Any]],
    points: dict[Config, dict[str, Any]],
    chosen: list[Config],
    seeds: list[int],
) -> str:
    """Per seed: real against sim, for each marked point."""
    lines = [
        "| configuration | seed | sim msgs/op | real | sim median | real | sim max | real | real valid | load "
        "| real delivery lateness p99 ms |"
    ]
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for c in sorted(chosen, key=lambda c: -points[c]["msgs"]):
        for s in seeds:
            sim, real = runs.get(_key(c, "sim", s)), runs.get(_key(c, "real", s))
            if sim is None or real is None:
                continue
            lines.append(
                f"| {c.label} | {s} | {sim['msgs']:.2f} | {real['msgs']:.2f} | {sim['median']} | "
                f"{real['median']} | {sim['max']} | {real['max']} | {real['valid']} | {real['load']} | "
                f"{real.get('lateness_p99', '')} |"
            )
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = README.read_text()
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"{README} has no {BEGIN} ... {END} section")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
    print(f"wrote the table into {README.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-3", help="seeds, as 1-3 or 1,2,5 (default 1-3)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="parallel --sim runs")
    parser.add_argument(
        "--confirm", action="store_true", help="real mode for the marked points, one at a time"
    )
    parser.add_argument("--missing", action="store_true", help="sweep only what is not recorded yet")
    parser.add_argument("--plot", action="store_true", help="no runs: plot and table from what is recorded")
    parser.add_argument("--write-readme", action="store_true", help="also put the tables into the README")
    args = parser.parse_args()
    if "-" in args.seeds:
        lo, hi = args.seeds.split("-")
        seeds = list(range(int(lo), int(hi) + 1))
    else:
        seeds = [int(s) for s in args.seeds.split(",")]

    if not args.plot and not args.confirm:
        sweep(SWEEP, seeds, args.jobs, args.missing)
    runs = load()
    points = {c: p for c in SWEEP if (p := mean_of(runs, c, "sim", seeds)) is not None}
    pareto = frontier(points)
    chosen = marked(points, pareto)
    if args.confirm:
        for c in sorted(chosen, key=lambda c: points[c]["msgs"]):
            for s in seeds:  # one at a time: real mode is timing-sensitive
                rec = measure(c, "real", s)
                _say(rec)
                record([rec])
        runs = load()
    if DEFAULT in points:
        real = {c: r for c in chosen if (r := mean_of(runs, c, "real", seeds)) is not None}
        plot(points, pareto, chosen, real)
    text = table(runs, points, pareto, chosen, seeds) + "\n\nReal mode against --sim, seed by seed:\n\n"
    text += confirmations(runs, points, chosen, seeds)
    print(text)
    if args.write_readme:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
