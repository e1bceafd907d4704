"""Couriers' own clocks and their duty: every courier action may carry the time the courier did
it (``client_at``, sent late from an offline queue), checked here; a courier goes on and off
duty, and their state is read from their changes in the order of those times, whatever order
they arrived in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from pooling.errors import ClientTimeError, NotACourierError
from pooling.models import Courier, CourierDutyChange


def day_start(day: date) -> datetime:
    """Midnight (local time) at the start of ``day``: no action of a round of that day is older."""
    return timezone.make_aware(datetime.combine(day, time.min))


def offline_floor(now: datetime) -> datetime:
    """The oldest client time taken for an action that belongs to no round (duty, positions)."""
    return now - timedelta(hours=int(settings.POOLING_CLIENT_MAX_AGE_HOURS))


def client_time(
    at: datetime | None, *, not_before: datetime, now: datetime | None = None
) -> datetime:
    """The time an action happened: the courier's ``at``, or now when they sent none.

    Refused (400 ``client_time_invalid``) when more than ``POOLING_CLIENT_CLOCK_SKEW_SECONDS``
    ahead of the server, or before ``not_before``.
    """
    now = now or timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at):
        raise ClientTimeError(fields={"client_at": [str(ClientTimeError.default_message)]})
    skew = timedelta(seconds=int(settings.POOLING_CLIENT_CLOCK_SKEW_SECONDS))
    if at > now + skew or at < not_before:
        raise ClientTimeError(fields={"client_at": [str(ClientTimeError.default_message)]})
    return at


def courier_locked(user: User) -> Courier:
    courier = Courier.objects.select_for_update().filter(user=user, is_active=True).first()
    if courier is None:
        raise NotACourierError()
    return courier


@dataclass(frozen=True)
class DutyOutcome:
    courier: Courier
    # False: a change sent again, or older than the courier's latest (stored, state unchanged).
    applied: bool


def duty_record(*, courier: Courier, on_duty: bool, at: datetime) -> bool:
    """Stores a duty change of ``courier`` (locked by the caller) and derives their state from
    every change in the order of the courier's clock. Returns whether the state now comes from
    this change (False for a change sent again or older than the latest).

    Changes older than ``POOLING_CLIENT_MAX_AGE_HOURS`` can no longer be outrun by a late one:
    all but the latest of them go.
    """
    _change, created = CourierDutyChange.objects.get_or_create(
        courier=courier, at=at, defaults={"on_duty": on_duty}
    )
    changes = list(CourierDutyChange.objects.filter(courier=courier).order_by("-at"))
    latest = changes[0]
    since = latest.at
    for change in changes[1:]:
        if change.on_duty != latest.on_duty:
            break
        since = change.at
    courier.on_duty = latest.on_duty
    courier.on_duty_since = since if latest.on_duty else latest.at
    courier.save(update_fields=["on_duty", "on_duty_since"])
    floor = offline_floor(timezone.now())
    old = [c.pk for c in changes if c.at < floor]
    if len(old) > 1:
        CourierDutyChange.objects.filter(pk__in=old[1:]).delete()
    return created and latest.at == at


def courier_duty_set(
    *, actor: User, on_duty: bool, client_at: datetime | None = None
) -> DutyOutcome:
    """The courier goes on or off duty (at ``client_at`` by their clock, or now). Going off duty
    with a round under way is allowed: its stops stay theirs to finish."""
    now = timezone.now()
    at = client_time(client_at, not_before=offline_floor(now), now=now)
    with transaction.atomic():
        courier = courier_locked(actor)
        applied = duty_record(courier=courier, on_duty=on_duty, at=at)
    return DutyOutcome(courier=courier, applied=applied)


def on_duty_at(courier: Courier, at: datetime) -> bool:
    """Whether a position measured at ``at`` is taken: the courier is on duty now, or was at
    ``at`` by the changes received so far (a queued position sent after going off duty)."""
    if courier.on_duty:
        return True
    latest = (
        CourierDutyChange.objects.filter(courier=courier, at__lte=at)
        .order_by("-at")
        .values_list("on_duty", flat=True)
        .first()
    )
    return bool(latest)
