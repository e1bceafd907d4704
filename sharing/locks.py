"""Row locks, through small named helpers (always inside a transaction)."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from backend.errors import NotFoundError


def lock(model: type[Model], pk: Any) -> Any:
    """Locks one row for the rest of the transaction; 404 when it does not exist."""
    try:
        return model.objects.select_for_update().get(pk=pk)  # type: ignore[attr-defined]
    except model.DoesNotExist:  # type: ignore[attr-defined]
        raise NotFoundError() from None
