"""What the journal snapshots of engines.gossip, engines.kafka and engines.txn cost for a large state.

For each store, the same operations run twice on a journal without fsync (so the figures are CPU,
not the disk; ``--fsync`` syncs every commit, as a node does): once never compacting, once compacting from ``--compact-bytes`` on. Printed: the
time of the operations each way and their ratio (what compaction costs in all, snapshots taken at
geometrically spaced sizes included), how many snapshots were taken and compactions done, the
time one snapshot of the final state takes to encode and its size, and the journal's size and
replay time each way.

    .venv/bin/python scripts/bench_snapshots.py [--ops 300000] [--compact-bytes 1048576] [--fsync]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.durable import Journal, encode_record
from common.protocol import Message
from common.testing import FakeNode, SimNet
from engines.gossip import Gossip
from engines.kafka import LocalLogs
from engines.txn import TxnStore


class BenchNode(FakeNode):
    """A FakeNode with what a Journal needs: a data dir, init and commit hooks, a log."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(SimNet(latency=None), "n1", ["n1", "n2"])
        self.data_dir = data_dir
        self.init_hooks: list[Callable[[], Any]] = []
        self.commit_hooks: list[Callable[[], Any]] = []

    def on_init(self, hook: Callable[[], Any]) -> Callable[[], Any]:
        self.init_hooks.append(hook)
        return hook

    def add_commit_hook(self, hook: Callable[[], Any]) -> None:
        self.commit_hooks.append(hook)

    def log(self, *args: Any) -> None:
        pass


def _open(make: Callable[[BenchNode], Any], data_dir: Path, compact_bytes: int) -> tuple[Any, BenchNode]:
    os.environ["MAELSTROM_COMPACT_BYTES"] = str(compact_bytes)
    node = BenchNode(data_dir)
    store = make(node)
    for hook in node.init_hooks:
        hook()
    return store, node


def _ops(kind: str, n: int) -> list[Callable[[Any], Any]]:
    rng = random.Random(1)
    if kind == "gossip":  # n distinct values: the state grows with the journal
        return [lambda g, v=v: g.add(v) for v in rng.sample(range(10 * n), n)]
    if kind == "kafka":  # n sends over 10 keys, a commit after every 10
        ops: list[Callable[[Any], Any]] = []
        for i in range(n):
            key = f"{i % 10}"
            ops.append(lambda s, key=key, i=i: s.append(key, i))
            if i % 10 == 9:
                ops.append(lambda s, key=key, i=i: s.commit({key: i // 10}))
        return ops
    # txn: n transactions of 2 writes over 100k keys, and a peer's sync of 2 after every 4
    txns: list[Callable[[Any], Any]] = []
    for i in range(n):
        txn = [["w", rng.randrange(100_000), i], ["w", rng.randrange(100_000), i]]
        txns.append(lambda s, txn=txn: s.execute(txn))
        if i % 4 == 3:
            writes = [[rng.randrange(100_000), i, i // 2 + 1, "n2"] for _ in range(2)]
            body = {"type": "txn_sync", "writes": writes}
            txns.append(lambda s, body=body: s.on_sync(Message(src="n2", dest="n1", body=body)))
    return txns


MAKERS: dict[str, Callable[[Any], Any]] = {
    "gossip": lambda node: Gossip(node),
    "kafka": lambda node: LocalLogs(100, node),
    "txn": lambda node: TxnStore(node),
}


def bench(kind: str, n: int, compact_bytes: int, root: Path) -> None:
    ops = _ops(kind, n)
    results = {}
    for label, threshold in (("whole", 1 << 50), ("compacting", compact_bytes)):
        data_dir = root / kind / label
        store, _ = _open(MAKERS[kind], data_dir, threshold)
        journal: Journal = store.journal
        snapshots = 0
        real_snapshot = journal.snapshot
        assert real_snapshot is not None

        def counted(real: Callable[[], Any] = real_snapshot) -> Any:
            nonlocal snapshots
            snapshots += 1
            return real()

        journal.snapshot = counted
        start = time.perf_counter()
        for op in ops:
            op(store)
            journal.commit()  # as the node does before its reply
        elapsed = time.perf_counter() - start
        t0 = time.perf_counter()
        snap = b"".join(encode_record(r) for r in real_snapshot())
        snap_time = time.perf_counter() - t0
        journal.close()
        size = (data_dir / "n1" / f"{journal.name}.journal").stat().st_size
        t0 = time.perf_counter()
        again, _ = _open(MAKERS[kind], data_dir, 1 << 50)
        replay = time.perf_counter() - t0
        again.journal.close()
        results[label] = elapsed
        print(
            f"{kind:6} {label:10} ops {len(ops):7} in {elapsed:6.2f} s; snapshots {snapshots:3}, "
            f"compactions {journal.compactions:3}; journal {size / 1e6:7.2f} MB, replay {replay:5.2f} s; "
            f"one snapshot of the final state: {len(snap) / 1e6:6.2f} MB in {snap_time * 1e3:6.1f} ms"
        )
    print(f"{kind:6} compacting / whole time: {results['compacting'] / results['whole']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=300_000, help="operations per store")
    parser.add_argument("--compact-bytes", type=int, default=1 << 20, help="compaction threshold")
    parser.add_argument("--only", choices=sorted(MAKERS), help="one store only")
    parser.add_argument("--fsync", action="store_true", help="fdatasync every commit, as a node does")
    args = parser.parse_args()
    os.environ["MAELSTROM_FSYNC"] = "1" if args.fsync else "0"  # by default CPU, not the disk
    with tempfile.TemporaryDirectory(prefix="bench-snapshots-") as tmp:
        for kind in [args.only] if args.only else sorted(MAKERS):
            bench(kind, args.ops, args.compact_bytes, Path(tmp))


if __name__ == "__main__":
    main()
