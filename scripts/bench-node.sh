#!/usr/bin/env bash
# Echo round trips per second of echo/main.py over real pipes (100 requests in flight), against a
# bare msgspec read-decode-encode-write loop measured in the same run. See scripts/bench_node.py.
# Options: --seconds S (per run, default 2) --window N (default 100) --rounds R (default 3) --check
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/bench_node.py" "$@"
