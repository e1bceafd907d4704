#!/usr/bin/env bash
# Serves the API and websockets with Daphne and runs a Celery worker with beat beside it.
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
VENV=.venv
mkdir -p var/log
$VENV/bin/celery -A backend worker --beat -l info --concurrency 2 \
  --schedule var/celerybeat-schedule >var/log/celery.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
$VENV/bin/python manage.py demo_login --host "$HOST" --port "$PORT" || true
echo "Celery worker (with beat) running, log in var/log/celery.log"
echo "Serving on http://$HOST:$PORT  (API docs: http://$HOST:$PORT/api/docs/)"
$VENV/bin/daphne -b "$HOST" -p "$PORT" backend.asgi:application
