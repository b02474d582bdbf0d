#!/usr/bin/env bash
# Benchmark the runner: 3 trivial nodes at --rate 1000 for 10 s (see scripts/bench_harness.py).
# Extra arguments go to scripts/bench_harness.py (e.g. --time-limit 5 --concurrency 3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" scripts/bench_harness.py "$@"
