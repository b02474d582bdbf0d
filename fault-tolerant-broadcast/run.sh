#!/usr/bin/env bash
# Challenge 3c (Fault-Tolerant Broadcast), with Fly.io's command; extra arguments (e.g. --seed 1) are passed on to the runner.
exec "$(dirname "$0")/../scripts/lib/run-challenge.sh" "$(dirname "$0")" \
  -w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition -- "$@"
