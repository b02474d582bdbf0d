#!/usr/bin/env bash
# Challenge 4 with Fly.io's command:
#   -w g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition
#
# Usage: grow-only-counter/run.sh [more runner flags, e.g. --seed 1]
#   COUNTER_SYNC_INTERVAL (default 1 s) and COUNTER_SYNC_IDLE_MAX (default 2 s) tune the nodes.
# Exit status: the runner's (0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255 crashed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
python=${PYTHON:-$root/.venv/bin/python}
[[ -x $python ]] || python=python3

cd "$root"
exec "$python" -m harness test -w g-counter --bin "$python" "$here/main.py" \
  --node-count 3 --rate 100 --time-limit 20 --nemesis partition "$@"
