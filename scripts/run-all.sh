#!/usr/bin/env bash
# Run every challenge that has a run.sh, in challenge order, then print a summary table read from
# each challenge's fresh results/results.json. Exits non-zero if any challenge that ran is not
# valid (invalid, unknown, no fresh results, or a non-zero exit from its run.sh).
# Each run's output goes to store/run-all/<challenge>.log. Extra arguments go to every run.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"

CHALLENGES=(
  echo unique-id-generation single-node-broadcast multi-node-broadcast fault-tolerant-broadcast
  efficient-broadcast grow-only-counter single-node-kafka-style-log multi-node-kafka-style-log
  efficient-kafka-style-log single-node-totally-available-transactions
  totally-available-read-uncommitted-transactions totally-available-read-committed-transactions
)
LOGS="$ROOT/store/run-all"
mkdir -p "$LOGS"
summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT

for name in "${CHALLENGES[@]}"; do
  if [[ ! -f "$name/run.sh" ]]; then
    printf '%s\tnot-built\t\t\n' "$name" >>"$summary"
    continue
  fi
  results="$name/results/results.json"
  printf '%s ... ' "$name" >&2
  start=$(date +%s)
  set +e
  bash "$name/run.sh" "$@" >"$LOGS/$name.log" 2>&1 </dev/null
  code=$?
  set -e
  # Figures count only if this run wrote them: an older results.json is never reported.
  fresh=no
  if [[ -f "$results" ]] && (($(stat -c %Y "$results") >= start)); then
    fresh=yes
  fi
  echo "exit $code after $(($(date +%s) - start)) s (log: store/run-all/$name.log)" >&2
  printf '%s\tran\t%s\t%s\n' "$name" "$code" "$fresh" >>"$summary"
done

"$ROOT/.venv/bin/python" - "$summary" <<'PY'
import json
import sys
from pathlib import Path

rows, failed = [], False
for entry in Path(sys.argv[1]).read_text().splitlines():
    name, state, code, fresh = entry.split("\t")
    if state == "not-built":
        rows.append((name, "not built yet", "", "", "", ""))
        continue
    if fresh != "yes":
        failed = True
        rows.append((name, f"NO FRESH results/results.json (exit {code})", "", "", "", ""))
        continue
    results = json.loads(Path(name, "results", "results.json").read_text())
    valid = results.get("valid?")

    def figure(*path, results=results):
        value = results
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return "-"
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    verdict = {True: "valid", False: "INVALID"}.get(valid, "UNKNOWN")
    if code != "0":
        verdict += f" (exit {code})"
    failed |= valid is not True or code != "0"
    rows.append(
        (name, verdict, str(valid).lower(), figure("availability", "ok-fraction"),
         figure("net", "servers", "msgs-per-op"), figure("stats", "count"))
    )

header = ("challenge", "verdict", "valid?", "ok-fraction", "srv msgs/op", "ops")
widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
for row in [header, tuple("-" * w for w in widths), *rows]:
    print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
sys.exit(1 if failed else 0)
PY
