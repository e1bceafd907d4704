#!/usr/bin/env bash
# Serves the API and websockets with Daphne and runs a Celery worker with beat beside it: two
# processes in all (beat is a thread of the worker, the worker's pool threads by default; the
# Makefile's CELERY_POOL, CELERY_CONCURRENCY and MALLOC_ARENA_MAX, same defaults here).
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
VENV=.venv
CELERY_POOL=${CELERY_POOL:-threads}
CELERY_CONCURRENCY=${CELERY_CONCURRENCY:-2}
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
CELERY_LOG=${CELERY_LOG:-var/log/celery.log}
CELERY_SCHEDULE=${CELERY_SCHEDULE:-var/celerybeat-schedule}
mkdir -p var/log "$(dirname "$CELERY_LOG")"
$VENV/bin/celery -A backend worker --beat-thread -l info \
  --pool "$CELERY_POOL" --concurrency "$CELERY_CONCURRENCY" \
  --schedule "$CELERY_SCHEDULE" >"$CELERY_LOG" 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
$VENV/bin/python manage.py demo_login --host "$HOST" --port "$PORT" || true
echo "Celery worker (with beat) running, log in $CELERY_LOG"
echo "Serving on http://$HOST:$PORT  (API docs: http://$HOST:$PORT/api/docs/)"
$VENV/bin/daphne -b "$HOST" -p "$PORT" backend.asgi:application
