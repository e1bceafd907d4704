"""What Daphne answers itself, before the application sees a request.

backend/asgi.py calls :func:`install` in the Daphne process (``daphne backend.asgi:application``
imports the application before it serves). Two changes to Daphne's request class:

- **No form parsing by Twisted.** Twisted's ``Request`` parses the body of a POST sent as
  ``multipart/form-data`` or ``application/x-www-form-urlencoded`` into ``request.args``, which
  Daphne never reads (it hands the raw body to the application), and answers a body it cannot
  parse (an empty multipart body, a missing boundary) with a bare ``400`` and no body, on any
  path, ``/healthz`` included. Turned off: the application parses bodies and refuses bad ones
  in the error format (backend/parsers.py).
- **Its own errors in the error format.** Daphne refuses header names and values with control
  characters, and paths and query strings with raw bytes outside ASCII, with an HTML page; it
  answers an application that fails or times out with one too. They are JSON in the API's
  error format here, in the language of ``Accept-Language``, with ``Content-Language``.

What Twisted refuses while reading the HTTP framing itself (a malformed request line or
header, a request line or headers over 16 KiB, a bad ``Content-Length``) comes before any path
is known and stays a bare ``400``.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from daphne import http_protocol
from django.utils import translation
from django.utils.translation import gettext as _
from twisted.web import http

from backend.error_handlers import language_of, status_error_body
from backend.errors import error_body

# Daphne's reasons (the body of its error pages), and what the error format says instead.
_REASONS = {
    "Invalid header name": ("invalid", lambda: _("A header name is invalid.")),
    "Invalid header value": (
        "invalid_character",
        lambda: _("A header value holds a character that is not allowed."),
    ),
    "Invalid characters in path": (
        "invalid_character",
        lambda: _("The path holds a character that is not allowed."),
    ),
    "Invalid query string": (
        "invalid_character",
        lambda: _("The query string holds a character that is not allowed."),
    ),
}


# Twisted 24.7 and later can be told not to parse form bodies; before, it always did.
_CAN_SKIP_FORMS = "parsePOSTFormSubmission" in inspect.signature(http.Request.__init__).parameters


class WebRequest(http_protocol.WebRequest):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if _CAN_SKIP_FORMS:
            kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)

    def basic_error(self, status: int, status_text: bytes, body: str) -> None:
        accept = self.requestHeaders.getRawHeaders(b"accept-language") or [b""]
        language = language_of(accept[0].decode("latin-1"))
        with translation.override(language):
            if status == 400 and body in _REASONS:
                code, message = _REASONS[body]
                payload = error_body(code, message())
            else:
                payload = status_error_body(status)
            content = json.dumps(payload).encode()
        self.handle_reply(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"Content-Type", b"application/json"),
                    (b"Content-Language", language.encode()),
                ],
            }
        )
        self.handle_reply({"type": "http.response.body", "body": content})


def install() -> None:
    """Daphne builds each connection's requests with ``http_protocol.WebRequest``: ours."""
    http_protocol.WebRequest = WebRequest
