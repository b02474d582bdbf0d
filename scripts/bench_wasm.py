"""WebAssembly nodes (harness/wasm): speed and memory of the simulation host, each figure next to
a baseline measured in the same run.

1. Echo round trips/s through the simulation host (one message in, its reply out, one turn of
   the node each) against the same module under stock WASI (wasmtime's WasiConfig, in a
   process of its own, one line at a time over pipes). Target >= 0.7x; aim >= 3,000/s.
2. The example broadcast node at 3d's flags (25 nodes, --rate 100 --latency 100 --time-limit 20)
   under --sim: virtual time of the run against its wall time. Target >= 2x faster than real time.
3. RSS per node instance: 25 broadcast instances started and initialised. Target <= 10 MB.
4. Start of a cached second run: loading the compiled module from the cache, and one instance
   from instantiation to its init_ok. Target < 1 s.

    scripts/bench-wasm.sh                # all four
    scripts/bench-wasm.sh --echo 5000    # more echo round trips
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from gowasm import EXAMPLES, build, sim_instance  # noqa: E402

from harness.wasm.engine import load_module  # noqa: E402

STOCK_WASI = """
import sys, wasmtime
engine = wasmtime.Engine()
module = wasmtime.Module.from_file(engine, sys.argv[1])
linker = wasmtime.Linker(engine)
linker.define_wasi()
store = wasmtime.Store(engine)
wasi = wasmtime.WasiConfig()
wasi.inherit_stdin(); wasi.inherit_stdout(); wasi.inherit_stderr()
store.set_wasi(wasi)
try:
    linker.instantiate(store, module).exports(store)["_start"](store)
except wasmtime.ExitTrap:
    pass
