#!/usr/bin/env bash
# The 3d/3e frontier of efficient-broadcast: a --sim sweep of overlays and batch intervals, real-mode
# confirmation of the frontier points (--confirm), a plot (efficient-broadcast/frontier.png) and a
# table (--write-readme puts it into efficient-broadcast/README.md). See scripts/frontier.py.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" scripts/frontier.py "$@"
