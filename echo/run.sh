#!/usr/bin/env bash
# Challenge 1 (Echo) at Fly.io's flags, as listed in harness/challenges.py:
#   ../maelstrom test -w echo --bin ./main.py --node-count 1 --time-limit 10
# with its results kept in results/. Extra arguments go to the runner (e.g. --seed 7);
# MAELSTROM=/path/to/maelstrom runs the same test under real Maelstrom.
exec "$(dirname "$0")/../maelstrom" run-challenge "$(dirname "$0")" "$@"
