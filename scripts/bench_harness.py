"""``scripts/bench-harness.sh``: can the runner keep up with 3 trivial nodes at --rate 1000?

It measures, on this machine and at this moment:

1. the bare round trip of one ``generate`` request over pipes to the trivial node, with a
   blocking loop and no harness (the floor any runner pays: two pipe hops and the node);
2. a full ``unique-ids`` run through the harness (3 nodes, --rate 1000, default 10 s):
   achieved rate (invocations / time limit) and op latency quantiles.

Harness-added latency = op latency − bare round trip (p50 each). Targets: achieved rate ≥ 97 %
of the requested rate and harness-added p50 ≤ 1 ms. The trivial node is scripts/bench_nodes/trivial_node.c
when a C compiler is available (a node that costs microseconds), else scripts/bench_nodes/trivial_node.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.checkers.core import pairs, quantile
from harness.edn import read_history
from harness.options import TestOptions, parse_concurrency
from harness.run import RunConfig, run_once
from harness.runtime import ProcessRuntime

NODES = Path(__file__).resolve().parent / "bench_nodes"
C_NODE = NODES / "trivial_node.c"
PY_NODE = NODES / "trivial_node.py"


def trivial_node(workdir: Path) -> list[str]:
    """argv of the cheapest node available: compiled C if possible."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        out = workdir / "trivial_node"
        result = subprocess.run([cc, "-O2", "-o", str(out), str(C_NODE)], capture_output=True, text=True)
        if result.returncode == 0:
            return [str(out)]
        print(f"(could not compile {C_NODE}: {result.stderr.strip()}; using Python)", file=sys.stderr)
    return [sys.executable, str(PY_NODE)]


def bare_round_trips(argv: list[str], count: int = 3000) -> list[float]:
    """Round-trip times (ms) of sequential requests over pipes, with no harness in between."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=tempfile.gettempdir())
    assert proc.stdin is not None and proc.stdout is not None
    try:
        init = b'{"id":0,"src":"c0","dest":"n0","body":{"type":"init","node_id":"n0","node_ids":["n0"],"msg_id":1}}\n'
        proc.stdin.write(init)
        proc.stdin.flush()
        proc.stdout.readline()
        times = []
        for i in range(count):
            line = b'{"id":%d,"src":"c1","dest":"n0","body":{"type":"generate","msg_id":%d}}\n' % (
                i + 1,
                i + 1,
            )
            t = time.perf_counter()
            proc.stdin.write(line)
            proc.stdin.flush()
            proc.stdout.readline()
            times.append((time.perf_counter() - t) * 1000)
        return times
    finally:
        proc.kill()
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_harness.py", description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--concurrency", default="1n", help="N or Kn (default 1n, as Maelstrom)")
    parser.add_argument("--node-count", type=int, default=3)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        workdir = Path(tmp)
        node = trivial_node(workdir)
        bare = bare_round_trips(node)
        nodes = [f"n{i}" for i in range(args.node_count)]
        concurrency = parse_concurrency(args.concurrency, len(nodes))
        test = TestOptions(
            workload="unique-ids", bin=node[0], args=node[1:], node_count=len(nodes), nodes=nodes,
            concurrency=concurrency, time_limit=args.time_limit, rate=args.rate, seed=1,
            store=str(workdir / "store"),
        )  # fmt: skip
        config = RunConfig(plots=False, progress_stream=open(os.devnull, "w"), log_ops=False)  # noqa: SIM115
        t = time.monotonic()
        code = ProcessRuntime().run(run_once(test, config))
        wall = time.monotonic() - t
        config.progress_stream.close()
        run_dir = (workdir / "store" / "latest").resolve()
        history = read_history(run_dir / "history.edn")
        invokes = sum(1 for op in history if op.type == "invoke")
        latencies = [(c.time - i.time) / 1e6 for i, c in pairs(history) if c is not None and c.type == "ok"]

    achieved = invokes / args.time_limit
    bare.sort()
    latencies.sort()
    bare_p50 = statistics.median(bare)
    op_p50 = quantile(latencies, 0.5)
    added_p50 = op_p50 - bare_p50
    load = os.getloadavg()
    print(
        f"node: {' '.join(Path(a).name for a in node)}; load average {load[0]:.2f} {load[1]:.2f} on {os.cpu_count()} cpus"
    )
    print(f"bare pipe round trip: p50 {bare_p50:.3f} ms, p99 {quantile(bare, 0.99):.3f} ms")
    print(
        f"harness run: exit {code}, {invokes} ops in {args.time_limit:g} s = {achieved:.0f}/s "
        f"({100 * achieved / args.rate:.1f}% of {args.rate:g}), concurrency {concurrency}, wall {wall:.1f} s"
    )
    print(
        f"op latency ms: p50 {op_p50:.3f}  p95 {quantile(latencies, 0.95):.3f}  "
        f"p99 {quantile(latencies, 0.99):.3f}  max {max(latencies):.3f}"
    )
    print(f"harness-added p50: {added_p50:.3f} ms")
    ok = code == 0 and achieved >= 0.97 * args.rate and added_p50 <= 1.0
    print(
        "PASS" if ok else "FAIL", "(targets: achieved >= 97% of rate, harness-added p50 <= 1 ms, valid run)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
