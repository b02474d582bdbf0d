#!/usr/bin/env bash
# Challenge 5b (Multi-node log) at Fly.io's flags, as listed in harness/challenges.py:
#   ../maelstrom test -w kafka --bin ./main.py --node-count 2 --concurrency 2n --time-limit 20 --rate 1000
# with its results kept in results/. Extra arguments go to the runner (e.g. --seed 7);
# MAELSTROM=/path/to/maelstrom runs the same test under real Maelstrom.
exec "$(dirname "$0")/../maelstrom" run-challenge "$(dirname "$0")" "$@"
