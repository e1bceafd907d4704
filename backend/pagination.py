"""Pagination: cursors for the lists that grow (below), ``?limit=&offset=`` for ranked results.

``limit`` defaults to ``REST_FRAMEWORK["PAGE_SIZE"]`` and is capped at ``API_MAX_PAGE_SIZE``: a
larger value is served as the cap (DRF's behaviour), never as an unbounded page.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.exceptions import NotFound

from backend.errors import DomainError


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    @property
    def max_limit(self) -> int:  # type: ignore[override]
        return int(settings.API_MAX_PAGE_SIZE)

    def get_offset(self, request):
        # Past every row anyway; a larger number would not fit PostgreSQL's OFFSET (bigint).
        return min(super().get_offset(request), MAX_OFFSET)


MAX_OFFSET = 2**31 - 1


class CursorPagination(pagination.CursorPagination):
    """The pagination of every list that grows: ``?limit=`` (capped at ``API_MAX_PAGE_SIZE``) and an
    opaque ``?cursor=`` that the answer's ``next`` and ``previous`` links carry. A page does not
    shift when rows are added before it (an offset would repeat or skip them).

    The order is the list's own (its queryset's ``order_by``, else its model's), ended by the
    primary key so that equal values keep one order; the cursor holds the position in it."""

    cursor_query_param = "cursor"
    page_size_query_param = "limit"

    def get_page_size(self, request: Any) -> int:
        """``?limit=`` (a positive whole number), capped at ``API_MAX_PAGE_SIZE``; else
        ``PAGE_SIZE``. Settings are read at each request."""
        cap = int(settings.API_MAX_PAGE_SIZE)
        default = int(str(settings.REST_FRAMEWORK.get("PAGE_SIZE") or 50))
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and raw.isdigit() and int(raw) > 0:
            return min(int(raw), cap)
        return min(default, cap)

    def decode_cursor(self, request: Any) -> Any:
        """A cursor the server did not write is bad input: 400 ``invalid_cursor`` (DRF says 404)."""
        try:
            return super().decode_cursor(request)
        except NotFound as error:
            message = _("This cursor is not valid: follow the next link of a page.")
            raise DomainError(
                message, code="invalid_cursor", fields={"cursor": [message]}
            ) from error

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        ordering = [
            str(o) for o in (queryset.query.order_by or queryset.model._meta.ordering or ())
        ] or ["-pk"]
        if not any(o.lstrip("-") in ("pk", "id") for o in ordering):
            ordering.append("-pk" if ordering[0].startswith("-") else "pk")
        return tuple(ordering)
