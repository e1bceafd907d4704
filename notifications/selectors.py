"""Reads of the notifications app: what a socket replays, the topics it listens to, the inbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from notifications.catalogue import CATALOGUE, event_link
from notifications.models import Event, EventStream, TopicSubscription


def envelope(event: Event) -> dict[str, Any]:
    """An event as clients see it (as :func:`notifications.fanout.envelope_tail` sends it)."""
    body = {
        "id": event.seq,
        "type": event.type,
        "at": timezone.localtime(event.created_at).isoformat(),
        "data": event.data,
    }
    link = event_link(event.type, event.data)
    if link is not None:
        body["link"] = link
    return body


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


# --- the inbox ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxPage:
    """A page of the inbox: its items (``id``, ``type``, ``at``, ``data``, ``read``, ``title``,
    ``body``, ``link``), newest first, and the cursor of the next (older) page, ``None`` on the last."""

    items: list[dict[str, Any]]
    next_before: int | None


def inbox_page(
    *, user_id: int, language: str, before: int | None, limit: int, unread_only: bool
) -> InboxPage:
    """The person's events with ``seq < before`` (all when ``None``), newest first, ``limit``
    at most, with their texts in ``language``.

    The cursor is a ``seq``: unique per person and only ever growing, so paging back while new
    events arrive shows each event once, without gaps. One query, whatever ``limit`` (the
    unique index on ``(recipient, seq)``, or the partial index of the unread).
    """
    rows: QuerySet[Event] = Event.objects.filter(recipient_id=user_id)
    if before is not None:
        rows = rows.filter(seq__lt=before)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    events = list(
        rows.order_by("-seq").only("seq", "type", "data", "created_at", "read_at")[: limit + 1]
    )
    page = events[:limit]
    items = []
    for event in page:
        title, body = event_texts(event, language)
        items.append(
            {
                "id": event.seq,
                "type": event.type,
                "at": event.created_at,
                "data": event.data,
                "read": event.read_at is not None,
                "title": title,
                "body": body,
                "link": event_link(event.type, event.data),
            }
        )
    return InboxPage(items=items, next_before=page[-1].seq if len(events) > limit else None)


@dataclass(frozen=True)
class Unread:
    """How many of the person's events are unread, counted up to ``last_id`` (their latest)."""

    unread: int
    last_id: int


def inbox_unread(*, user_id: int) -> Unread:
    """One statement, so one snapshot: the count covers exactly the events up to ``last_id``
    (a person's events commit in ``seq`` order), and a client adds the unread ones it receives
    with a higher id."""
    row = Event.objects.filter(recipient_id=user_id).aggregate(
        unread=Count("pk", filter=Q(read_at__isnull=True)), last_id=Max("seq")
    )
    return Unread(unread=row["unread"], last_id=row["last_id"] or 0)


def unread_counts(*, user_ids: list[int]) -> dict[int, int]:
    """How many events each of ``user_ids`` has unread (their badge), in one query on the
    partial index of the unread; someone with none is missing from the answer."""
    rows = (
        Event.objects.filter(recipient_id__in=user_ids, read_at__isnull=True)
        .order_by()
        .values("recipient_id")
        .annotate(unread=Count("pk"))
        .values_list("recipient_id", "unread")
    )
    return dict(rows)


def event_texts(event: Event, language: str) -> tuple[str | None, str | None]:
    """The title and body of ``event`` as its push shows them, in ``language``; ``(None, None)``
    for a type without texts (or no longer in the catalogue)."""
    kind = CATALOGUE.get(event.type)
    if kind is None or kind.title is None or kind.body is None:
        return None, None
    try:
        return kind.push_text(event.data, language)
    except KeyError:  # logged before a field was added to its type: no text rather than a 500
        return None, None
