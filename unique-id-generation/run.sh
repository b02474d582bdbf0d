#!/usr/bin/env bash
# Challenge 2 with Fly.io's command:
#   -w unique-ids --time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition
#
# Usage: unique-id-generation/run.sh [--local] [more runner flags, e.g. --seed 1]
#   backend: Redis (default) or, with --local or UNIQUE_IDS_BACKEND=local, the coordination-free one.
#   Redis:   REDIS_URL (default redis://127.0.0.1:6379/0). If nothing answers there, a private
#            redis-server (no persistence, loopback only, free port) runs for this test and is
#            stopped afterwards, also on failure or Ctrl-C.
# The run goes through scripts/lib/run-challenge.sh, which keeps its lean part in results/.
# Exit status: the runner's (0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255 crashed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
python=${PYTHON:-$root/.venv/bin/python}
[[ -x $python ]] || python=python3

backend=${UNIQUE_IDS_BACKEND:-redis}
if [[ ${1:-} == --local ]]; then
  backend=local
  shift
fi

redis_pid=
stop_redis() {
  if [[ -n $redis_pid ]]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=
  fi
}
trap stop_redis EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

redis_answers() { # url
  "$python" - "$1" <<'EOF' 2>/dev/null
import sys
import redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=0.5, socket_timeout=0.5).ping()
EOF
}

if [[ $backend == redis ]]; then
  export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
  if ! redis_answers "$REDIS_URL"; then
    command -v redis-server >/dev/null || {
      echo "No Redis at $REDIS_URL and no redis-server to start (apt-get install redis-server)" >&2
      exit 255
    }
    port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
      --logfile '' --loglevel warning >/dev/null &
    redis_pid=$!
    export REDIS_URL=redis://127.0.0.1:$port/0
    for _ in $(seq 100); do
      redis_answers "$REDIS_URL" && break
      kill -0 "$redis_pid" 2>/dev/null || { echo "redis-server failed to start" >&2; exit 255; }
      sleep 0.05
    done
    redis_answers "$REDIS_URL" || { echo "redis-server did not answer on port $port" >&2; exit 255; }
    echo "Started a private redis-server at $REDIS_URL (pid $redis_pid)" >&2
  fi
fi

status=0
"$root/scripts/lib/run-challenge.sh" "$here" -w unique-ids "$backend" \
  --time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition -- "$@" || status=$?
exit "$status"
