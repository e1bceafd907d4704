"""Live positions sent by apps on their socket (couriers on their rounds)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone

from notifications.models import LastPosition


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
