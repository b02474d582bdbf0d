"""Echo round trips per second over real pipes: echo/main.py against a bare msgspec loop.

The driver keeps ``--window`` requests in flight: each time replies arrive it counts their
newlines (no JSON decoding on the hot path) and sends as many new requests, built from a bytes
template, in one write. All replies are kept and checked after the clock stops (every msg_id
answered exactly once, with the right echo). The baseline is this same file run with
``--bare-loop``: read a chunk, split lines, decode, build the reply, encode, one write per chunk.

Usage: scripts/bench-node.sh [--seconds 2] [--window 100] [--rounds 3] [--check]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
REQUEST = b'{"src":"c1","dest":"n1","body":{"type":"echo","echo":"Please echo %d","msg_id":%d}}\n'
INIT = b'{"src":"c0","dest":"n1","body":{"type":"init","node_id":"n1","node_ids":["n1"],"msg_id":1}}\n'
TARGET_RATE = 100_000
TARGET_RATIO = 0.4


def bare_loop() -> None:
    """The baseline server: the least work a Python echo node over msgspec can do."""
    decode = msgspec.json.Decoder().decode
    encode_into = msgspec.json.Encoder().encode_into
    partial = b""
    while data := os.read(0, 1 << 18):
        lines = (partial + data).split(b"\n")
        partial = lines.pop()
        out = bytearray()
        for line in lines:
            if not line:
                continue
            msg = decode(line)
            body = msg["body"]
            reply = {"type": body["type"] + "_ok", "in_reply_to": body["msg_id"]}
            if "echo" in body:
                reply["echo"] = body["echo"]
            encode_into({"src": msg["dest"], "dest": msg["src"], "body": reply}, out, -1)
            out += b"\n"
        os.write(1, out)


def drive(command: list[str], seconds: float, window: int) -> tuple[float, float]:
    """Round trips per second of the node started by ``command``, and the share of that time the
    driver itself was on a CPU (well under 1 means the driver was not the bottleneck).
    Raises if any reply is wrong or missing.
    """
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdin is not None and process.stdout is not None
    to_node, from_node = process.stdin.fileno(), process.stdout.fileno()
    try:
        os.write(to_node, INIT)
        if b"init_ok" not in os.read(from_node, 1 << 16):
            raise RuntimeError("no init_ok")
        next_id = 2
        chunks: list[bytes] = []
        cpu_start = _cpu_seconds()
        start = time.perf_counter()
        deadline = start + seconds
        os.write(to_node, b"".join([REQUEST % (i & 127, i) for i in range(next_id, next_id + window)]))
        next_id += window
        sent, received = window, 0
        sending = True
        while received < sent:
            data = os.read(from_node, 1 << 20)
            if not data:
                raise RuntimeError("node closed stdout")
            chunks.append(data)
            count = data.count(b"\n")
            received += count
            if sending and count:
                if time.perf_counter() < deadline:
                    os.write(
                        to_node, b"".join([REQUEST % (i & 127, i) for i in range(next_id, next_id + count)])
                    )
                    next_id += count
                    sent += count
                else:
                    sending = False
        elapsed = time.perf_counter() - start
        driver_busy = (_cpu_seconds() - cpu_start) / elapsed
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
    check_replies(b"".join(chunks), range(2, next_id))
    return received / elapsed, driver_busy


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def check_replies(data: bytes, msg_ids: range) -> None:
    decode = msgspec.json.Decoder().decode
    seen: set[int] = set()
    for line in data.splitlines():
        body = decode(line)["body"]
        msg_id = body["in_reply_to"]
        if body != {"type": "echo_ok", "echo": f"Please echo {msg_id & 127}", "in_reply_to": msg_id}:
            raise RuntimeError(f"wrong reply: {body}")
        if msg_id in seen:
            raise RuntimeError(f"two replies to {msg_id}")
        seen.add(msg_id)
    if seen != set(msg_ids):
        raise RuntimeError(f"{len(set(msg_ids) - seen)} requests unanswered")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each measurement")
    parser.add_argument("--window", type=int, default=100, help="requests kept in flight")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each program (median shown)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--bare-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_loop:
        bare_loop()
        return 0
    programs = {
        "echo/main.py": [sys.executable, str(ROOT / "echo" / "main.py")],
        "bare msgspec loop": [sys.executable, str(Path(__file__).resolve()), "--bare-loop"],
    }
    rates: dict[str, list[float]] = {name: [] for name in programs}
    busy: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(args.rounds):  # interleaved, so load from others hits both alike
        for name, command in programs.items():
            rate, driver_busy = drive(command, args.seconds, args.window)
            rates[name].append(rate)
            busy[name].append(driver_busy)
    node, bare = (statistics.median(rates[name]) for name in programs)
    for name, values in rates.items():
        runs = ", ".join(f"{value:,.0f}" for value in values)
        driver = max(busy[name])
        print(
            f"{name:18} {statistics.median(values):>9,.0f} round trips/s  (runs: {runs}; driver busy <= {driver:.0%})"
        )
    ratio = node / bare
    print(f"ratio              {ratio:9.2f}x  (window {args.window}, {args.seconds:g} s per run)")
    met = node >= TARGET_RATE and ratio >= TARGET_RATIO
    print(f"targets (>= {TARGET_RATE:,}/s and >= {TARGET_RATIO}x): {'met' if met else 'MISSED'}")
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
