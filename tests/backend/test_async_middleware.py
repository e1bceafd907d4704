"""Under ASGI (Daphne) the whole middleware chain runs on the event loop: no thread hops before
the view. Static files, the body size limit and the CSP header still behave as under WSGI."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.test import AsyncClient

from backend.security import ContentSecurityPolicyMiddleware, RequestSizeLimitMiddleware
from backend.staticfiles import StaticFilesMiddleware


def test_every_middleware_can_run_on_the_event_loop(settings):
    from django.utils.module_loading import import_string

    for path in settings.MIDDLEWARE:
        middleware = import_string(path)
        assert getattr(middleware, "async_capable", False), path


def test_the_chain_is_built_async_without_adapters():
    handler = ASGIHandler()
    # The outermost handler is a coroutine function: Django did not wrap a sync middleware.
    assert iscoroutinefunction(handler._middleware_chain)
    for cls in (StaticFilesMiddleware, RequestSizeLimitMiddleware, ContentSecurityPolicyMiddleware):

        async def inner(request):  # pragma: no cover - never called
            return None

        assert iscoroutinefunction(cls(inner))


@pytest.mark.django_db(transaction=True)
def test_static_files_size_limit_and_csp_under_asgi(settings):
    settings.REQUEST_MAX_BODY_BYTES = 1000
    async_to_sync(_static_size_limit_and_csp)(settings)


async def _static_size_limit_and_csp(settings) -> None:
    client = AsyncClient()

    static = await client.get("/static/panel/panel.css")
    assert static.status_code == 200
    assert static["Content-Type"].startswith("text/css")

    too_big = await client.post(
        "/api/v1/auth/token", data="x" * 2000, content_type="application/json"
    )
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "too_large"

    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health["Content-Security-Policy"] == settings.CSP_API
