#!/usr/bin/env bash
# Challenge 3a (Single-Node Broadcast), with Fly.io's command; extra arguments (e.g. --seed 1) are passed on to the runner.
exec "$(dirname "$0")/../scripts/lib/run-challenge.sh" "$(dirname "$0")" \
  -w broadcast --node-count 1 --time-limit 20 --rate 10 -- "$@"
