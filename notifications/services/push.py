"""Sending the pushes of the outbox: who gets one, when, in which language, and what happens when
FCM says no.

A pending push is claimed (its ``due_at`` moved forward by a lease, so the task queued after the
commit and the periodic sweep never send it twice), then, for its recipient:

- an event that pushes only "when offline" is skipped while the person has a socket open;
- the person's preferences apply: the push switch, then the switch of the event's kind;
- during the person's quiet hours (read in ``PUSH_QUIET_HOURS_TIME_ZONE``) a push that is not
  urgent is **delayed** to their end, and dropped if it expires before;
- texts are in the person's language; one message per device, ``send_each`` by 500;
- each message carries the event's collapse key (pushes about one loan, conversation or order
  replace each other), its deep link (``data.link``) and the person's unread count at send time
  as the badge (``data.badge``, and the platform's own badge field);
- an unregistered, invalid or foreign token deletes its device; unavailable, internal and quota
  errors are retried with exponential backoff on the devices that failed, up to
  ``PUSH_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.preferences import QuietHours, notification_preferences_effective
from notifications import fcm
from notifications.catalogue import CATALOGUE, Push
from notifications.models import Device, Event, PushOutbox
from notifications.presence import users_online
from notifications.selectors import unread_counts

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
CLAIM_LIMIT = 500
Status = PushOutbox.Status


@dataclass
class PushRun:
    """What one delivery run did."""

    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    failed: int = 0
    expired: int = 0
    devices_removed: int = 0
    batches: int = 0
    retry_ids: list[int] = field(default_factory=list)
    retry_at: datetime | None = None

    def add(self, other: PushRun) -> None:
        for name in (
            "sent",
            "skipped",
            "deferred",
            "failed",
            "expired",
            "devices_removed",
            "batches",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.retry_ids += other.retry_ids
        if other.retry_at is not None:
            self.retry_at = min(self.retry_at or other.retry_at, other.retry_at)


def push_backoff(*, attempts: int, event_id: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: doubling from ``PUSH_BACKOFF_SECONDS`` up to
    ``PUSH_BACKOFF_MAX_SECONDS``, spread by up to 30% (by event) so a burst does not retry as one."""
    base = settings.PUSH_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    spread = 1 + (event_id % 7) * 0.05
    return timedelta(seconds=min(base, settings.PUSH_BACKOFF_MAX_SECONDS) * spread)


def quiet_hours_end(quiet: QuietHours | None, now: datetime) -> datetime | None:
    """When the quiet hours that ``now`` falls in end, or ``None`` outside quiet hours."""
    if quiet is None:
        return None
    zone = ZoneInfo(settings.PUSH_QUIET_HOURS_TIME_ZONE)
    local = now.astimezone(zone)
    start, end = time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"])
    moment = local.time().replace(tzinfo=None)
    if start < end:
        if not start <= moment < end:
            return None
        day = local.date()
    else:  # over midnight: 22:00 to 07:00
        if end <= moment < start:
            return None
        day = local.date() + timedelta(days=1) if moment >= start else local.date()
    return datetime.combine(day, end, tzinfo=zone)


def _claim(event_ids: Sequence[int] | None, now: datetime) -> list[PushOutbox]:
    with transaction.atomic():
        query = PushOutbox.objects.select_for_update(skip_locked=True).filter(
            status=Status.PENDING, due_at__lte=now
        )
        if event_ids is not None:
            query = query.filter(event_id__in=list(event_ids))
        rows = list(query.order_by("due_at")[:CLAIM_LIMIT])
        if rows:
            PushOutbox.objects.filter(pk__in=[row.pk for row in rows]).update(due_at=now + LEASE)
    return rows


def push_outbox_deliver(
    *, event_ids: Sequence[int] | None = None, now: datetime | None = None
) -> PushRun:
    """Sends the pending pushes that are due: those of ``event_ids`` (all of them, by claims of
    ``CLAIM_LIMIT``), or up to ``CLAIM_LIMIT`` of any (the sweep calls it until none is left)."""
    now = now or timezone.now()
    if event_ids is not None and len(event_ids) > CLAIM_LIMIT:
        total = PushRun()
        for start in range(0, len(event_ids), CLAIM_LIMIT):
            chunk = event_ids[start : start + CLAIM_LIMIT]
            total.add(push_outbox_deliver(event_ids=chunk, now=now))
        return total
    run = PushRun()
    rows = _claim(event_ids, now)
    if not rows:
        return run
    events = {
        event.pk: event
        for event in Event.objects.filter(pk__in=[row.pk for row in rows]).select_related(
            "recipient"
        )
    }
    user_ids = {event.recipient_id for event in events.values()}
    try:
        online = users_online(user_ids)
    except redis.RedisError as error:
        # Better a push too many than a person who never hears: count everyone as offline.
        logger.warning("presence unknown (%s): pushing as if offline", type(error).__name__)
        online = set()
    devices_by_user: dict[int, list[Device]] = {}
    for device in Device.objects.filter(user_id__in=user_ids).order_by("pk"):
        devices_by_user.setdefault(device.user_id, []).append(device)
    configured = fcm.fcm_configured()
    badges: dict[int, int] | None = None  # read once a push is about to leave

    outgoing: list[tuple[PushOutbox, Device, fcm.PushMessage]] = []
    for row in rows:
        event = events[row.pk]
        decision = _decide(row, event, event.recipient, online, now)
        if decision is not None:
            _finish(row, run, *decision)
            continue
        quiet_end = _quiet_end(event, now)
        if quiet_end is not None and quiet_end >= row.expires_at:
            _finish(row, run, Status.EXPIRED, "quiet_hours")
            continue
        if quiet_end is not None:
            row.due_at = quiet_end
            run.deferred += 1
            continue
        devices = devices_by_user.get(event.recipient_id, [])
        if row.device_ids is not None:
            devices = [d for d in devices if d.pk in set(row.device_ids)]
        if not devices:
            _finish(row, run, Status.SKIPPED, "no_device")
            continue
        if not configured:
            _finish(row, run, Status.SKIPPED, "not_configured")
            continue
        if badges is None:
            badges = unread_counts(user_ids=sorted(user_ids))
        kind = CATALOGUE[event.type]
        message_title, message_body = kind.push_text(event.data, event.recipient.language)
        badge = badges.get(event.recipient_id, 0)
        data = {
            "event_id": str(event.seq),
            "event_type": event.type,
            "event_data": json.dumps(event.data, ensure_ascii=False),
            "badge": str(badge),
        }
        link = kind.link(event.data)
        if link is not None:
            data["link"] = link
        ttl = max(int((row.expires_at - now).total_seconds()), 0)
        for device in devices:
            outgoing.append(
                (
                    row,
                    device,
                    fcm.PushMessage(
                        token=device.token,
                        platform=device.platform,
                        title=message_title,
                        body=message_body,
                        data=data,
                        urgent=kind.urgent,
                        ttl_seconds=ttl,
                        collapse_key=kind.collapse_key(event.data),
                        badge=badge,
                    ),
                )
            )
    if any(row.reason == "not_configured" for row in rows):
        logger.info("push is a no-op: no FCM credentials configured (FCM_CREDENTIALS_FILE)")

    if outgoing:
        result = fcm.fcm_send([message for _, _, message in outgoing])
        run.batches = result.batches
        _apply_results(outgoing, result.results, run, now)

    for row in rows:
        row.updated_at = now
    PushOutbox.objects.bulk_update(
        rows, ["status", "reason", "attempts", "due_at", "device_ids", "updated_at"]
    )
    return run


