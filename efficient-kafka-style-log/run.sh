#!/usr/bin/env bash
# Challenge 5c at the official parameters; extra flags (e.g. --seed 1) are passed on.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$(dirname "$here")"
exec .venv/bin/python -m harness test -w kafka --bin .venv/bin/python "$here/main.py" \
  --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 "$@"
