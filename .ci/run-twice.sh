#!/usr/bin/env bash
# `make run` twice, as a new user would: the first installs and loads everything and serves; the
# second, on the same machine, must serve /healthz within RUN_AGAIN_SECONDS. Each run is started in
# the background in a process group of its own and stopped (Daphne and the Celery worker) before
# the next.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${RUN_CHECK_PORT:-18765}
FIRST_TIMEOUT=${RUN_FIRST_SECONDS:-900}
AGAIN_TIMEOUT=${RUN_AGAIN_SECONDS:-60}
mkdir -p var/log

pid=""
stop() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  pid=""
}
trap stop EXIT

# Seconds until /healthz answers 200, or fail after $2 seconds.
serve_and_wait() {
  local name=$1 limit=$2 log="var/log/make-run-$1.log" started elapsed
  started=$(date +%s%3N)
  setsid make run PORT="$PORT" >"$log" 2>&1 &
  pid=$!
  while true; do
    elapsed=$(($(date +%s%3N) - started))
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then
      echo "$name make run served /healthz after $((elapsed / 1000)).$((elapsed % 1000 / 100)) s"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name make run stopped before serving; its log:" >&2
      tail -n 60 "$log" >&2
      return 1
    fi
    if [ "$elapsed" -gt $((limit * 1000)) ]; then
      echo "$name make run did not serve /healthz within $limit s; its log:" >&2
      tail -n 60 "$log" >&2
      return 1
    fi
    sleep 0.5
  done
}

serve_and_wait first "$FIRST_TIMEOUT"
grep -q "Demo password" var/log/make-run-first.log \
  || { echo "the first make run did not print how to log in" >&2; exit 1; }
grep -q "127.0.0.1:$PORT" var/log/make-run-first.log \
  || { echo "demo_login did not print the port served ($PORT)" >&2; exit 1; }
stop
serve_and_wait second "$AGAIN_TIMEOUT"
stop
