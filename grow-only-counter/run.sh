#!/usr/bin/env bash
# Challenge 4 (Grow-only counter) at Fly.io's flags, as listed in harness/challenges.py:
#   ../maelstrom test -w g-counter --bin ./main.py --node-count 3 --rate 100 --time-limit 20 --nemesis partition
# with its results kept in results/. Extra arguments go to the runner (e.g. --seed 7);
# MAELSTROM=/path/to/maelstrom runs the same test under real Maelstrom.
# COUNTER_SYNC_INTERVAL (default 2 s) and COUNTER_SYNC_IDLE_MAX (4 s) tune the nodes' seq-kv rounds.
exec "$(dirname "$0")/../maelstrom" run-challenge "$(dirname "$0")" "$@"
