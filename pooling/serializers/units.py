"""Meters, grams and seconds inside; kilometres, kilograms and minutes only at the API's edge."""

from __future__ import annotations

import math


def km(meters: float | None) -> float:
    return round((meters or 0) / 1000.0, 2)


def kg(grams: float | None) -> float:
    return round((grams or 0) / 1000.0, 2)


def minutes_up(seconds: float) -> int:
    return max(0, math.ceil(seconds / 60))
