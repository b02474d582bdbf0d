"""The challenges: one entry per folder, the one list that every script, table and test reads.

``<folder>/run.sh`` (``maelstrom run-challenge <folder>``), ``scripts/run-all.sh``
(``maelstrom challenges``), the results table (``maelstrom results``), the tests and the README's
table of challenges all come from ``CHALLENGES``. A challenge is its folder, Fly.io's number and
title, Fly.io's test flags (without ``--bin``: the node is always ``<folder>/main.py``) and the
targets its results must meet beyond "valid".

``python -m harness challenges`` prints the folders in challenge order; ``--markdown`` prints the
README's table (tests/test_challenges.py checks that README.md shows exactly that table).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CHALLENGES",
    "NODE_SHEBANG",
    "ROOT",
    "Challenge",
    "Target",
    "Variant",
    "by_folder",
]

#: the repository root (the package is installed editable from it)
ROOT = Path(__file__).resolve().parents[1]

#: the first line of every <challenge>/main.py: run the file with the repository's venv Python,
#: found from the file's own path (any working directory, no venv activated, also under real
#: Maelstrom, which starts --bin by its canonical path), setting the project up first if the venv
#: is missing (setup's messages go to stderr; stdout is the node's protocol). `env -S` splits the
#: line into words (coreutils 8.30+, macOS, BSD); the kernel allows 255 bytes here (Linux 5.1+).
NODE_SHEBANG = (
    """#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] """
    """|| "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'"""
)


@dataclass(frozen=True, slots=True)
class Target:
    """One requirement on a key figure of a run's results, named by ``key``.

    The keys are those of the ``Figure`` s the checkers' summaries give (``harness/summary.py``,
    e.g. ``lost-count``, ``server-msgs-per-op``); a target only says the bound.
    """

    key: str
    at_most: float | None = None
    at_least: float | None = None
    equals: Any = None

    def met_by(self, value: Any) -> bool:
        if value is None:
            return False
        if self.equals is not None:
            return bool(value == self.equals)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.at_most is not None and not value <= self.at_most:
            return False
        return self.at_least is None or value >= self.at_least


@dataclass(frozen=True, slots=True)
class Variant:
    """A way to run the challenge's node: words for main.py and what the run needs."""

    name: str
    node_args: tuple[str, ...] = ()
    #: run-challenge provides a Redis (REDIS_URL if it answers, else a private redis-server)
    needs_redis: bool = False


DEFAULT_VARIANT = Variant("default")


