#!/usr/bin/env bash
# Challenge 3d/3e (Efficient broadcast) at Fly.io's flags, as listed in harness/challenges.py:
#   ../maelstrom test -w broadcast --bin ./main.py --node-count 25 --time-limit 20 --rate 100 --latency 100
# with its results kept in results/. Extra arguments go to the runner (e.g. --seed 7);
# MAELSTROM=/path/to/maelstrom runs the same test under real Maelstrom.
exec "$(dirname "$0")/../maelstrom" run-challenge "$(dirname "$0")" "$@"
