#!/usr/bin/env bash
# Challenge 3c (Fault-tolerant broadcast) at Fly.io's flags, as listed in harness/challenges.py:
#   ../maelstrom test -w broadcast --bin ./main.py --node-count 5 --time-limit 20 --rate 10 --nemesis partition
# with its results kept in results/. Extra arguments go to the runner (e.g. --seed 7);
# MAELSTROM=/path/to/maelstrom runs the same test under real Maelstrom.
exec "$(dirname "$0")/../maelstrom" run-challenge "$(dirname "$0")" "$@"
