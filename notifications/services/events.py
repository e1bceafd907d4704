"""The one door for side effects that reach a person: :func:`notify`; and the topics and the log
it writes to."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from kombu.pools import producers

from accounts.models import User
from notifications.catalogue import Push, event_type_get
from notifications.fanout import Delivery, fanout_control, fanout_deliver, fanout_deliver_many
from notifications.models import EmailOutbox, Event, EventStream, PushOutbox, TopicSubscription
from notifications.services.digest import email_outbox_add

logger = logging.getLogger(__name__)

TOPIC = re.compile(r"^[a-z_]+\.[A-Za-z0-9_-]{1,60}$")


class InvalidTopicError(ValueError):
    """A programming error: topics look like ``neighbourhood.3``."""


def _topic_check(topic: str) -> None:
    if not isinstance(topic, str) or not TOPIC.match(topic):
        raise InvalidTopicError(f"invalid topic {topic!r}: expected <kind>.<id>")


def _recipient_ids(recipients: Iterable[int | User]) -> list[int]:
    ids = {r.pk if isinstance(r, User) else int(r) for r in recipients}
    return sorted(ids)


def _streams_advance(user_ids: list[int]) -> dict[int, int]:
    """The next ``seq`` of the log of each active account among ``user_ids``, their stream rows
    locked until the transaction ends; inactive and unknown accounts are left out.

    One statement: rows are inserted or incremented in ``user_id`` order, so two transactions
    that notify overlapping people lock them in the same order.
    """
    table = EventStream._meta.db_table
    users = User._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (user_id, last_seq)
            SELECT id, 1 FROM {users} WHERE id = ANY(%s::bigint[]) AND is_active ORDER BY id
            ON CONFLICT (user_id) DO UPDATE SET last_seq = {table}.last_seq + 1
            RETURNING user_id, last_seq
            """,  # noqa: S608 (the table names are ours; values are parameters)
            [user_ids],
        )
        return dict(cursor.fetchall())


def notify(
    *,
    event_type: str,
    data: Mapping[str, Any],
    recipients: Iterable[int | User] = (),
    topic: str | None = None,
) -> list[Event]:
    """Tells people that something happened: the one way out for events and pushes.

    ``recipients`` (users or ids) or ``topic`` (every subscriber of, say, ``neighbourhood.3``)
    receive ``data``, which must match the fields of ``event_type`` in the catalogue. In the
    caller's transaction (or its own), each recipient's log gets the event and, for types that
    push, a pending push; after the commit the event goes to open sockets and the push to the
    task queue. A rolled-back transaction sends nothing. Inactive accounts are left out.

    Each recipient's stream row stays locked until the transaction ends: call ``notify`` after
    the domain rows are locked, and keep the transaction short. It never raises because Redis or
    the broker is down: the log has the event, sockets catch up, the sweep sends the push.
    """
    kind = event_type_get(event_type)
    payload = kind.validate(data)
    if topic is not None:
        _topic_check(topic)
        if any(True for _ in recipients):
            raise ValueError("notify() takes recipients or a topic, not both")

    # No savepoint inside the caller's transaction: an error here rolls the whole of it back.
    with transaction.atomic(savepoint=False):
        if topic is not None:
            user_ids = list(
                TopicSubscription.objects.filter(topic=topic)
                .order_by("user_id")
                .values_list("user_id", flat=True)
            )
        else:
            user_ids = _recipient_ids(recipients)
        seqs = _streams_advance(user_ids) if user_ids else {}
        if not seqs:
            return []
        user_ids = sorted(seqs)
        now = timezone.now()
        events = Event.objects.bulk_create(
            [
                Event(
                    recipient_id=user_id,
                    seq=seqs[user_id],
                    type=event_type,
                    data=payload,
                    created_at=now,
                )
                for user_id in user_ids
            ]
        )
        push_ids: list[int] = []
        if kind.push is not Push.NEVER and settings.PUSH_ENABLED:
            PushOutbox.objects.bulk_create(
                [
                    PushOutbox(event=event, due_at=now, expires_at=now + kind.push_ttl)
                    for event in events
                ]
            )
            push_ids = [event.pk for event in events]
        email_outbox_add(kind=kind, events=events)
        delivery = Delivery(
            event_type=event_type,
            at=timezone.localtime(now).isoformat(),
            data=payload,
            seqs=seqs,
            topic=topic,
        )
        transaction.on_commit(partial(_after_commit, delivery, push_ids), robust=True)
    return events


