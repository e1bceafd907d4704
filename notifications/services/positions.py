"""Live positions sent by apps on their socket (couriers on their rounds).

Who may send one is not this module's business: ``REALTIME_POSITION_POLICY`` names a function
(user id -> bool) that the app owning couriers provides (pooling), and every accepted position is
announced with the :data:`position_received` signal, which that app listens to (ETAs). A
resident's position is never stored: nobody asked for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.dispatch import Signal
from django.utils import timezone
from django.utils.module_loading import import_string

from notifications.models import LastPosition

# Sent after a position is stored: user_id, lon, lat, measured_at, accuracy_m.
position_received = Signal()


def position_allowed(*, user_id: int) -> bool:
    """Whether this person may send positions (a courier); no policy set: nobody may."""
    path = getattr(settings, "REALTIME_POSITION_POLICY", None)
    if not path:
        return False
    return bool(import_string(path)(user_id))


def position_record(
    *, user_id: int, lon: float, lat: float, measured_at: datetime, accuracy_m: float | None
) -> None:
    """Keeps the person's latest position (one row per person, replaced in one statement)."""
    LastPosition.objects.bulk_create(
        [
            LastPosition(
                user_id=user_id,
                point=Point(lon, lat, srid=settings.GEO_SRID),
                accuracy_m=accuracy_m,
                measured_at=measured_at,
                received_at=timezone.now(),
            )
        ],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["point", "accuracy_m", "measured_at", "received_at"],
    )
    position_received.send(
        sender=LastPosition,
        user_id=user_id,
        lon=lon,
        lat=lat,
        measured_at=measured_at,
        accuracy_m=accuracy_m,
    )


def positions_purge(*, now: datetime | None = None) -> int:
    """Forgets the positions received more than ``NOTIFICATIONS_POSITION_RETENTION_HOURS`` ago
    (a courier's round is over by then); returns how many went. Idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.NOTIFICATIONS_POSITION_RETENTION_HOURS)
    deleted, _ = LastPosition.objects.filter(received_at__lt=cutoff).delete()
    return deleted
