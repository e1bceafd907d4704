"""The websocket side of the ASGI application: ``/ws/v1/events`` behind an origin check."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.urls import path

from notifications.consumers import EventsConsumer


def origin_allowed(origin: str) -> bool:
    """Whether a browser page from ``origin`` may open a socket (``REALTIME_ALLOWED_ORIGINS``;
    ``*`` allows any)."""
    allowed = [value.rstrip("/").lower() for value in settings.REALTIME_ALLOWED_ORIGINS]
    if "*" in allowed:
        return True
    parts = urlsplit(origin.strip().lower())
    if not parts.scheme or not parts.netloc:
        return False  # "null" (sandboxed pages, files) and garbage
    return f"{parts.scheme}://{parts.netloc}" in allowed


class OriginCheck:
    """Refuses the handshake (HTTP 403) of a socket opened from a page of another origin.

    Browsers always send ``Origin``, so a foreign page cannot leave it out; native apps send
    none, and sockets are authenticated by ticket, not cookie: a missing ``Origin`` is allowed.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket":
            origin = dict(scope.get("headers") or []).get(b"origin")
            if origin is not None and not origin_allowed(origin.decode("latin-1")):
                return await WebsocketDenier.as_asgi()(scope, receive, send)
        return await self.application(scope, receive, send)


websocket_urlpatterns = [path("ws/v1/events", EventsConsumer.as_asgi())]

websocket_application = OriginCheck(URLRouter(websocket_urlpatterns))
