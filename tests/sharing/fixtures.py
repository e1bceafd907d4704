"""Fixtures of the sharing tests, for every test (registered by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from sharing.models import Item
from sharing.services.items import item_create


@pytest.fixture
def make_item(make_resident) -> Callable[..., Item]:
    """``make_item(owner=None, title=..., category=..., **fields)``: an item listed through the
    service by ``owner`` (else a new resident of ``neighbourhood``)."""

    def make(owner=None, title="Perceuse à percussion", category="diy", **kw) -> Item:
        owner = owner or make_resident()
        return item_create(owner=owner, title=title, category=category, **kw)

    return make


@pytest.fixture
def period() -> tuple[datetime, datetime]:
    """Two days, from the day after tomorrow (whole seconds)."""
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    return start, start + timedelta(days=2)
