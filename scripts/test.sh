#!/usr/bin/env bash
# Lint, format check and the whole test suite. Exits non-zero if any of them fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
BIN="$ROOT/.venv/bin"

status=0
"$BIN/ruff" check . || status=1
"$BIN/ruff" format --check . || status=1
{ "$BIN/mypy" --strict common engines raft-lin-kv/raft.py && "$BIN/mypy" harness; } || status=1
"$BIN/pytest" -q "$@" || status=1
exit "$status"
