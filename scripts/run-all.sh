#!/usr/bin/env bash
# Run every challenge that has a run.sh, in challenge order (harness/challenges.py), then print the
# results table (maelstrom results: verdict, key figures, target; also written to RESULTS.md) from
# each challenge's results/. Exits non-zero
# if any challenge is not valid or misses its target, or if a run.sh exited non-zero.
# Each run's output goes to store/run-all/<challenge>.log. Extra arguments go to every run.sh.
# With --sim every challenge runs as a deterministic simulation; its results go to
# store/sim-results/<challenge>/ (the committed results/ stay real-mode runs) and the table is
# printed from there (RESULTS.md is not rewritten).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"

mapfile -t CHALLENGES < <("$PY" -m harness challenges)
((${#CHALLENGES[@]})) || { echo "run-all: maelstrom challenges listed nothing" >&2; exit 1; }
LOGS="$ROOT/store/run-all"
sim=0
for arg in "$@"; do [[ $arg == --sim ]] && sim=1; done
((sim)) && LOGS="$ROOT/store/run-all-sim"
mkdir -p "$LOGS"
failed=()

for name in "${CHALLENGES[@]}"; do
  [[ -f "$name/run.sh" ]] || continue
  # A run that fails before writing results must not leave the previous figures standing.
  if ((sim)); then rm -f "store/sim-results/$name/results.json"; else rm -f "$name/results/results.json"; fi
  printf '%s ... ' "$name" >&2
  start=$(date +%s)
  code=0
  bash "$name/run.sh" "$@" >"$LOGS/$name.log" 2>&1 </dev/null || code=$?
  echo "exit $code after $(($(date +%s) - start)) s (log: ${LOGS#"$ROOT/"}/$name.log)" >&2
  ((code == 0)) || failed+=("$name (exit $code)")
done

code=0
if ((sim)); then
  "$PY" -m harness results --root "$ROOT" --sim || code=$?
else
  "$PY" -m harness results --root "$ROOT" --markdown || code=$?
fi
if ((${#failed[@]})); then
  printf 'run.sh exited non-zero: %s\n' "${failed[@]}" >&2
  code=1
fi
exit "$code"
