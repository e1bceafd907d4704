"""The database router: every write to the primary, no read sent anywhere on its own.

The reads that may go to the read replica ask for it explicitly (``backend.replicas``); all other
reads use the primary, as without a router. What this router adds:

* a write always goes to the primary, even for an object that was read from the replica (Django
  would otherwise write it back where it was read from), and the request or task that writes is
  noted, so that its later reads stay on the primary (read-your-own-writes);
* rows of the primary and of the replica may be related (they are the same database);
* migrations run on the primary only (a standby replays them from the WAL).
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model

from backend.replicas import REPLICA, note_write

_ALIASES = {DEFAULT_DB_ALIAS, REPLICA}


class PrimaryReplicaRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        return None  # the primary, unless the read asked (``.using()``) or its instance says

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        note_write()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        if obj1._state.db in _ALIASES and obj2._state.db in _ALIASES:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
