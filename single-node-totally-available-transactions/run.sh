#!/usr/bin/env bash
# Challenge 6a (Single-node transactions) at Fly.io's flags, as listed in harness/challenges.py:
#   ../maelstrom test -w txn-rw-register --bin ./main.py --node-count 1 --time-limit 20 --rate 1000 --concurrency 2n --consistency-models read-uncommitted --availability total
# with its results kept in results/. Extra arguments go to the runner (e.g. --seed 7);
# MAELSTROM=/path/to/maelstrom runs the same test under real Maelstrom.
exec "$(dirname "$0")/../maelstrom" run-challenge "$(dirname "$0")" "$@"
