"""Django's ASGI handler with each request's middleware and view in one trip to a thread.

Under ASGI, Django runs its middleware chain in async mode, and each of its own middleware
(``MiddlewareMixin``) then reaches its sync ``process_request`` and ``process_response``
through ``sync_to_async``: about fifteen thread hops per request, 8 to 10 ms on this project's
2-core machine for a view that does nothing. The views are sync (DRF), so the chain is loaded in
sync mode, as under WSGI, and the whole of it runs in one ``sync_to_async`` call: what stays
async is what belongs to the server (reading the body, watching for a disconnect, sending the
response), and websockets, which do not come here. Figures in docs/benchmarks.md.

A request Django cannot even build (a query string that is not UTF-8) is answered in the API's
error format and the language of its ``Accept-Language``, as every other error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpRequest, HttpResponseBase, JsonResponse
from django.utils import translation


class DjangoHandler(ASGIHandler):
    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    def create_request(
        self, scope: Mapping[str, Any], body_file: IO[bytes]
    ) -> tuple[ASGIRequest, None] | tuple[None, HttpResponseBase]:
        built = super().create_request(scope, body_file)
        error = built[1]
        if error is None:
            return built
        from backend.error_handlers import language_of, status_error_body

        headers = dict(scope.get("headers") or [])
        language = language_of(headers.get(b"accept-language", b"").decode("latin-1"))
        with translation.override(language):
            response = JsonResponse(status_error_body(error.status_code), status=error.status_code)
        response["Content-Language"] = language
        return None, response

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        # ASGI servers chunk files themselves: read them in large blocks (as Django does).
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response


def get_asgi_application() -> DjangoHandler:
    """``django.core.asgi.get_asgi_application`` with :class:`DjangoHandler`."""
    import django

    django.setup(set_prefix=False)
    return DjangoHandler()