@dataclass(frozen=True, slots=True)
class Challenge:
    folder: str
    number: str  # Fly.io's numbering: "1", "3d/3e", "6c"
    title: str
    #: Fly.io's ``maelstrom test`` flags for the challenge, ``-w <workload>`` first, without --bin
    flags: tuple[str, ...]
    targets: tuple[Target, ...] = ()
    #: the first is what run.sh runs by default
    variants: tuple[Variant, ...] = (DEFAULT_VARIANT,)
    #: anything about the flags a reader must know
    note: str = ""

    @property
    def workload(self) -> str:
        return self.flags[1]

    @property
    def name(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def main_py(self) -> Path:
        return ROOT / self.folder / "main.py"

    def variant(self, name: str | None = None) -> Variant:
        if name is None:
            return self.variants[0]
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(
            f"{self.folder} has no variant {name!r} (it has {', '.join(v.name for v in self.variants)})"
        )

    def command(self, bin_path: str = "./main.py", prog: str = "maelstrom") -> str:
        """The test command as Fly.io writes it, with ``prog`` for maelstrom and this ``--bin``."""
        flags = list(self.flags)
        return shlex.join([prog, "test", *flags[:2], "--bin", bin_path, *flags[2:]])


TXN_TOTAL = (Target("availability", at_least=1), Target("anomaly-count", at_most=0))
KAFKA = (Target("bad-error-count", at_most=0),)
BROADCAST = (Target("lost-count", at_most=0),)

CHALLENGES: tuple[Challenge, ...] = (
    Challenge("echo", "1", "Echo", ("-w", "echo", "--node-count", "1", "--time-limit", "10")),
    Challenge(
        "unique-id-generation",
        "2",
        "Unique IDs",
        ("-w", "unique-ids", "--time-limit", "30", "--rate", "1000", "--node-count", "3",
         "--availability", "total", "--nemesis", "partition"),
        (Target("availability", at_least=1), Target("duplicated-count", at_most=0)),
        variants=(Variant("redis", ("redis",), needs_redis=True), Variant("local", ("local",))),
    ),
    Challenge(
        "single-node-broadcast",
        "3a",
        "Single-node broadcast",
        ("-w", "broadcast", "--node-count", "1", "--time-limit", "20", "--rate", "10"),
        BROADCAST,
    ),
    Challenge(
        "multi-node-broadcast",
        "3b",
        "Multi-node broadcast",
        ("-w", "broadcast", "--node-count", "5", "--time-limit", "20", "--rate", "10"),
        BROADCAST,
    ),
    Challenge(
        "fault-tolerant-broadcast",
        "3c",
        "Fault-tolerant broadcast",
        ("-w", "broadcast", "--node-count", "5", "--time-limit", "20", "--rate", "10", "--nemesis", "partition"),
        BROADCAST,
    ),
    Challenge(
        "efficient-broadcast",
        "3d/3e",
        "Efficient broadcast",
        ("-w", "broadcast", "--node-count", "25", "--time-limit", "20", "--rate", "100", "--latency", "100"),
        (
            *BROADCAST,
            Target("server-msgs-per-op", at_most=5),
            Target("stable-latency-median", at_most=250),
            Target("stable-latency-max", at_most=450),
        ),
    ),
    Challenge(
        "grow-only-counter",
        "4",
        "Grow-only counter",
        ("-w", "g-counter", "--node-count", "3", "--rate", "100", "--time-limit", "20", "--nemesis", "partition"),
        (Target("final-reads-exact", equals=True), Target("server-msgs-per-op", at_most=0.5)),
    ),
    Challenge(
        "single-node-kafka-style-log",
        "5a",
        "Single-node log",
        ("-w", "kafka", "--node-count", "1", "--concurrency", "2n", "--time-limit", "20", "--rate", "1000"),
        KAFKA,
    ),
    Challenge(
        "multi-node-kafka-style-log",
        "5b",
        "Multi-node log",
        ("-w", "kafka", "--node-count", "2", "--concurrency", "2n", "--time-limit", "20", "--rate", "1000"),
        KAFKA,
    ),
    Challenge(
        "efficient-kafka-style-log",
        "5c",
        "Efficient log",
        ("-w", "kafka", "--node-count", "2", "--concurrency", "2n", "--time-limit", "20", "--rate", "1000"),
        (*KAFKA, Target("server-msgs-per-op", at_most=1.0)),
    ),
    Challenge(
        "single-node-totally-available-transactions",
        "6a",
        "Single-node transactions",
        ("-w", "txn-rw-register", "--node-count", "1", "--time-limit", "20", "--rate", "1000",
         "--concurrency", "2n", "--consistency-models", "read-uncommitted", "--availability", "total"),
        TXN_TOTAL,
    ),
    Challenge(
        "totally-available-read-uncommitted-transactions",
        "6b",
        "Read-uncommitted transactions",
        ("-w", "txn-rw-register", "--node-count", "2", "--concurrency", "2n", "--time-limit", "20",
         "--rate", "1000", "--consistency-models", "read-uncommitted", "--availability", "total",
         "--nemesis", "partition"),
        TXN_TOTAL,
    ),
    Challenge(
        "totally-available-read-committed-transactions",
        "6c",
        "Read-committed transactions",
        ("-w", "txn-rw-register", "--node-count", "2", "--concurrency", "2n", "--time-limit", "20",
         "--rate", "1000", "--consistency-models", "read-committed", "--availability", "total",
         "--nemesis", "partition"),
        TXN_TOTAL,
        note="Fly.io's page prints the last flag with an en dash (`–-nemesis`), which real Maelstrom "
        "passes to the node as two words, so that run has no partitions; we use the flag the "
        "challenge intends.",
    ),
    Challenge(
        "raft-lin-kv",
        "M6",
        "Raft key-value store (Maelstrom's chapter 6)",
        ("-w", "lin-kv", "--node-count", "3", "--concurrency", "4n", "--rate", "30", "--time-limit", "60",
         "--nemesis", "partition", "--nemesis-interval", "10"),
        variants=(Variant("relay"), Variant("no-relay", ("no-relay",))),
        note="Maelstrom's own tutorial, not Fly.io's: its final command; the chapter's harder one adds "
        "`--concurrency 10n --rate 100 --nemesis-interval 3 --test-count 5`. The no-relay variant turns "
        "off relaying around one-way partitions (see its README).",
    ),
)  # fmt: skip


def by_folder(name: str | Path) -> Challenge:
    """The challenge of a folder name or path (``echo``, ``./echo``, ``/abs/echo/``)."""
    folder = Path(os.path.abspath(name)).name
    for c in CHALLENGES:
        if c.folder == folder:
            return c
    raise KeyError(
        f"{name!r} is not a challenge folder (expected one of: {', '.join(c.folder for c in CHALLENGES)})"
    )
