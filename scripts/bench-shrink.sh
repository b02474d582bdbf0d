#!/usr/bin/env bash
# Shrinking and --swarm on the suite's broken nodes: seeds to the first failure with and without
# --swarm (200 seeds), and each failing run shrunk with the default budget (scripts/bench_shrink.py).
# Extra arguments go to it, e.g. --cases lin-kv-stale,kafka-skip --seeds 50.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
PYTHONHASHSEED=0 exec "$ROOT/.venv/bin/python" scripts/bench_shrink.py "$@"
