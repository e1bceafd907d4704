"""One error format for the whole API: ``{"code": ..., "detail": ..., "fields": {...}}``.

Domain code raises :class:`DomainError` (or a subclass) with a stable machine ``code`` and a
translatable message; the DRF exception handler below turns it, and every DRF or Django error,
into that shape in the language the request asked for. A 500 never echoes exception text.
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
from django.utils.translation import gettext_lazy, ngettext
from rest_framework import exceptions as drf
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """An expected refusal, with a stable machine code and a human message."""

    status_code = 400
    code = "invalid"
    default_message: Any = gettext_lazy("The request is invalid.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        if status is not None:
            self.status_code = status
        self.fields = fields or {}
        super().__init__(str(self.message))


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"
    default_message = gettext_lazy("Not found.")


class ForbiddenError(DomainError):
    status_code = 403
    code = "forbidden"
    default_message = gettext_lazy("You are not allowed to do this.")


class ConflictError(DomainError):
    status_code = 409
    code = "conflict"
    default_message = gettext_lazy("This conflicts with the current state.")


class UnavailableError(DomainError):
    status_code = 503
    code = "unavailable"
    default_message = gettext_lazy("A service this request needs is unavailable; try again later.")


def error_body(code: str, detail: Any, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "detail": str(detail), "fields": fields or {}}


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
        from backend.database import circuit

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
    if isinstance(exc, OperationalError | InterfaceError):
        from backend.database import circuit, unavailable_response

        if circuit.report(exc):
            return unavailable_response()
    return JsonResponse(error_body("server_error", _("Internal server error.")), status=500)
