#!/usr/bin/env bash
# Challenges 3d and 3e (Efficient Broadcast, one command for both), with Fly.io's command; extra arguments (e.g. --seed 1) are passed on to the runner.
exec "$(dirname "$0")/../scripts/lib/run-challenge.sh" "$(dirname "$0")" \
  -w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100 -- "$@"
