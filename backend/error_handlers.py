"""The exception handlers: every error, from DRF views and from Django itself, in the API's one
error format (:mod:`backend.errors`), in the language the request asked for.

:func:`exception_handler` is DRF's ``EXCEPTION_HANDLER``; :func:`json_404` and :func:`json_500`
are Django's ``handler404`` and ``handler500`` (backend/urls.py). A 500 never echoes exception
text. A database that cannot be reached is a 503 with ``Retry-After``, reported to the circuit
breaker (:mod:`backend.database`).
"""

from __future__ import annotations

import logging
import math
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import exceptions as drf
from rest_framework.response import Response

from backend.database import circuit, unavailable_response
from backend.errors import DomainError, UnavailableError, error_body

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
