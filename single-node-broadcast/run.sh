#!/usr/bin/env bash
# Challenge 3a at the official parameters; extra flags (e.g. --seed 1) are passed on.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
exec .venv/bin/python -m harness test -w broadcast --bin .venv/bin/python "$here/main.py" \
  --node-count 1 --time-limit 20 --rate 10 "$@"
