#!/usr/bin/env bash
# Benchmark the EDN reader against edn_format on the corpus's largest history (scripts/bench_edn.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" scripts/bench_edn.py "$@"
