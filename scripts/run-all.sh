#!/usr/bin/env bash
# Run every challenge that has a run.sh, in challenge order (harness/challenges.py), then print the
# results table (maelstrom results: verdict, key figures, target; also written to RESULTS.md) from
# each challenge's results/. Exits non-zero
# if any challenge is not valid or misses its target, or if a run.sh exited non-zero.
# Each run's output goes to store/run-all/<challenge>.log. Extra arguments go to every run.sh.
# With --sim every challenge runs as a deterministic simulation; its results go to
# store/sim-results/<challenge>/ (the committed results/ stay real-mode runs) and the table is
# printed from there (RESULTS.md is not rewritten). Simulated runs are not timing-sensitive, so
# they run in parallel: -j N / --jobs N (or RUN_ALL_JOBS=N) at a time, by default one per CPU.
# Real-mode runs always run one at a time (their figures depend on the machine being quiet).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"

jobs="${RUN_ALL_JOBS:-}"
args=()
sim=0
while (($#)); do
  case $1 in
    -j | --jobs)
      (($# >= 2)) || { echo "run-all: $1 needs a number" >&2; exit 254; }
      jobs=$2
      shift 2
      ;;
    -j* | --jobs=*)
      jobs=${1#-j}
      jobs=${jobs#--jobs=}
      shift
      ;;
    *)
      [[ $1 == --sim ]] && sim=1
      args+=("$1")
      shift
      ;;
  esac
done
if [[ -n $jobs && ! $jobs =~ ^[1-9][0-9]*$ ]]; then
  echo "run-all: the number of jobs must be a positive integer, not '$jobs'" >&2
  exit 254
fi
((sim)) || jobs=1 # real mode stays sequential: a run's figures must not share the CPUs
# a simulated run needs a fixed string hash and the runner re-executes itself to get one: set it
# here, once, and each run saves that second interpreter start and import
((sim)) && export PYTHONHASHSEED=0
[[ -n $jobs ]] || jobs=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)

mapfile -t CHALLENGES < <("$PY" -m harness challenges)
((${#CHALLENGES[@]})) || { echo "run-all: maelstrom challenges listed nothing" >&2; exit 1; }
LOGS="$ROOT/store/run-all"
((sim)) && LOGS="$ROOT/store/run-all-sim"
mkdir -p "$LOGS"
STATUS="$(mktemp -d)"
trap 'rm -rf "$STATUS"' EXIT

# One challenge: its run.sh with output to its log; its exit status and time go to $STATUS/<name>.
run_one() {
  local name=$1 start code=0
  start=$(date +%s)
  bash "$name/run.sh" "${args[@]}" >"$LOGS/$name.log" 2>&1 </dev/null || code=$?
  echo "$code $(($(date +%s) - start))" >"$STATUS/$name"
  echo "$name ... exit $code after $(($(date +%s) - start)) s (log: ${LOGS#"$ROOT/"}/$name.log)" >&2
}

running=0
for name in "${CHALLENGES[@]}"; do
  [[ -f "$name/run.sh" ]] || continue
  # A run that fails before writing results must not leave the previous figures standing.
  if ((sim)); then rm -f "store/sim-results/$name/results.json"; else rm -f "$name/results/results.json"; fi
  if ((jobs == 1)); then
    printf '%s ... ' "$name" >&2
    start=$(date +%s)
    code=0
    bash "$name/run.sh" "${args[@]}" >"$LOGS/$name.log" 2>&1 </dev/null || code=$?
    echo "$code" >"$STATUS/$name"
    echo "exit $code after $(($(date +%s) - start)) s (log: ${LOGS#"$ROOT/"}/$name.log)" >&2
    continue
  fi
  if ((running >= jobs)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$name" &
  running=$((running + 1))
done
wait

failed=()
for name in "${CHALLENGES[@]}"; do
  [[ -f "$name/run.sh" ]] || continue
  read -r code _ <"$STATUS/$name" 2>/dev/null || code="?"
  [[ $code == 0 ]] || failed+=("$name (exit $code)")
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
