"""Pagination of every list: ``?limit=&offset=``, with a cap on ``limit``.

``limit`` defaults to ``REST_FRAMEWORK["PAGE_SIZE"]`` and is capped at ``API_MAX_PAGE_SIZE``: a
larger value is served as the cap (DRF's behaviour), never as an unbounded page.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    @property
    def max_limit(self) -> int:  # type: ignore[override]
        return int(settings.API_MAX_PAGE_SIZE)

    def get_offset(self, request):
        # Past every row anyway; a larger number would not fit PostgreSQL's OFFSET (bigint).
        return min(super().get_offset(request), MAX_OFFSET)


MAX_OFFSET = 2**31 - 1
