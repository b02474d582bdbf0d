"""Swarm testing for seed sweeps (``--test-count N --swarm``): each seed draws its own
configuration, as Groce et al. ("Swarm Testing", ISSTA 2012) switch features on and off per run.

From the seed's own ``swarm`` stream (:func:`harness.interpreter.derive_rngs`, the one seeded
source; it changes no other stream) a seed draws: which of the faults it may use are on (those
``--nemesis`` names, else partition), the mean nemesis interval (1/8x to 2x the given one), the
rate (1/8x to 4x), the latency (0, 1, 5, 20 or 100 ms) and its distribution, and the concurrency
(1, 2 or 4 threads per node, rounded up to what the workload accepts). Node count, time limit and
the workload's own flags stay as given. The drawn flags are printed, and the repro command of a
failing seed carries them explicitly, so it runs without ``--swarm``.
"""

from __future__ import annotations

import random
from dataclasses import replace

from harness.interpreter import derive_rngs
from harness.options import TestOptions
from harness.workloads import REGISTRY

__all__ = ["SWARM_FLAGS", "draw"]

FAULTS = ("partition", "kill", "pause")
LATENCIES = (0, 1, 5, 20, 100)
DISTS = ("constant", "uniform", "exponential")
#: the flags a swarm draws (a failing seed's repro command gives each explicitly)
SWARM_FLAGS = ("--nemesis", "--nemesis-interval", "--rate", "--latency", "--latency-dist", "--concurrency")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3g}"


def _accepts(test: TestOptions, concurrency: int) -> bool:
    try:
        REGISTRY[test.workload](
            replace(test, concurrency=concurrency, nodes=list(test.nodes)), random.Random(0)
        )
    except (ValueError, AssertionError):
        return False
    return True


def draw(test: TestOptions, seed: int) -> tuple[TestOptions, list[str]]:
    """``test`` with this seed's swarm configuration, and that configuration as flags."""
    rng = derive_rngs(seed)["swarm"]
    pool = sorted(test.nemesis) or ["partition"]
    faults = frozenset(f for f in pool if rng.random() < 0.5)
    interval = float(_num(test.nemesis_interval * 2 ** rng.uniform(-3, 1)))
    rate = float(_num(test.rate * 2 ** rng.uniform(-3, 2))) if test.rate > 0 else test.rate
    latency = rng.choice(LATENCIES)
    dist = rng.choice(DISTS)
    n = len(test.nodes)
    concurrency = rng.choice((1, 2, 4)) * n
    while not _accepts(test, concurrency) and concurrency < 64 * n:
        concurrency += n
    if not _accepts(test, concurrency):
        concurrency = test.concurrency
    drawn = replace(
        test,
        nemesis=faults,
        nemesis_interval=interval,
        rate=rate,
        latency_mean=latency,
        latency_dist=dist,
        concurrency=concurrency,
        nodes=list(test.nodes),
    )
    flags = ["--nemesis", ",".join(sorted(faults))] if faults else []
    flags += ["--nemesis-interval", _num(interval), "--rate", _num(rate)]
    flags += ["--latency", str(latency), "--latency-dist", dist, "--concurrency", str(concurrency)]
    return drawn, flags