def _decide(
    row: PushOutbox, event: Event, user: User, online: set[int], now: datetime
) -> tuple[str, str] | None:
    """A final status and reason for a push that will not go out, or ``None``."""
    kind = CATALOGUE.get(event.type)
    if kind is None or kind.push is Push.NEVER or kind.title is None:
        return Status.FAILED, "not_pushable"
    if now >= row.expires_at:
        return Status.EXPIRED, "expired"
    if not user.is_active:
        return Status.SKIPPED, "inactive"
    preferences = notification_preferences_effective(user.notification_preferences)
    if not preferences["push"]:
        return Status.SKIPPED, "push_off"
    if kind.preference is not None and not preferences["types"].get(kind.preference, True):
        return Status.SKIPPED, "type_off"
    if kind.push is Push.OFFLINE and user.pk in online:
        return Status.SKIPPED, "online"
    return None


def _quiet_end(event: Event, now: datetime) -> datetime | None:
    """The end of the recipient's quiet hours if this push must wait for it."""
    if CATALOGUE[event.type].urgent:
        return None
    preferences = notification_preferences_effective(event.recipient.notification_preferences)
    return quiet_hours_end(preferences["quiet_hours"], now)


def _finish(row: PushOutbox, run: PushRun, status: str, reason: str) -> None:
    row.status, row.reason, row.device_ids = status, reason, None
    counter = {
        Status.SENT: "sent",
        Status.SKIPPED: "skipped",
        Status.EXPIRED: "expired",
        Status.FAILED: "failed",
    }[Status(status)]
    setattr(run, counter, getattr(run, counter) + 1)


def _apply_results(
    outgoing: list[tuple[PushOutbox, Device, fcm.PushMessage]],
    results: list[fcm.SendResult],
    run: PushRun,
    now: datetime,
) -> None:
    by_row: dict[int, list[tuple[Device, fcm.SendResult]]] = {}
    rows: dict[int, PushOutbox] = {}
    for (row, device, _), result in zip(outgoing, results, strict=True):
        by_row.setdefault(row.pk, []).append((device, result))
        rows[row.pk] = row
    bad_devices: list[int] = []
    for pk, outcomes in by_row.items():
        row = rows[pk]
        row.attempts += 1
        retry = [(d, r) for d, r in outcomes if r.outcome is fcm.Outcome.RETRY]
        sent = any(r.outcome is fcm.Outcome.SENT for _, r in outcomes)
        bad_devices += [d.pk for d, r in outcomes if r.outcome is fcm.Outcome.BAD_TOKEN]
        if retry and row.attempts < settings.PUSH_MAX_ATTEMPTS:
            wait = push_backoff(attempts=row.attempts, event_id=row.pk)
            hinted = max((r.retry_after or 0 for _, r in retry), default=0)
            row.due_at = now + max(wait, timedelta(seconds=hinted))
            if row.due_at >= row.expires_at:
                _finish(row, run, Status.SENT if sent else Status.EXPIRED, "expired")
                continue
            row.device_ids = [d.pk for d, _ in retry]
            row.reason = retry[0][1].code[:32]
            run.retry_ids.append(row.pk)
            run.retry_at = min(run.retry_at or row.due_at, row.due_at)
        elif sent:
            _finish(row, run, Status.SENT, "")
        else:
            codes = [r.code for _, r in outcomes]
            reason = "retries_exhausted" if retry else (codes[0] or "failed")
            _finish(row, run, Status.FAILED, reason[:32])
    if bad_devices:
        deleted, _ = Device.objects.filter(pk__in=bad_devices).delete()
        run.devices_removed += deleted
        logger.info("removed %d device(s) whose token FCM no longer accepts", deleted)
