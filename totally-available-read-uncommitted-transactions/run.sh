#!/usr/bin/env bash
# Challenge 6b (Totally-Available, Read Uncommitted Transactions), with Fly.io's command; extra arguments (e.g. --seed 1) are passed on to the runner.
exec "$(dirname "$0")/../scripts/lib/run-challenge.sh" "$(dirname "$0")" \
  -w txn-rw-register --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-uncommitted --availability total --nemesis partition -- "$@"
