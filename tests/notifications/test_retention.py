"""Retention in notifications: couriers' last positions and the event log (with its pushes and
mail-digest entries) go after their time; what is recent stays; a second run changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.gis.geos import Point
from django.utils import timezone

from notifications.models import EmailOutbox, Event, LastPosition, PushOutbox
from notifications.services import events_prune, notify, positions_purge
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

ACCEPTED = {
    "loan_id": 381,
    "item_id": 52,
    "item_title": "Perceuse Bosch",
    "owner_id": 8,
    "owner_name": "Léa",
    "starts_at": "2026-05-16T09:00:00+02:00",
    "ends_at": "2026-05-18T18:00:00+02:00",
}


def test_couriers_positions_go_after_their_time(settings):
    settings.NOTIFICATIONS_POSITION_RETENTION_HOURS = 24
    now = timezone.now()
    for user, hours in ((UserFactory(), 25), (UserFactory(), 2)):
        LastPosition.objects.create(
            user=user,
            point=Point(24.94, 60.17, srid=django_settings.GEO_SRID),
            measured_at=now - timedelta(hours=hours),
            received_at=now - timedelta(hours=hours),
        )
    assert positions_purge() == 1
    assert list(LastPosition.objects.values_list("measured_at", flat=True)) == [
        now - timedelta(hours=2)
    ]
    assert positions_purge() == 0
    assert LastPosition.objects.count() == 1


def test_old_events_go_with_their_push_and_mail_digest_entries(settings):
    settings.NOTIFICATIONS_EVENT_RETENTION_DAYS = 14
    settings.PUSH_ENABLED = True
    person = UserFactory()  # no device: loan.accepted also waits for their mail digest
    old = notify(event_type="loan.accepted", recipients=[person], data=ACCEPTED)[0]
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=15))
    recent = notify(event_type="loan.accepted", recipients=[person], data=ACCEPTED)[0]
    assert EmailOutbox.objects.count() == PushOutbox.objects.count() == 2

    assert events_prune() == 1
    for model in (Event, PushOutbox, EmailOutbox):
        assert list(model.objects.values_list("pk", flat=True)) == [recent.pk]
    assert events_prune() == 0
    assert list(Event.objects.values_list("pk", flat=True)) == [recent.pk]
