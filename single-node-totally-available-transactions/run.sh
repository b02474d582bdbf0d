#!/usr/bin/env bash
# Challenge 6a at the official parameters; extra flags (e.g. --seed 1) are passed on.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
exec .venv/bin/python -m harness test -w txn-rw-register --bin .venv/bin/python "$here/main.py" \
  --node-count 1 --time-limit 20 --rate 1000 --concurrency 2n --consistency-models read-uncommitted --availability total "$@"
