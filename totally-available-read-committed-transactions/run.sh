#!/usr/bin/env bash
# Challenge 6c (Totally-Available, Read Committed Transactions), with Fly.io's command; extra
# arguments (e.g. --seed 1) are passed on to the runner. Fly.io's page prints the last flag with an
# en dash ("–-nemesis"), which real Maelstrom silently treats as two words for the node binary, so
# the run has no partitions; we use the flag the challenge intends.
exec "$(dirname "$0")/../scripts/lib/run-challenge.sh" "$(dirname "$0")" \
  -w txn-rw-register --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-committed --availability total --nemesis partition -- "$@"
