"""Meters, grams and seconds inside; kilometres, kilograms and minutes only at the API's edge."""

from __future__ import annotations

import math
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def km(meters: float | None) -> float:
    return round((meters or 0) / 1000.0, 2)


def kg(grams: float | None) -> float:
    return round((grams or 0) / 1000.0, 2)


def minutes_up(seconds: float) -> int:
    return max(0, math.ceil(seconds / 60))


@extend_schema_field(
    {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:00"}
)
class HourMinuteField(serializers.TimeField):
    """A time of day as ``HH:MM``. Not an OpenAPI ``format: time``, which means a full RFC 3339
    time with seconds and an offset."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)
