"""The inbox's read state: a person marks one event read, or all of them up to an id.

An event is unread until ``Event.read_at`` is set; it is never unset. Both writes are one
``UPDATE`` of the person's own rows that are still unread, so they are idempotent and safe under
concurrency: two devices marking at once set each row once (the second waits for the first's
row locks, then finds nothing left to mark), and an event that commits while "all read" runs
has a higher ``seq`` than the one the client saw, so it stays unread.

After the commit, every open socket of the person hears of it (``notifications.read``), through
:func:`notifications.fanout.fanout_control`, when something was marked.
"""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.errors import NotFoundError
from notifications.fanout import fanout_control
from notifications.models import Event
from notifications.selectors import Unread, inbox_unread, stream_last_seq

READ_MESSAGE = "notifications.read"


class NotificationNotFoundError(NotFoundError):
    code = "notification_not_found"
    default_message = _("No such notification.")


def event_mark_read(*, user_id: int, seq: int) -> Unread:
    """Marks the person's event ``seq`` read (again: nothing changes); someone else's or an
    unknown one (or one the log no longer keeps) is :class:`NotificationNotFoundError`."""
    with transaction.atomic():
        marked = Event.objects.filter(recipient_id=user_id, seq=seq, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        if not marked and not Event.objects.filter(recipient_id=user_id, seq=seq).exists():
            raise NotificationNotFoundError()
        unread = inbox_unread(user_id=user_id)
        if marked:
            transaction.on_commit(
                partial(
                    fanout_control,
                    [user_id],
                    READ_MESSAGE,
                    ids=[seq],
                    unread=unread.unread,
                    last_id=unread.last_id,
                ),
                robust=True,
            )
    return unread


def events_mark_all_read(*, user_id: int, up_to: int | None = None) -> tuple[int, Unread]:
    """Marks the person's events up to ``up_to`` read (default: up to their latest); an event
    with a higher id, one that arrives meanwhile included, stays unread.

    ``up_to`` beyond the person's latest id counts as their latest, so that an event logged
    later is never marked by a request that did not see it. Returns the ``up_to`` applied and
    the unread count after it.
    """
    with transaction.atomic():
        # Read before the UPDATE: an event that commits in between has a higher seq.
        latest = stream_last_seq(user_id=user_id)
        applied = latest if up_to is None else min(up_to, latest)
        marked = Event.objects.filter(
            recipient_id=user_id, seq__lte=applied, read_at__isnull=True
        ).update(read_at=timezone.now())
        unread = inbox_unread(user_id=user_id)
        if marked:
            transaction.on_commit(
                partial(
                    fanout_control,
                    [user_id],
                    READ_MESSAGE,
                    up_to=applied,
                    unread=unread.unread,
                    last_id=unread.last_id,
                ),
                robust=True,
            )
    return applied, unread
