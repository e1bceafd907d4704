"""The day of a batch: its local midnight, seconds since it, and time windows as intervals.

Inside, planning counts seconds from the batch day's local midnight (``TIME_ZONE``); datetimes
with a time zone only appear at the edges (the database, the API, notifications).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

Window = tuple[int, int]


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_origin(day: date) -> datetime:
    """The local midnight that starts ``day``, aware."""
    return datetime.combine(day, time(0, 0), tzinfo=local_zone())


def seconds_of(day: date, moment: datetime) -> int:
    return int((moment - day_origin(day)).total_seconds())


def at_seconds(day: date, seconds: float) -> datetime:
    """The aware local datetime ``seconds`` after the day's midnight (DST-safe: wall clock)."""
    origin = day_origin(day)
    return (origin.astimezone(ZoneInfo("UTC")) + timedelta(seconds=seconds)).astimezone(
        local_zone()
    )


def time_seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def intersect(a: Sequence[Window], b: Sequence[Window]) -> list[Window]:
    """The intersection of two unions of intervals; an empty sequence means "any time"."""
    if not a:
        return list(b)
    if not b:
        return list(a)
    out = []
    for a0, a1 in a:
        for b0, b1 in b:
            lo, hi = max(a0, b0), min(a1, b1)
            if hi > lo:
                out.append((lo, hi))
    return sorted(out)


def clip(windows: Iterable[Window], start: int, end: int) -> list[Window]:
    return [(max(a, start), min(b, end)) for a, b in windows if min(b, end) > max(a, start)]


def service_starts(windows: Sequence[Window], service_s: int) -> list[Window]:
    """When service may start so that it ends inside one of the windows."""
    return [(a, b - service_s) for a, b in windows if b - service_s >= a]


def weekly_windows(entries: Iterable[dict], day: date) -> list[Window]:
    """The windows of a weekly pattern ([{"weekday", "start", "end"}]) that apply to ``day``."""
    out = []
    for entry in entries:
        if int(entry["weekday"]) != day.weekday():
            continue
        start = time.fromisoformat(entry["start"])
        end = time.fromisoformat(entry["end"])
        out.append((time_seconds(start), time_seconds(end)))
    return sorted(out)
