"""One error format for the whole API: ``{"code": ..., "detail": ..., "fields": {...}}``.

Domain code raises :class:`DomainError` (or a subclass) with a stable machine ``code`` and a
translatable message; the exception handlers (:mod:`backend.error_handlers`) turn it, and every
DRF or Django error, into that shape in the language the request asked for. A 500 never echoes
exception text.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy


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
