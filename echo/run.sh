#!/usr/bin/env bash
# Challenge 1 (Echo), with Fly.io's command; extra arguments are passed on to the runner.
exec "$(dirname "$0")/../scripts/lib/run-challenge.sh" "$(dirname "$0")" \
  -w echo --node-count 1 --time-limit 10 -- "$@"