def _streams_advance_by(counts: Mapping[int, int]) -> dict[int, int]:
    """Like :func:`_streams_advance`, moving each stream by ``counts[user_id]`` events at once;
    returns the last ``seq`` of each (active) account."""
    table = EventStream._meta.db_table
    users = User._meta.db_table
    ids = sorted(counts)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (user_id, last_seq)
            SELECT u.id, c.n FROM {users} u
            JOIN unnest(%s::bigint[], %s::bigint[]) AS c(id, n) ON c.id = u.id
            WHERE u.is_active ORDER BY u.id
            ON CONFLICT (user_id) DO UPDATE SET last_seq = {table}.last_seq + EXCLUDED.last_seq
            RETURNING user_id, last_seq
            """,  # noqa: S608 (the table names are ours; values are parameters)
            [ids, [counts[i] for i in ids]],
        )
        return dict(cursor.fetchall())


def notify_many(
    *, event_type: str, items: Sequence[tuple[Mapping[str, Any], Iterable[int | User]]]
) -> list[Event]:
    """:func:`notify` for many events of one type at once, each ``(data, recipients)``: the
    same guarantees (in the caller's transaction, sent after the commit, inactive accounts left
    out, a recipient's events in the order given) in a few statements instead of a few per
    event. For services that tell hundreds of people at once (a plan)."""
    kind = event_type_get(event_type)
    prepared = [(kind.validate(data), _recipient_ids(recipients)) for data, recipients in items]
    counts: dict[int, int] = defaultdict(int)
    for _payload, user_ids in prepared:
        for user_id in user_ids:
            counts[user_id] += 1
    if not counts:
        return []
    with transaction.atomic(savepoint=False):
        last = _streams_advance_by(counts)
        if not last:
            return []
        next_seq = {user_id: seq - counts[user_id] + 1 for user_id, seq in last.items()}
        now = timezone.now()
        at = timezone.localtime(now).isoformat()
        rows: list[Event] = []
        deliveries: list[Delivery] = []
        for payload, user_ids in prepared:
            seqs: dict[int, int] = {}
            for user_id in user_ids:
                if user_id not in next_seq:
                    continue
                seqs[user_id] = next_seq[user_id]
                next_seq[user_id] += 1
                rows.append(
                    Event(
                        recipient_id=user_id,
                        seq=seqs[user_id],
                        type=event_type,
                        data=payload,
                        created_at=now,
                    )
                )
            if seqs:
                deliveries.append(
                    Delivery(event_type=event_type, at=at, data=payload, seqs=seqs, topic=None)
                )
        events = Event.objects.bulk_create(rows)
        push_ids: list[int] = []
        if kind.push is not Push.NEVER and settings.PUSH_ENABLED:
            PushOutbox.objects.bulk_create(
                [
                    PushOutbox(event=event, due_at=now, expires_at=now + kind.push_ttl)
                    for event in events
                ]
            )
            push_ids = [event.pk for event in events]
        email_outbox_add(kind=kind, events=events)
        transaction.on_commit(partial(_after_commit_many, deliveries, push_ids), robust=True)
    return events


def _after_commit_many(deliveries: list[Delivery], push_ids: list[int]) -> None:
    fanout_deliver_many(deliveries)
    if push_ids:
        push_enqueue(push_ids)


def _after_commit(delivery: Delivery, push_ids: list[int]) -> None:
    fanout_deliver(delivery)
    if push_ids:
        push_enqueue(push_ids)


def push_enqueue(event_ids: list[int]) -> bool:
    """Queues the delivery of these pushes; when the broker is unreachable they wait in the
    outbox for the sweep (``notifications.push_sweep``).

    The task is published without retries (Celery's default retries for seconds, holding the
    request that committed), on pooled connections of its own.
    """
    from notifications.tasks import push_deliver

    app = push_deliver.app
    try:
        if app.conf.task_always_eager:
            push_deliver.apply_async(args=[event_ids])
            return True
        connection = app.connection_for_write(transport_options={"max_retries": 0})
        with producers[connection].acquire(block=True, timeout=1) as producer:
            push_deliver.apply_async(args=[event_ids], retry=False, producer=producer)
    except (BrokerError, redis.RedisError, OSError) as error:
        logger.warning(
            "broker unreachable (%s): %d push(es) wait in the outbox for the sweep",
            type(error).__name__,
            len(event_ids),
        )
        return False
    return True


def topic_subscribe(*, user_id: int, topic: str) -> bool:
    """``user_id`` receives the events sent to ``topic`` from now on; ``False`` if already."""
    _topic_check(topic)
    with transaction.atomic():
        _, created = TopicSubscription.objects.get_or_create(user_id=user_id, topic=topic)
        if created:
            transaction.on_commit(partial(fanout_control, [user_id], "topics.changed"), robust=True)
    return created


def topic_unsubscribe(*, user_id: int, topic: str) -> bool:
    """``user_id`` stops receiving the events of ``topic``; ``False`` if they did not."""
    _topic_check(topic)
    with transaction.atomic():
        deleted, _ = TopicSubscription.objects.filter(user_id=user_id, topic=topic).delete()
        if deleted:
            transaction.on_commit(partial(fanout_control, [user_id], "topics.changed"), robust=True)
    return bool(deleted)


def events_prune(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Deletes the events older than the retention (``NOTIFICATIONS_EVENT_RETENTION_DAYS``) and
    their pushes and mail-digest entries, in batches; returns how many events went. Clients that reconnect with an older
    id get a ``system.resync``."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.NOTIFICATIONS_EVENT_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Event.objects.filter(created_at__lt=cutoff)
                .order_by("created_at")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return total
            PushOutbox.objects.filter(event_id__in=ids).delete()
            EmailOutbox.objects.filter(event_id__in=ids).delete()
            _, per_model = Event.objects.filter(pk__in=ids).delete()
            total += per_model.get(Event._meta.label, 0)
