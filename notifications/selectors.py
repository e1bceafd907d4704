"""Reads of the notifications app: what a socket replays, the topics it listens to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from notifications.models import Event, EventStream, TopicSubscription


def envelope(event: Event) -> dict[str, Any]:
    """An event as clients see it."""
    return {
        "id": event.seq,
        "type": event.type,
        "at": timezone.localtime(event.created_at).isoformat(),
        "data": event.data,
    }


def stream_last_seq(*, user_id: int) -> int:
    """The ``id`` of the person's latest event, 0 before the first."""
    last = EventStream.objects.filter(user_id=user_id).values_list("last_seq", flat=True).first()
    return last or 0


def streams_last_seq(*, user_ids: list[int]) -> dict[int, int]:
    """The ``id`` of the latest event of each of ``user_ids`` that has one."""
    return dict(EventStream.objects.filter(user_id__in=user_ids).values_list("user_id", "last_seq"))


def user_topics(*, user_id: int) -> list[str]:
    return list(
        TopicSubscription.objects.filter(user_id=user_id)
        .order_by("topic")
        .values_list("topic", flat=True)
    )


@dataclass(frozen=True)
class CatchUp:
    """What a socket sends before live events: the missed ones, or a resync."""

    last_seq: int
    events: list[dict[str, Any]]
    resync: str | None = None


def events_between(*, user_id: int, after: int, upto: int) -> list[dict[str, Any]] | None:
    """The envelopes with ``after < id <= upto``, in order; ``None`` when some are no longer in
    the log."""
    if upto <= after:
        return []
    events = list(
        Event.objects.filter(recipient_id=user_id, seq__gt=after, seq__lte=upto).order_by("seq")
    )
    if [event.seq for event in events] != list(range(after + 1, upto + 1)):
        return None
    return [envelope(event) for event in events]


def socket_catch_up(*, user_id: int, after: int | None, limit: int) -> CatchUp:
    """The events a socket that saw ``after`` missed (``None``: a new socket, nothing missed).

    Call it once the socket listens to the live events, so that nothing falls between the two:
    a live event already replayed here is dropped by the socket for its ``id``.
    """
    last = stream_last_seq(user_id=user_id)
    if after is None or after == last:
        return CatchUp(last_seq=last, events=[])
    if after > last:
        return CatchUp(last_seq=last, events=[], resync="unknown_id")
    if last - after > limit:
        return CatchUp(last_seq=last, events=[], resync="too_far_behind")
    events = events_between(user_id=user_id, after=after, upto=last)
    if events is None:
        return CatchUp(last_seq=last, events=[], resync="log_expired")
    return CatchUp(last_seq=last, events=events)
