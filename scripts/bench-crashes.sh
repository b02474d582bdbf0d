#!/usr/bin/env bash
# What surviving crashes costs: every multi-node challenge at Fly.io's flags, with and without
# --nemesis kill,partition (and pause), seeds 1-5, one run at a time (see scripts/bench_crashes.py).
# Extra arguments go to it, e.g. --modes base,kill,pause --seeds 1-3, or --write-readmes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" scripts/bench_crashes.py "$@"
