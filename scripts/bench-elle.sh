#!/usr/bin/env bash
# Benchmark the list-append checker: a simulated strict-serializable 20,000-txn history, checked
# (see scripts/bench_elle.py). Extra arguments go to it (e.g. --txns 5000 --concurrency 30).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" scripts/bench_elle.py "$@"
