"""Jepsen-style perf graphs with matplotlib (jepsen-io/jepsen, jepsen/src/jepsen/checker/perf.clj).

- latency-raw.png: one point per client invocation at its invocation time; latency in ms on a
  log scale; colour by completion type, marker by f.
- latency-quantiles.png: per 30 s bucket of invocation time, quantiles 0.5 0.95 0.99 1 per f.
- rate.png: completions per second in 10 s buckets, per f and type.
Fault intervals (``harness.fault_intervals.faults_by_kind``) are shaded as Jepsen's perf plots do: one
band per kind present (partition, kill, pause, in that order), 1/12 of the plot's height each,
stacked from the top, in Jepsen's colours, translucent, with a legend entry.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from harness.checkers.core import QUANTILES, pairs, quantile
from harness.fault_intervals import FAULT_COLORS, faults_by_kind
from harness.history import FAIL, INFO, OK, Op
from harness.options import TestOptions

__all__ = ["write_plots"]

TYPE_COLORS = {OK: "#81BFFC", INFO: "#FFA400", FAIL: "#FF1E90"}
#: height of one fault kind's band, as a fraction of the plot (Jepsen perf: 1/12)
BAND = 1 / 12
MARKERS = ["o", "s", "^", "v", "D", "P", "X", "*"]
QUANTILE_BUCKET_S = 30.0
RATE_BUCKET_S = 10.0


Spans = list[tuple[str, float, float]]


def _fault_spans(history: list[Op]) -> Spans:
    """(kind, start s, end s) of every fault; one never stopped lasts until the last op."""
    last = max((op.time for op in history), default=0)
    return [
        (kind, iv.start / 1e9, (last if iv.end is None else iv.end) / 1e9)
        for kind, intervals in faults_by_kind(history).items()
        for iv in intervals
    ]


def _shade(ax: plt.Axes, spans: Spans) -> None:
    kinds = [k for k in FAULT_COLORS if any(kind == k for kind, _, _ in spans)]
    labelled: set[str] = set()
    for kind, a, b in spans:
        band = kinds.index(kind)
        ax.axvspan(
            a,
            b,
            ymin=1 - (band + 1) * BAND,
            ymax=1 - band * BAND,
            color=FAULT_COLORS[kind],
            alpha=0.6,
            lw=0,
            label=None if kind in labelled else kind,
        )
        labelled.add(kind)


def _finish(fig: plt.Figure, ax: plt.Axes, title: str, ylabel: str, path: Path) -> None:
    ax.set_title(title)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    # A fixed layout with room for the legend: bbox_inches="tight" would draw everything twice.
    fig.subplots_adjust(left=0.08, right=0.78, bottom=0.13, top=0.9)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_plots(history: list[Op], test: TestOptions, out_dir: str | Path) -> list[Path]:
    """Write latency-raw.png, latency-quantiles.png and rate.png into ``out_dir``; return the paths.

    Faults (from the history's nemesis ops) are shaded."""
    out_dir = Path(out_dir)
    partitions = _fault_spans(history)
    name = test.workload
    # (f, type) -> ([invocation time s], [latency ms])
    points: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for inv, comp in pairs(history):
        if comp is None:
            continue
        xs, ys = points.setdefault((str(inv.f), comp.type), ([], []))
        xs.append(inv.time / 1e9)
        ys.append(max((comp.time - inv.time) / 1e6, 1e-3))  # log scale: keep zero latencies visible
    fs = sorted({f for f, _ in points})
    marker = {f: MARKERS[i % len(MARKERS)] for i, f in enumerate(fs)}
    written = []

    fig, ax = plt.subplots(figsize=(11, 4))
    _shade(ax, partitions)
    for (f, t), (xs, ys) in sorted(points.items()):
        # plot() with markers only: far faster than scatter() for tens of thousands of points
        ax.plot(
            xs,
            ys,
            ls="none",
            marker=marker[f],
            ms=2.5,
            mew=0,
            color=TYPE_COLORS.get(t, "#888888"),
            label=f"{f} {t}",
        )
    ax.set_yscale("log")
    path = out_dir / "latency-raw.png"
    _finish(fig, ax, f"{name} latency", "Latency (ms)", path)
    written.append(path)

    fig, ax = plt.subplots(figsize=(11, 4))
    _shade(ax, partitions)
    for f in fs:
        xs, ys = points.get((f, OK), ([], []))
        buckets: dict[int, list[float]] = {}
        for x, y in zip(xs, ys, strict=True):
            buckets.setdefault(int(x // QUANTILE_BUCKET_S), []).append(y)
        centers = sorted(buckets)
        for q in QUANTILES:
            qs = [quantile(sorted(buckets[b]), q) for b in centers]
            mid = [(b + 0.5) * QUANTILE_BUCKET_S for b in centers]
            ax.plot(mid, qs, marker=marker[f], ms=4, label=f"{f} {q}")
    ax.set_yscale("log")
    path = out_dir / "latency-quantiles.png"
    _finish(fig, ax, f"{name} latency quantiles", "Latency (ms)", path)
    written.append(path)

    fig, ax = plt.subplots(figsize=(11, 4))
    _shade(ax, partitions)
    completions: dict[tuple[str, str], dict[int, int]] = {}
    for op in history:
        if isinstance(op.process, int) and op.type in TYPE_COLORS:
            per = completions.setdefault((str(op.f), op.type), {})
            b = int(op.time / 1e9 // RATE_BUCKET_S)
            per[b] = per.get(b, 0) + 1
    for (f, t), per in sorted(completions.items()):
        bs = sorted(per)
        ax.plot(
            [(b + 0.5) * RATE_BUCKET_S for b in bs],
            [per[b] / RATE_BUCKET_S for b in bs],
            color=TYPE_COLORS[t],
            marker=marker.get(f, "o"),
            ms=4,
            label=f"{f} {t}",
        )
    path = out_dir / "rate.png"
    _finish(fig, ax, f"{name} rate", "Throughput (hz)", path)
    written.append(path)
    return written
