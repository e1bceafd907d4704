"""Mail digests: important events reach people who have no app installed.

An event type marked ``email=True`` in the catalogue (a loan asked or accepted, a parcel
delivered to a relay point or a neighbour host: ``email_only_if``) is also written to :class:`EmailOutbox`, in the event's transaction, for
each recipient who has no push device, a verified address, an account neither deleted nor
inactive, and mail on (preference ``email``, and the type's own switch). The sweep
(``notifications.email_digest_sweep``, Celery beat) sends each person at most one mail per
``NOTIFICATIONS_EMAIL_DIGEST_MINUTES`` listing what waits for them, in their language, with a
link that turns these mails off without signing in (``List-Unsubscribe``, RFC 8058 one-click).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.mail import mail_to_user
from accounts.models import User
from accounts.preferences import notification_preferences_effective, notification_preferences_merge
from notifications.catalogue import CATALOGUE, EventType
from notifications.models import Device, EmailOutbox, Event

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "notifications.email-unsubscribe"
UNSUBSCRIBE_PATH = "/email/unsubscribe"
SWEEP_BATCH = 200


def _mail_wanted(user: User, kind: EventType | None) -> bool:
    preferences = notification_preferences_effective(user.notification_preferences)
    if not preferences["email"]:
        return False
    return (
        kind is None or kind.preference is None or preferences["types"].get(kind.preference, True)
    )


def _reachable_by_mail() -> Q:
    return Q(is_active=True, email_verified_at__isnull=False, deleted_at__isnull=True)


def email_outbox_add(*, kind: EventType, events: Sequence[Event]) -> int:
    """In the caller's transaction: the events of ``kind`` (if it mails) wait for the digest of
    each recipient who cannot get them pushed and wants mail. Returns how many rows."""
    if not events or not kind.mails(events[0].data):
        return 0
    by_recipient = {event.recipient_id: event for event in events}
    recipients = (
        User.objects.filter(_reachable_by_mail(), pk__in=list(by_recipient))
        .exclude(Exists(Device.objects.filter(user=OuterRef("pk"))))
        .only("pk", "notification_preferences")
    )
    now = timezone.now()
    rows = [
        EmailOutbox(event=by_recipient[user.pk], recipient_id=user.pk, created_at=now)
        for user in recipients
        if _mail_wanted(user, kind)
    ]
    EmailOutbox.objects.bulk_create(rows)
    return len(rows)


# --- Unsubscribing -----------------------------------------------------------------------------


def unsubscribe_token(user_id: int) -> str:
    """A token that turns off ``user_id``'s mail digests: signed with a salt of its own, no
    expiry (a link in an old mail keeps working), no other power."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(user_id))


def unsubscribe_url(user_id: int) -> str:
    query = urlencode({"token": unsubscribe_token(user_id)})
    return f"{settings.PUBLIC_BASE_URL}{UNSUBSCRIBE_PATH}?{query}"


def unsubscribe_user(token: str) -> User | None:
    """The person a token names, or ``None`` for a forged, altered or unknown one."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    if not value.isdigit():
        return None
    return User.objects.filter(pk=int(value), deleted_at__isnull=True).first()


def email_unsubscribe(*, token: str) -> User | None:
    """Turns the mail digests off for the person the token names (the preference ``email``,
    which the app turns back on with ``PATCH /api/v1/me``); ``None`` for a bad token (nothing
    changes). Idempotent."""
    user = unsubscribe_user(token)
    if user is None:
        return None
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.notification_preferences = notification_preferences_merge(
            user.notification_preferences, {"email": False}
        )
        user.save(update_fields=["notification_preferences"])
        # What waited for the next digest is not sent either.
        EmailOutbox.objects.filter(recipient=user, sent_at__isnull=True).update(
            sent_at=timezone.now()
        )
    return user


# --- Sending -----------------------------------------------------------------------------------


def _due_recipients(now: datetime, exclude: set[int]) -> list[int]:
    cutoff = now - timedelta(minutes=settings.NOTIFICATIONS_EMAIL_DIGEST_MINUTES)
    pending = EmailOutbox.objects.filter(recipient=OuterRef("pk"), sent_at__isnull=True)
    return list(
        User.objects.filter(Exists(pending))
        .filter(Q(email_digest_sent_at__isnull=True) | Q(email_digest_sent_at__lte=cutoff))
        .exclude(pk__in=exclude)
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )


def _digest_send(user_id: int, now: datetime) -> bool | None:
    """One person's digest, in one transaction under row locks (another worker skips them).
    True: a mail was queued; False: their entries were dropped (no longer reachable by mail, or
    an app installed meanwhile: the log shows them); None: not due, or another worker has it."""
    cutoff = now - timedelta(minutes=settings.NOTIFICATIONS_EMAIL_DIGEST_MINUTES)
    with transaction.atomic():
        user = (
            User.objects.select_for_update(skip_locked=True)
            .filter(pk=user_id)
            .filter(Q(email_digest_sent_at__isnull=True) | Q(email_digest_sent_at__lte=cutoff))
            .first()
        )
        if user is None:
            return None
        rows = list(
            EmailOutbox.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(recipient=user, sent_at__isnull=True)
            .select_related("event")
            .order_by("event__created_at", "pk")
        )
        if not rows:
            return None
        EmailOutbox.objects.filter(pk__in=[row.pk for row in rows]).update(sent_at=now)
        reachable = (
            User.objects.filter(_reachable_by_mail(), pk=user.pk).exists()
            and _mail_wanted(user, None)
            and not Device.objects.filter(user=user).exists()
        )
        items = []
        for row in rows:
            kind = CATALOGUE.get(row.event.type)
            if kind is None or kind.title is None or not _mail_wanted(user, kind):
                continue
            title, body = kind.push_text(row.event.data, user.language)
            items.append({"title": title, "body": body, "at": row.event.created_at})
        if not reachable or not items:
            return False
        url = unsubscribe_url(user.pk)
        mail_to_user(
            user,
            "digest",
            {"items": items, "count": len(items), "unsubscribe_url": url},
            headers={
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        user.email_digest_sent_at = now
        user.save(update_fields=["email_digest_sent_at"])
    return True


def email_digest_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Queues the digest of everyone who has events waiting and had none for
    ``NOTIFICATIONS_EMAIL_DIGEST_MINUTES``. Safe to run on several workers at once: a person is
    locked while their digest is written, and their entries are marked sent in that transaction;
    the mail itself leaves through the outbox of accounts.mail after the commit."""
    now = now or timezone.now()
    counts = {"sent": 0, "dropped": 0}
    seen: set[int] = set()
    while True:
        ids = _due_recipients(now, seen)
        if not ids:
            return counts
        for user_id in ids:
            seen.add(user_id)
            result = _digest_send(user_id, now)
            if result is True:
                counts["sent"] += 1
            elif result is False:
                counts["dropped"] += 1
