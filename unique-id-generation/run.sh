#!/usr/bin/env bash
# Challenge 2 (Unique IDs) at Fly.io's flags, as listed in harness/challenges.py:
#   ../maelstrom test -w unique-ids --bin ./main.py --time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition
# with its results kept in results/. Extra arguments go to the runner (e.g. --seed 7);
# MAELSTROM=/path/to/maelstrom runs the same test under real Maelstrom.
#
# Usage: unique-id-generation/run.sh [--local] [runner flags]
#   backend: Redis (default) or, with --local or UNIQUE_IDS_BACKEND=local, the coordination-free one
#   (also the default with --sim: Redis is outside the simulation).
#   Redis: REDIS_URL (default redis://127.0.0.1:6379/0) if it answers, else a private redis-server
#   (loopback, free port, no persistence) for this run, stopped afterwards, also on failure or Ctrl-C.
set -euo pipefail
variant=${UNIQUE_IDS_BACKEND:-redis}
# --sim: Redis is real I/O outside the simulation, so the default there is the coordination-free one
for arg in "$@"; do [[ $arg == --sim ]] && variant=${UNIQUE_IDS_BACKEND:-local}; done
if [[ ${1:-} == --local ]]; then
  variant=local
  shift
fi
exec "$(dirname "$0")/../maelstrom" run-challenge "$(dirname "$0")" --variant "$variant" "$@"
