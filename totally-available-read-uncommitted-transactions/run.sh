#!/usr/bin/env bash
# Challenge 6b at the official parameters; extra flags (e.g. --seed 1) are passed on.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
exec .venv/bin/python -m harness test -w txn-rw-register --bin .venv/bin/python "$here/main.py" \
  --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-uncommitted --availability total --nemesis partition "$@"
