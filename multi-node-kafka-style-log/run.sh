#!/usr/bin/env bash
# Challenge 5b with Fly.io's command; extra arguments (e.g. --seed 1) are passed on to the runner.
exec "$(dirname "$0")/../scripts/lib/run-challenge.sh" "$(dirname "$0")" \
  -w kafka --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 -- "$@"
