#!/usr/bin/env bash
# The whole test suite beside CPU-bound load, to catch tests that hold only on an idle machine.
# Starts LOAD_PROCS busy-looping processes (default 2, one per core of a small CI runner), runs
# pytest with any arguments given, and kills exactly those processes (by PID) on exit.
#   scripts/test-under-load.sh              # whole suite beside 2 busy loops
#   LOAD_PROCS=4 scripts/test-under-load.sh tests/test_sim.py
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"

load_pids=()
stop_load() {
    for pid in "${load_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_load EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 "${LOAD_PROCS:-2}"); do
    python3 -c 'while 1: pass' &
    load_pids+=("$!")
done
echo "test-under-load: ${#load_pids[@]} CPU-bound processes (PIDs ${load_pids[*]}) beside pytest on $(nproc) cores"

"$ROOT/.venv/bin/pytest" -q -p no:cacheprovider "$@"
