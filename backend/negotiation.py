"""Content negotiation for the answers that are bytes of one type whatever the client accepts
(street tiles, the open data files): the view builds the body itself; an error is JSON, the
view's first renderer. DRF's default would refuse an ``Accept: text/csv`` with 406 before the
view runs."""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import BaseContentNegotiation


class AnyAccept(BaseContentNegotiation):
    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return (renderers[0], renderers[0].media_type)
