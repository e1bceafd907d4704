"""The RGPD's rights of erasure (art. 17) and access and portability (art. 15 and 20), app by app.

``accounts`` knows no domain, yet deleting a person or exporting their data touches every app.
So each app registers a :class:`RgpdHandler` from its ``AppConfig.ready()`` (in ``<app>/rgpd.py``,
using that app's own services), declaring the foreign keys to the user it takes care of:

- ``blockers(user)``: what the person must settle first (an object in their hands, lent out);
- ``erase(user)``: in the deletion's transaction, withdraws, closes, deletes or keeps (pointing to
  the pseudonymous "former member") each row; answers the storage files to delete after commit;
- ``export(user, writer)``: adds JSON files and photos to the person's export.

A test lists every foreign key to the user model and fails on any that no handler declares: a new
model cannot forget the person's rights.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Protocol

from django.contrib.gis.geos import GEOSGeometry
from psycopg.types.range import Range

from accounts.models import User


class ExportWriter(Protocol):
    """Where a handler writes its part of an export (a zip file, in accounts.services.export)."""

    def json(self, name: str, data: Any) -> None:
        """Adds ``name`` (e.g. ``sharing/items.json``) holding ``data`` as JSON."""

    def file(self, name: str, storage_name: str) -> bool:
        """Adds the file ``storage_name`` of the default storage as ``name``; False if missing."""


@dataclass(frozen=True)
class Blocker:
    """Something the person must settle before their account can be deleted."""

    kind: str
    id: int
    label: str
    role: str


@dataclass(frozen=True)
class RgpdHandler:
    name: str
    # (model label, field name) of every foreign key, one-to-one or many-to-many to the user
    # model that this handler takes care of, e.g. ("sharing.Loan", "borrower").
    covers: tuple[tuple[str, str], ...]
    erase: Callable[[User], list[str]]
    export: Callable[[User, ExportWriter], None]
    blockers: Callable[[User], list[Blocker]] = field(default=lambda user: [])
    # Handlers erase in this order (the lower first): notifications and accounts last, so that
    # the events other handlers send to the person themself are erased too.
    order: int = 50


_handlers: dict[str, RgpdHandler] = {}


def register(handler: RgpdHandler) -> None:
    """Registers (or replaces, for a reloaded app) ``handler``."""
    _handlers[handler.name] = handler


def handlers() -> list[RgpdHandler]:
    return sorted(_handlers.values(), key=lambda handler: (handler.order, handler.name))


def covered_fields() -> set[tuple[str, str]]:
    return {pair for handler in _handlers.values() for pair in handler.covers}


def rows(values: Iterable[Mapping[str, object]]) -> list[dict[str, Any]]:
    """``values()`` rows ready for JSON (dates as ISO strings, ranges as two bounds)."""
    out = []
    for row in values:
        out.append({key: _plain(value) for key, value in row.items()})
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Range):
        return {"start": _plain(value.lower), "end": _plain(value.upper)}
    if isinstance(value, GEOSGeometry):
        return json.loads(value.geojson)
    return value
