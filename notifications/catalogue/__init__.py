"""The catalogue of events: every type the code may emit, the data it carries, how it pushes.

:func:`notifications.services.notify` refuses a type that is not here and data that does not
match its fields. ``docs/events.md`` carries the rendering of this catalogue (``manage.py
events_doc`` writes it) and a test fails when the two differ, or when code anywhere calls
``notify`` with a type this catalogue lacks.

Push texts are translated (French and English) and formatted with the event's data, so every
placeholder of a title or body is a required field of its type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notifications.catalogue import docs
from notifications.catalogue.deliveries import DELIVERIES
from notifications.catalogue.lending import LENDING
from notifications.catalogue.system import SYSTEM
from notifications.catalogue.types import (
    DATA_MAX_BYTES,
    PLACEHOLDER,
    EventType,
    InvalidEventDataError,
    Kind,
    Push,
    UnknownEventTypeError,
    define,
)

CATALOGUE: dict[str, EventType] = define(*LENDING, *DELIVERIES, *SYSTEM)


def event_type_get(name: str) -> EventType:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownEventTypeError(
            f"unknown event type {name!r}: add it to notifications/catalogue/"
        ) from None


def event_link(event_type: str, data: Mapping[str, Any]) -> str | None:
    """The deep link of an event of ``event_type`` with ``data``: in its push, its envelope on
    the socket and its inbox item (``None``: a type without one, or no longer catalogued)."""
    kind = CATALOGUE.get(event_type)
    return None if kind is None else kind.link(data)


def catalogue_markdown() -> str:
    """The per-type reference of docs/events.md."""
    return docs.catalogue_markdown(CATALOGUE)


__all__ = [
    "CATALOGUE",
    "DATA_MAX_BYTES",
    "PLACEHOLDER",
    "EventType",
    "InvalidEventDataError",
    "Kind",
    "Push",
    "UnknownEventTypeError",
    "catalogue_markdown",
    "event_link",
    "event_type_get",
]
