"""The exception handlers: every error, from DRF views and from Django itself, in the API's one
error format (:mod:`backend.errors`), in the language the request asked for.

:func:`exception_handler` is DRF's ``EXCEPTION_HANDLER``; :func:`json_404` and :func:`json_500`
are Django's ``handler404`` and ``handler500`` (backend/urls.py). A 500 never echoes exception
text. A database that cannot be reached is a 503
with ``Retry-After``, reported to the circuit breaker (:mod:`backend.database`).

Whatever else answers with an error under ``/api/`` or from the probes (Django's debug pages with
``DEBUG`` on, its 400 and 403 pages, the 405 of a plain Django view) is rewritten into the same
format by :class:`ErrorFormatMiddleware`; the ASGI handler (backend/handler.py) and Daphne
itself (backend/server.py) answer their own errors with :func:`status_error_body` too, in the
language of :func:`language_of` the request's ``Accept-Language``.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.utils.translation.trans_real import parse_accept_lang_header
from rest_framework import exceptions as drf
from rest_framework.response import Response

from backend.database import circuit, unavailable_response
from backend.errors import DomainError, ForbiddenError, UnavailableError, error_body

# The name these records had before the handlers moved here (log searches and alerts use it).
logger = logging.getLogger("backend.errors")


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        return Response(
            error_body(exc.code, exc.message, _flatten(exc.fields)), status=exc.status_code
        )
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig | TooManyFilesSent):
        return Response(error_body("too_large", _("The request body is too large.")), status=413)
    elif isinstance(exc, TooManyFieldsSent):
        return Response(error_body("invalid", _("The request has too many fields.")), status=400)

    if isinstance(exc, drf.Throttled):
        seconds = max(1, math.ceil(getattr(exc, "wait", None) or 1))
        return Response(
            error_body(
                "throttled",
                ngettext(
                    "Too many requests: try again in %(seconds)d second.",
                    "Too many requests: try again in %(seconds)d seconds.",
                    seconds,
                )
                % {"seconds": seconds},
            ),
            status=429,
            headers={"Retry-After": str(seconds)},
        )

    if isinstance(exc, drf.ValidationError):
        detail = exc.detail
        fields = (
            _flatten(detail) if isinstance(detail, dict) else {"non_field_errors": _flatten(detail)}
        )
        first = _first_message(fields)
        return Response(
            error_body("invalid", first or _("The request is invalid."), fields), status=400
        )
    if isinstance(exc, drf.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        message: Any = exc.detail if isinstance(exc.detail, str) else exc.default_detail
        return Response(error_body(str(code), message), status=exc.status_code, headers=headers)
    if isinstance(exc, OperationalError | InterfaceError):
        retry_after = str(settings.DB_UNAVAILABLE_RETRY_AFTER)
        if circuit.report(exc):  # the server is unreachable: fail fast until it is back
            return Response(
                error_body("database_unavailable", UnavailableError.default_message),
                status=503,
                headers={"Retry-After": retry_after},
            )
        logger.warning("database unavailable: %s", type(exc).__name__)
        return Response(
            error_body("unavailable", UnavailableError.default_message),
            status=503,
            headers={"Retry-After": retry_after},
        )
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    else:
        logger.exception("unhandled error in API view")
    return Response(error_body("server_error", _("Internal server error.")), status=500)


def _first_message(fields: Any) -> str | None:
    if isinstance(fields, dict):
        for key, value in fields.items():
            msg = _first_message(value)
            if msg:
                return msg if key == "non_field_errors" else f"{key}: {msg}"
    elif isinstance(fields, list):
        for value in fields:
            msg = _first_message(value)
            if msg:
                return msg
    elif isinstance(fields, str):
        return fields
    return None


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", _("Not found.")), status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    # Django calls this while handling the exception: a database that cannot be reached (from a
    # middleware, outside any view) is a 503, not a 500.
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError) and circuit.report(exc):
        return unavailable_response()
    return JsonResponse(error_body("server_error", _("Internal server error.")), status=500)


# --- answers that no handler above wrote ---------------------------------------------------------

# Where every answer is JSON: the API (its schema and docs pages included) and the probes.
JSON_PATHS = ("/api/", "/healthz", "/readyz")
# Pages opened from links in mails (accounts/pages.py, notifications/pages.py), the documents,
# the items' photos and the page of a code printed on paper (sharing/pages.py): HTML for a browser
# (``Accept`` names ``text/html``), the error format for any other client.
PAGE_PATHS = ("/email/", "/account/", "/legal/", "/media/", "/i/")


def _wants_json(request: HttpRequest) -> bool:
    path = request.path_info
    if path.startswith(JSON_PATHS):
        return True
    return path.startswith(PAGE_PATHS) and "text/html" not in request.headers.get("Accept", "")


def status_error_body(status: int, method: str = "") -> dict[str, Any]:
    """The error format for an answer of ``status`` that says nothing more (in the active
    language)."""
    if status == 400:
        return error_body("invalid", DomainError.default_message)
    if status == 401:
        return error_body("not_authenticated", _("Authentication credentials were not provided."))
    if status == 403:
        return error_body("forbidden", ForbiddenError.default_message)
    if status == 404:
        return error_body("not_found", _("Not found."))
    if status == 405:
        return error_body(
            "method_not_allowed", _('Method "%(method)s" not allowed.') % {"method": method}
        )
    if status == 413:
        return error_body("too_large", _("The request body is too large."))
    if status == 415:
        return error_body("unsupported_media_type", _("This media type is not supported here."))
    if status in (502, 503, 504):
        return error_body("unavailable", UnavailableError.default_message)
    if status >= 500:
        return error_body("server_error", _("Internal server error."))
    try:
        phrase = HTTPStatus(status).phrase.lower().replace("'", "")
        code = re.sub(r"[^a-z0-9]+", "_", phrase).strip("_")  # "Request-URI Too Long": ..._too_long
    except ValueError:
        code = "error"
    return error_body(code, _("The request could not be served."))


def language_of(accept_language: str) -> str:
    """The language Django's LocaleMiddleware would pick from ``Accept-Language`` alone, for
    answers written before a request exists (backend/handler.py, backend/server.py)."""
    for code, _quality in parse_accept_lang_header(accept_language or ""):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def _is_json(response: HttpResponseBase) -> bool:
    media_type = str(response.get("Content-Type", "")).split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class ErrorFormatMiddleware:
    """Every error answer (400 and up) under ``/api/`` and from the probes (and under
    ``/email/`` for a client that does not ask for HTML) is in the error format: one that is not JSON (Django's debug pages with ``DEBUG`` on, the 405 of a plain
    Django view, Django's own 400 and 403 pages) is rewritten, in the request's language (the
    locale middleware comes first), keeping its status and headers (``Allow``,
    ``Retry-After``...). A JSON answer is left as it is (``/readyz`` reports its checks)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code < 400 or not _wants_json(request) or _is_json(response):
            return response
        rewritten = JsonResponse(
            status_error_body(response.status_code, request.method or ""),
            status=response.status_code,
        )
        for name, value in response.items():
            if name.lower() not in ("content-type", "content-length"):
                rewritten[name] = value
        rewritten.cookies = response.cookies
        # Not response.close(): that sends request_finished, which closes the database
        # connection in the middle of the request. An error page holds no open resource.
        return rewritten
