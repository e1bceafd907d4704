"""The whole demo (what `make run` seeds) is idempotent in any order: a second round of the
seeding commands changes nothing, whatever the first round left in the database."""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

SEEDS = ["seed_demo", "seed_sharing_demo", "seed_pooling_demo"]
DAY = ["--day", "2026-05-15"]


def _seed(command: str) -> None:
    call_command(command, *(DAY if command == "seed_pooling_demo" else []), stdout=StringIO())


def _rows() -> dict[str, int]:
    labels = ("accounts", "neighbourhoods", "sharing", "pooling", "notifications")
    return {
        model._meta.label: model.objects.count()
        for label in labels
        for model in apps.get_app_config(label).get_models()
    }


@pytest.mark.django_db
@pytest.mark.parametrize("order", [SEEDS, list(reversed(SEEDS))], ids=["make-run", "reversed"])
def test_the_whole_demo_seeds_twice_in_any_order(street_graph, order):
    for command in order:
        _seed(command)
    first = _rows()
    assert first["sharing.Item"] == 201 and first["pooling.Order"] >= 40
    for command in order:
        _seed(command)
    assert _rows() == first


@pytest.mark.django_db
def test_demo_login_prints_the_address_served():
    out = StringIO()
    call_command("demo_login", "--host", "127.0.0.1", "--port", "18123", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:18123/admin/" in text
    assert "curl -s -X POST http://127.0.0.1:18123/api/v1/auth/token" in text
    assert ":8000" not in text
