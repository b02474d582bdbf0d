#!/usr/bin/env bash
# Benchmark the linearizability checker (scripts/bench_linearizable.py): every lin-kv history of
# the corpus (target < 1 s each) and a generated 10,000-op, 5-key history at 50 processes (10n
# with 5 nodes) with 5% indeterminate ops (target < 10 s). Extra arguments go to the benchmark,
# e.g. --export DIR to write the same histories for porcupine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
exec "$ROOT/.venv/bin/python" scripts/bench_linearizable.py "$@"
