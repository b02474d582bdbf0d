#!/usr/bin/env bash
# Challenge 3d and 3e (same command) at the official parameters; extra flags (e.g. --seed 1) are passed on.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
exec .venv/bin/python -m harness test -w broadcast --bin .venv/bin/python "$here/main.py" \
  --node-count 25 --time-limit 20 --rate 100 --latency 100 "$@"
