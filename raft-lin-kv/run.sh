#!/usr/bin/env bash
# Maelstrom's Raft chapter (M6) at its final command, as listed in harness/challenges.py:
#   ../maelstrom test -w lin-kv --bin ./main.py --node-count 3 --concurrency 4n --rate 30 --time-limit 60 --nemesis partition --nemesis-interval 10
# with its results kept in results/. Extra arguments go to the runner (e.g. --seed 7);
# MAELSTROM=/path/to/maelstrom runs the same test under real Maelstrom.
exec "$(dirname "$0")/../maelstrom" run-challenge "$(dirname "$0")" "$@"
