"""The broken nodes the suite has, as sweeps for the shrinking tests and scripts/bench_shrink.py:
each a name, the ``maelstrom test`` words (no seed, no store; --sim is added) and the failure
kind (harness.shrink.verdict) its failing runs show."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODES = ROOT / "tests" / "nodes"


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    words: tuple[str, ...]
    kind: str
    #: the faults the bug needs (the shrunk run keeps at least one of each)
    needs: tuple[str, ...] = ()


def _kafka_skip_program() -> Path:
    """tests/test_kafka_workload.py's log that skips every other message, as a file."""
    from tests.test_kafka_workload import BROKEN

    path = Path(tempfile.gettempdir()) / "maelstrom-kafka-skip-node.py"
    text = BROKEN.format(root=str(ROOT))
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


def cases() -> list[Case]:
    partition = ("--nemesis", "partition", "--nemesis-interval", "2", "--recovery-time", "5")
    return [
        Case(
            "lin-kv-stale",
            "lin-kv store serving reads from a stale local copy",
            ("-w", "lin-kv", "--bin", str(NODES / "lin_kv_node.py"), "stale", "--node-count", "2",
             "--concurrency", "2n", "--time-limit", "20", "--rate", "20"),
            "non-linearizable key",
        ),
        Case(
            "kafka-skip",
            "kafka log whose polls skip every other message",
            ("-w", "kafka", "--bin", str(_kafka_skip_program()), "--node-count", "1", "--concurrency", "2n",
             "--time-limit", "10", "--rate", "50", "--recovery-time", "5"),
            "error int-poll-skip",
        ),
        Case(
            "g-set-replace",
            "g-set replacing its set on merge",
            ("-w", "g-set", "--bin", str(NODES / "crdt_node.py"), "gset-replace", "--node-count", "3",
             "--rate", "20", "--time-limit", "20", *partition),
            "lost elements",
            ("partition",),
        ),
        Case(
            "pn-counter-max",
            "pn-counter merging net counts by max",
            ("-w", "pn-counter", "--bin", str(NODES / "crdt_node.py"), "pn-max", "--node-count", "3",
             "--rate", "20", "--time-limit", "20", *partition),
            "final read outside the acceptable sums",
        ),
        Case(
            "g-counter-stale",
            "g-counter trusting stale seq-kv reads (grow-only-counter/naive.py)",
            ("-w", "g-counter", "--bin", str(ROOT / "grow-only-counter" / "naive.py"), "--node-count", "3",
             "--rate", "20", "--time-limit", "20", *partition),
            "final read outside the acceptable sums",
        ),
        Case(
            "broadcast-no-retry",
            "broadcast without retries (3a's node on 5 nodes) under partitions",
            ("-w", "broadcast", "--bin", str(ROOT / "single-node-broadcast" / "main.py"), "--node-count", "5",
             "--rate", "10", "--time-limit", "20", *partition),
            "lost elements",
            ("partition",),
        ),
        Case(
            "txn-dirty-g1c",
            "txn-list-append store with dirty reads (G1c)",
            ("-w", "txn-list-append", "--bin", str(NODES / "dirty_txn_node.py"), "--node-count", "1",
             "--concurrency", "10n", "--time-limit", "10", "--rate", "100", "--max-txn-length", "2",
             "--key-count", "3"),
            "anomaly G1c",
        ),
        Case(
            "g-set-memory-kill",
            "g-set node that keeps its set only in memory, under kill",
            ("-w", "g-set", "--bin", str(NODES / "gset_node.py"), "memory", "--node-count", "3",
             "--rate", "20", "--time-limit", "20", "--nemesis", "kill", "--nemesis-interval", "2",
             "--recovery-time", "5"),
            "lost elements",
            ("kill",),
        ),
    ]  # fmt: skip
