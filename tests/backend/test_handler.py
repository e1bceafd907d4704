"""The ASGI handler runs each request's middleware and view in one trip to a thread, and still
serves what Django's own handler serves: static files, the body size limit, CSP, errors."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction

from backend.handler import DjangoHandler


def asgi_request(
    handler: DjangoHandler, method: str, path: str, body: bytes = b"", content_type: str = ""
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request through ``handler`` as an ASGI server would make it."""

    async def call() -> list[dict]:
        sent: list[dict] = []
        done = asyncio.Event()
        first = True

        async def receive() -> dict:
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        headers = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
        if content_type:
            headers.append((b"content-type", content_type.encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        await handler(scope, receive, send)
        return sent

    sent = async_to_sync(call)()
    start = sent[0]
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], headers, content


def test_the_middleware_chain_is_sync():
    handler = DjangoHandler()
    assert not iscoroutinefunction(handler._middleware_chain)


# WhiteNoise streams files with a sync iterator, which Django's ASGI side warns about (as it does
# with Django's own handler); in production the proxy in front serves /static/.
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
@pytest.mark.django_db(transaction=True)
def test_requests_through_the_asgi_handler(settings):
    settings.REQUEST_MAX_BODY_BYTES = 1000
    handler = DjangoHandler()

    status, headers, content = asgi_request(handler, "GET", "/static/panel/panel.css")
    assert status == 200
    assert headers["content-type"].startswith("text/css")
    assert content

    status, _, content = asgi_request(
        handler, "POST", "/api/v1/auth/token", b"x" * 2000, "application/json"
    )
    assert (status, json.loads(content)["code"]) == (413, "too_large")

    status, headers, content = asgi_request(handler, "GET", "/healthz")
    assert (status, json.loads(content)) == (200, {"status": "ok"})
    assert headers["content-security-policy"] == settings.CSP_API

    status, _, _ = asgi_request(handler, "GET", "/api/v1/nothing-here")
    assert status == 404
