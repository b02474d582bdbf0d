#!/usr/bin/env bash
# Benchmark the runner: 3 trivial nodes at --rate 1000 for 10 s (see harness/bench.py).
# Extra arguments go to `python -m harness bench` (e.g. --time-limit 5 --concurrency 3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m harness bench "$@"
