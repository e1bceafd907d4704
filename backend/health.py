"""Liveness and readiness probes (JSON, no session: CSRF does not apply, so another method than
GET is a 405 in the error format, backend/error_handlers.py)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET


@csrf_exempt
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> bool:
    from backend.database import circuit

    if circuit.is_open and not circuit.allow():
        return False  # known down: answer at once (a probe runs at most every DB_PROBE_INTERVAL)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception as error:
        connection.close_if_unusable_or_obsolete()
        circuit.report(error)
        return False


def _check_redis() -> bool:
    import redis
    from django.conf import settings

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        return bool(client.ping())
    except redis.RedisError:
        return False


def _check_graph() -> dict[str, object]:
    from geo.graph import graph_status

    return graph_status()


@csrf_exempt
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    database = _check_database()
    redis_ok = _check_redis()
    graph = _check_graph() if database else {"loaded": False}
    ready = database and redis_ok and bool(graph.get("loaded"))
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {"database": database, "redis": redis_ok, "street_graph": graph},
    }
    return JsonResponse(body, status=200 if ready else 503)
