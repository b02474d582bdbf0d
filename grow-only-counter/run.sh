#!/usr/bin/env bash
# Challenge 4 (Grow-only counter), with Fly.io's command; extra arguments are passed on to the
# runner (e.g. --seed 1). COUNTER_SYNC_INTERVAL (default 1 s) and COUNTER_SYNC_IDLE_MAX (2 s)
# tune the nodes' seq-kv rounds.
exec "$(dirname "$0")/../scripts/lib/run-challenge.sh" "$(dirname "$0")" \
  -w g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition -- "$@"
