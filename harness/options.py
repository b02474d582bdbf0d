"""A test's parameters: what ``maelstrom test`` parses from its command line.

The CLI (``harness.cli``) builds a :class:`TestOptions` from arguments with Maelstrom's defaults;
``harness analyze`` builds one from a stored run's ``test.json``. Workloads and checkers read
only this object, never ``argparse`` results.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_NODES = ["n1", "n2", "n3", "n4", "n5"]
#: The Elle whose rules the transactional checkers follow (``--elle``). 0.2.7 reads ``[:r k nil]``
#: as a definite "no value" (jepsen-io/elle commit 8a5e27b); 0.2.2 is the Elle Maelstrom checks
#: with (through Jepsen 0.3.7), and gives Maelstrom's verdict exactly.
ELLE_VERSIONS = ("0.2.7", "0.2.2")
MAELSTROM_ELLE = "0.2.2"
_CONCURRENCY = re.compile(r"(\d+)(n?)")


def parse_concurrency(text: str, node_count: int) -> int:
    """Maelstrom's ``--concurrency``: ``N`` worker threads, or ``Kn`` for K per node.

    Raises ValueError for anything else.
    """
    m = _CONCURRENCY.fullmatch(text)
    if m is None:
        raise ValueError(f"concurrency {text!r}: must be an integer, optionally followed by n")
    return int(m[1]) * node_count if m[2] else int(m[1])


@dataclass(slots=True)
class TestOptions:
    workload: str = "lin-kv"
    bin: str | None = None
    args: list[str] = field(default_factory=list)
    node_count: int | None = None
    nodes: list[str] = field(default_factory=lambda: list(DEFAULT_NODES))
    concurrency: int = 5
    time_limit: float = 60.0
    rate: float = 5.0
    latency_mean: int = 0  # ms
    latency_dist: str = "constant"  # constant | uniform | exponential
    nemesis: frozenset[str] = frozenset()
    nemesis_interval: float = 10.0
    availability: str | float | None = None  # None, "total" or a fraction in [0, 1]
    consistency_models: list[str] = field(default_factory=lambda: ["strict-serializable"])
    topology: str = "grid"
    key_count: int | None = None
    max_txn_length: int = 4
    max_writes_per_key: int = 16
    log_stderr: bool = False
    log_net_send: bool = False
    log_net_recv: bool = False
    test_count: int = 1
    seed: int | None = None
    store: str = "store"
    elle: str = ELLE_VERSIONS[0]

    def to_json(self) -> dict[str, Any]:
        """The parameters as ``test.json`` holds them (keys as Maelstrom's option names)."""
        d = asdict(self)
        d["nemesis"] = sorted(self.nemesis)
        out = {k.replace("_", "-"): v for k, v in d.items()}
        out["latency"] = {"mean": self.latency_mean, "dist": self.latency_dist}
        del out["latency-mean"], out["latency-dist"]
        return out

    @classmethod
    def from_test_json(cls, data: dict[str, Any]) -> TestOptions:
        """Read ``test.json``: ours, or the corpus's in ``tests/data/maelstrom-runs`` (keywords as ``":x"``)."""

        def name(v: Any) -> Any:
            return v[1:] if isinstance(v, str) and v.startswith(":") else v

        latency = data.get("latency") or {}
        latency = {name(k): name(v) for k, v in latency.items()} if isinstance(latency, dict) else {}
        nodes = list(data.get("nodes") or DEFAULT_NODES)
        availability = name(data.get("availability"))
        return cls(
            workload=name(data.get("workload", "lin-kv")),
            bin=data.get("bin"),
            args=list(data.get("args") or []),
            node_count=data.get("node-count"),
            nodes=nodes,
            concurrency=int(data.get("concurrency") or len(nodes)),
            time_limit=float(data.get("time-limit", 60)),
            rate=float(data.get("rate", 5)),
            latency_mean=int(latency.get("mean", 0) or 0),
            latency_dist=str(latency.get("dist", "constant")),
            nemesis=frozenset(name(x) for x in data.get("nemesis") or []),
            nemesis_interval=float(data.get("nemesis-interval", 10)),
            availability=availability,
            consistency_models=[name(m) for m in data.get("consistency-models") or ["strict-serializable"]],
            topology=name(data.get("topology", "grid")),
            key_count=data.get("key-count"),
            max_txn_length=int(data.get("max-txn-length", 4)),
            max_writes_per_key=int(data.get("max-writes-per-key", 16)),
            seed=data.get("seed"),
            elle=str(data.get("elle", ELLE_VERSIONS[0])),
        )

    @classmethod
    def load(cls, path: Path) -> TestOptions:
        return cls.from_test_json(json.loads(Path(path).read_text()))