"""


def sim_host(module: Any, node_id: str) -> Any:
    return sim_instance(module, node_id)


def line(body: str) -> bytes:
    return b'{"src":"c1","dest":"n1","body":' + body.encode() + b"}\n"


INIT = line('{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}')


def _child_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def echo_sim(wasm: Path, count: int) -> tuple[float, float]:
    """(round trips per wall second, per CPU second of this process)."""
    module = load_module(wasm)
    host = sim_host(module, "n1")
    host.stdin += INIT
    host.resume()
    host.output.clear()
    messages = [line(f'{{"type":"echo","msg_id":{k + 2},"echo":"hello {k}"}}') for k in range(count)]
    start, cpu = time.perf_counter(), time.process_time()
    for msg in messages:
        host.stdin += msg
        host.resume()
        assert host.output, "no reply"
        host.output.clear()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    host.kill()
    return count / elapsed, count / cpu


def echo_stock(wasm: Path, count: int) -> tuple[float, float]:
    """(round trips per wall second, per CPU second of this process and the node's together)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", STOCK_WASI, str(wasm)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=0,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(INIT)
    proc.stdout.readline()
    messages = [line(f'{{"type":"echo","msg_id":{k + 2},"echo":"hello {k}"}}') for k in range(count)]
    start, cpu = time.perf_counter(), time.process_time() + _child_cpu(proc.pid)
    for msg in messages:
        proc.stdin.write(msg)
        proc.stdout.readline()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() + _child_cpu(proc.pid) - cpu
    proc.stdin.close()
    proc.wait(timeout=30)
    return count / elapsed, count / cpu


def rss_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


def rss_per_instance(wasm: Path, count: int) -> float:
    module = load_module(wasm)
    ids = [f"n{k}" for k in range(count)]
    warm = sim_host(module, "warm")  # the first instance pays one-off costs (code pages, threads)
    warm.stdin += INIT
    warm.resume()
    before = rss_kb()
    hosts = []
    for node in ids:
        host = sim_host(module, node)
        init = f'{{"type":"init","msg_id":1,"node_id":"{node}","node_ids":{ids!r}}}'.replace("'", '"')
        host.stdin += line(init)
        host.resume()
        assert host.output, f"{node}: no init_ok"
        hosts.append(host)
    after = rss_kb()
    for host in [warm, *hosts]:
        host.kill()
    return (after - before) / 1024 / count


FRESH_START = """
import sys, time
sys.path.insert(0, sys.argv[2])
t0 = time.perf_counter()
import wasmtime
t1 = time.perf_counter()
from gowasm import sim_instance
from harness.wasm.engine import load_module
t2 = time.perf_counter()
module = load_module(sys.argv[1])
t3 = time.perf_counter()
host = sim_instance(module, "n1")
host.stdin += sys.argv[3].encode()
host.resume()
assert host.output
print(t1 - t0, t3 - t2, time.perf_counter() - t3)
"""


def cached_start(wasm: Path) -> tuple[float, float, float]:
    """In a fresh process, in seconds: importing wasmtime, loading the cached module, and one
    instance from instantiation to its init_ok."""
    load_module(wasm)  # compiled and cached, if it was not
    command = [sys.executable, "-c", FRESH_START, str(wasm), str(ROOT / "tests"), INIT.decode()]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    imported, loaded, started = map(float, done.stdout.split())
    return imported, loaded, started


def short_run(program: Path) -> float:
    """Wall time of a whole ``maelstrom test --sim`` of 1 node for 1 s of echo (process start,
    module load, run, checkers, report)."""
    with tempfile.TemporaryDirectory() as store:
        command = [sys.executable, "-m", "harness", "test", "-w", "echo", "--bin", str(program)]
        command += ["--node-count", "1", "--time-limit", "1", "--sim", "--seed", "1", "--no-plots"]
        start = time.perf_counter()
        done = subprocess.run([*command, "--store", store], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"the echo run of {program} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall


def broadcast_3d(wasm: Path) -> tuple[float, float, float]:
    """(virtual seconds of the run, its wall seconds, its CPU seconds)."""
    with tempfile.TemporaryDirectory() as store:
        command = [
            sys.executable,
            "-m",
            "harness",
            "test",
            "-w",
            "broadcast",
            "--bin",
            str(wasm),
            "--node-count",
            "25",
            "--time-limit",
            "20",
            "--rate",
            "100",
            "--latency",
            "100",
            "--sim",
            "--seed",
            "1",
            "--no-plots",
            "--quiet-ops",
            "--store",
            store,
        ]
        start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"the 3d run failed (exit {done.returncode})")
        history = next(Path(store).glob("broadcast/latest")) / "history.edn"
        last = history.read_text().rstrip("\n").rsplit("\n", 1)[-1]
        virtual = int(re.search(r":time (\d+)", last).group(1)) / 1e9  # type: ignore[union-attr]
    return virtual, wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--echo", type=int, default=2000, help="echo round trips per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternating echo rounds (the median counts)")
    args = parser.parse_args(argv)
    echo = build(EXAMPLES / "echo")
    broadcast = build(EXAMPLES / "broadcast")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    sims, stocks = [], []
    for _ in range(args.rounds):  # alternating, so that load from elsewhere hits both alike
        sims.append(echo_sim(echo, args.echo))
        stocks.append(echo_stock(echo, args.echo))
    for k, what in enumerate(("wall", "CPU")):
        sim_rate = statistics.median(r[k] for r in sims)
        stock_rate = statistics.median(r[k] for r in stocks)
        rounds = ", ".join(f"{a[k]:,.0f}/{b[k]:,.0f}" for a, b in zip(sims, stocks, strict=True))
        print(
            f"echo round trips per {what} second (median of {args.rounds} alternating rounds of {args.echo}): "
            f"simulation host {sim_rate:,.0f}, stock WASI {stock_rate:,.0f} (ratio {sim_rate / stock_rate:.2f}x; "
            f"target >= 0.7x, aim >= 3,000/s); rounds sim/stock: {rounds}"
        )
    per_node = rss_per_instance(broadcast, 25)
    print(f"RSS per broadcast instance (25 started and initialised): {per_node:.1f} MB (target <= 10 MB)")
    imported, loaded, started = cached_start(broadcast)
    print(
        f"cached start in a fresh process: import wasmtime {imported * 1000:.0f} ms, load the compiled "
        f"module {loaded * 1000:.0f} ms, one instance to init_ok {started * 1000:.0f} ms (target < 1 s)"
    )
    short_run(echo)  # compiled and cached, if it was not
    wasm_run, python_run = short_run(echo), short_run(ROOT / "echo" / "main.py")
    print(
        f"a whole cached --sim echo run (1 node, 1 s): the Go WebAssembly echo {wasm_run:.2f} s, the "
        f"Python echo {python_run:.2f} s (ratio {wasm_run / python_run:.2f}x)"
    )
    virtual, wall, cpu = broadcast_3d(broadcast)
    print(
        f"broadcast at 3d's flags under --sim: {virtual:.1f} s virtual in {wall:.1f} s wall "
        f"({virtual / wall:.2f}x real time; target >= 2x, aim 4x) and {cpu:.1f} s CPU "
        f"({virtual / cpu:.2f}x: what one free core would give)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
