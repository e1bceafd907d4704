"""The pooling demo: seeded once, planned, and unchanged by a second run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from pooling.models import Assignment, Batch, Courier, Hub, Merchant, Order, RelayPoint, Route

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Merchant, Hub, Courier, RelayPoint, Order, Batch, Route, Assignment)
    }


def test_the_demo_is_seeded_planned_and_idempotent(street_graph):
    out = StringIO()
    call_command("seed_pooling_demo", "--day", "2026-05-15", stdout=out)
    text = out.getvalue()
    assert text.count("X-Api-Key vk_") == 4
    first = counts()
    assert first["Merchant"] == 4 and first["Hub"] == 1 and first["Courier"] == 3
    assert first["RelayPoint"] == 5 and first["Order"] >= 40
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.PLANNED and batch.routes.exists()
    planned = Assignment.objects.filter(released_at__isnull=True).count()
    assert planned >= 0.8 * first["Order"]
    again = StringIO()
    call_command("seed_pooling_demo", "--day", "2026-05-15", stdout=again)
    assert "X-Api-Key" not in again.getvalue()
    assert counts() == first
