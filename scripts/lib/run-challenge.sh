#!/usr/bin/env bash
# Run one challenge's Maelstrom test and keep the lean part of the run in <challenge>/results/.
#
# usage: scripts/lib/run-challenge.sh <challenge-dir> <maelstrom test args...> -- [extra args...]
#
# The node is <challenge-dir>/main.py run by the project's venv Python. The test runs under our
# harness (python -m harness test), or under real Maelstrom when $MAELSTROM names its
# executable. Extra args come last, so they override the challenge's defaults. The exit code is
# the runner's: 0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255 the run could not complete.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$(cd "$1" && pwd)"
shift
args=()
while [[ $# -gt 0 && "$1" != "--" ]]; do args+=("$1"); shift; done
[[ $# -gt 0 ]] && shift  # the "--"
args+=("$@")

if [[ -f "$ROOT/scripts/setup.sh" ]]; then
  bash "$ROOT/scripts/setup.sh" >&2
fi
PY="$ROOT/.venv/bin/python"
cd "$ROOT"  # both runners write store/ under their current directory
run_dir_file="$(mktemp)"
trap 'rm -f "$run_dir_file"' EXIT
set +e
if [[ -n "${MAELSTROM:-}" ]]; then
  "$MAELSTROM" test --bin "$ROOT/scripts/lib/venv-python" "$DIR/main.py" "${args[@]}"
else
  HARNESS_RUN_DIR_FILE="$run_dir_file" "$PY" -m harness test --bin "$PY" "$DIR/main.py" "${args[@]}"
fi
code=$?
set -e

# our harness names its run dir; Maelstrom only has store/latest (racy with concurrent runs)
run="$(cat "$run_dir_file")"
[[ -n "$run" ]] || run="$ROOT/store/latest"
if [[ -d "$run" ]]; then
  out="$DIR/results"
  rm -rf "$out"
  mkdir -p "$out"
  for f in results.edn results.json test.json latency-raw.png latency-quantiles.png rate.png; do
    [[ -f "$run/$f" ]] && cp "$run/$f" "$out/"
  done
  # index.html (and messages.svg) rendered into results/, linking only what is kept there
  "$PY" -c 'import sys; from pathlib import Path; from harness.report import write_report; write_report(Path(sys.argv[1]).resolve(), Path(sys.argv[2]))' \
    "$run" "$out" >/dev/null 2>&1 || { [[ -f "$run/index.html" ]] && cp "$run/index.html" "$out/"; }
  echo "Kept the lean part of $(readlink -f "$run") in ${out#"$ROOT"/}/" >&2
fi
exit "$code"
