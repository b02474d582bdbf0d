#!/usr/bin/env bash
# Maelstrom's Raft chapter (doc/06-raft) with its final command; extra arguments (e.g. --seed 1)
# are passed on to the runner. The chapter's harder command is the same with
# --concurrency 10n --rate 100 --nemesis-interval 3 --test-count 5.
exec "$(dirname "$0")/../scripts/lib/run-challenge.sh" "$(dirname "$0")" \
  -w lin-kv --node-count 3 --concurrency 4n --rate 30 --time-limit 60 --nemesis partition \
  --nemesis-interval 10 -- "$@"
