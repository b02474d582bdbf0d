#!/usr/bin/env bash
# Real mode against --sim on 3d/3e (efficient-broadcast, official flags): server msgs/op and the
# median stable latency over seeds 1..5 (see scripts/bench_sim.py), and each mode's wall time.
# Extra arguments go to bench_sim.py (e.g. --seeds 3). Run nothing else meanwhile: real mode is
# timing-sensitive.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" scripts/bench_sim.py "$@"
