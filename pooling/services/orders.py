"""Orders in: announced by merchants through the signed webhook, or declared by residents; and
the residents' choices of how to receive them."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from neighbourhoods.models import Neighbourhood
from neighbourhoods.selectors import active_neighbourhood_ids
from notifications.services.events import notify
from pooling.errors import (
    IdempotencyConflictError,
    OrderClosedError,
    OrderLockedError,
    OrderNotFoundError,
    RelayNotAllowedError,
    UnknownResidentError,
)
from pooling.models import (
    Assignment,
    Batch,
    DeliveryDetails,
    Merchant,
    Order,
    OrderWindow,
    Parcel,
    ReceiveMode,
    ReceivingPreference,
    RelayPoint,
    Route,
    Stop,
    WalkProfile,
)
from pooling.services.batches import batch_replan_request, batches_touch_for_order


@dataclass(frozen=True)
class ParcelIn:
    size: str
    weight: str


@dataclass(frozen=True)
class WindowIn:
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class DetailsIn:
    """What a courier needs at a home's door (see ``pooling.models.DeliveryDetails``)."""

    door_code: str = ""
    floor: str = ""
    building: str = ""
    instructions: str = ""
    phone: str = ""

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in DeliveryDetails.DETAIL_FIELDS}


@dataclass(frozen=True)
class Receiving:
    mode: str
    relay_point_id: int | None = None
    max_walk_seconds: int = 600
    walk_profile: str = WalkProfile.WALK


def code_new() -> str:
    """A six-digit code the recipient shows the courier."""
    return f"{secrets.randbelow(1_000_000):06d}"


def body_digest(raw_body: bytes) -> str:
    return hashlib.sha256(raw_body).hexdigest()


def neighbourhood_for(home: Point | None) -> Neighbourhood | None:
    """The neighbourhood whose hub serves a home: one with an active hub first."""
    if home is None:
        return None
    point = Point(home.x, home.y, srid=settings.GEO_SRID)
    candidates = Neighbourhood.objects.filter(area__intersects=point).order_by("pk")
    return candidates.filter(pooling_hub__is_active=True).first() or candidates.first()


def receiving_default(resident: User) -> Receiving:
    pref = ReceivingPreference.objects.filter(resident=resident).first()
    if pref is None:
        return Receiving(mode=ReceiveMode.HOME, walk_profile=resident.walking_profile)
    return Receiving(
        mode=pref.mode,
        relay_point_id=pref.relay_point_id,
        max_walk_seconds=pref.max_walk_seconds,
        walk_profile=pref.walk_profile,
    )


def _relay_check(receiving: Receiving, resident: User) -> None:
    if receiving.relay_point_id is None:
        return
    relay = RelayPoint.objects.filter(pk=receiving.relay_point_id, is_active=True).first()
    host = relay is not None and relay.kind == RelayPoint.Kind.NEIGHBOUR_HOST
    allowed = (
        relay is not None
        # A neighbour host is chosen only by the members of its neighbourhood (it is a home).
        and (not host or relay.neighbourhood_id in active_neighbourhood_ids(resident))
        and receiving.mode != ReceiveMode.HOME
        and (receiving.mode != ReceiveMode.RELAY or not host)
        and (receiving.mode != ReceiveMode.HOST or host)
    )
    if not allowed:
        raise RelayNotAllowedError(
            fields={"relay_point": [str(RelayNotAllowedError.default_message)]}
        )


def _create(
    *,
    resident: User,
    source: str,
    merchant: Merchant | None,
    merchant_name: str,
    merchant_reference: str,
    idempotency_key: str | None,
    body_sha256: str,
    carrier: str,
    tracking_number: str,
    expected_on: date,
    parcels: Sequence[ParcelIn],
    receiving: Receiving,
    windows: Sequence[WindowIn],
) -> Order:
    neighbourhood = neighbourhood_for(resident.home)
    pref = ReceivingPreference.objects.filter(resident=resident).first()
    order = Order.objects.create(
        **(pref.details_as_dict() if pref is not None else {}),
        resident=resident,
        source=source,
        merchant=merchant,
        merchant_name=merchant_name,
        merchant_reference=merchant_reference,
        idempotency_key=idempotency_key,
        body_sha256=body_sha256,
        carrier=carrier,
        tracking_number=tracking_number,
        expected_on=expected_on,
        neighbourhood=neighbourhood,
        receive_mode=receiving.mode,
        relay_point_id=receiving.relay_point_id,
        max_walk_seconds=receiving.max_walk_seconds,
        walk_profile=receiving.walk_profile,
        delivery_code=code_new(),
    )
    Parcel.objects.bulk_create([Parcel(order=order, size=p.size, weight=p.weight) for p in parcels])
    OrderWindow.objects.bulk_create(
        [OrderWindow(order=order, starts_at=w.starts_at, ends_at=w.ends_at) for w in windows]
    )
    return order


def order_receive_from_merchant(
    *,
    merchant: Merchant,
    idempotency_key: str,
    raw_body: bytes,
    payload: dict[str, Any],
) -> tuple[Order, bool]:
    """An order announced by a merchant's system (already authenticated and signature-checked).

    Returns the order and whether it was created. A retry with the same ``Idempotency-Key`` and
    the same body returns the first order; the same key with another body is refused. Concurrent
    retries race on the unique constraint (merchant, idempotency key): one inserts, the others
    read its row.
    """
    digest = body_digest(raw_body)

    def replay() -> tuple[Order, bool] | None:
        existing = Order.objects.filter(merchant=merchant, idempotency_key=idempotency_key).first()
        if existing is None:
            return None
        if not secrets.compare_digest(existing.body_sha256, digest):
            raise IdempotencyConflictError()
        return existing, False

    earlier = replay()
    if earlier is not None:
        return earlier
    resident = (
        User.objects.alias(email_lower=Lower("email"))
        .filter(
            email_lower=payload["resident_email"].strip().lower(),
            is_active=True,
            # Only an address its owner proved they read: an unverified (or deleted) account
            # answers exactly like an unknown address, so the webhook learns nothing of it.
            email_verified_at__isnull=False,
            deleted_at__isnull=True,
        )
        .first()
    )
    if resident is None:
        raise UnknownResidentError(
            fields={"resident_email": [str(UnknownResidentError.default_message)]}
        )
    try:
        with transaction.atomic():
            order = _create(
                resident=resident,
                source=Order.Source.MERCHANT,
                merchant=merchant,
                merchant_name=merchant.name,
                merchant_reference=payload.get("reference", ""),
                idempotency_key=idempotency_key,
                body_sha256=digest,
                carrier=payload.get("carrier") or merchant.default_carrier,
                tracking_number=payload.get("tracking_number", ""),
                expected_on=payload["expected_on"],
                parcels=[ParcelIn(**p) for p in payload["parcels"]],
                receiving=receiving_default(resident),
                windows=[],
            )
            transaction.on_commit(lambda: _touch(order.pk))
    except IntegrityError:
        again = replay()
        if again is None:
            raise
        return again
    return order, True


def _touch(order_id: int) -> None:
    order = Order.objects.filter(pk=order_id).first()
    if order is not None:
        batches_touch_for_order(order=order)


def order_declare(
    *,
    resident: User,
    merchant_name: str,
    carrier: str,
    tracking_number: str,
    expected_on: date,
    parcels: Sequence[ParcelIn],
    receiving: Receiving | None,
    windows: Sequence[WindowIn],
    details: DetailsIn | None = None,
) -> Order:
    """A resident declares a parcel they expect (carrier, tracking number, expected day), with
    the delivery details of their door (by default their preference's)."""
    receiving = receiving or receiving_default(resident)
    _relay_check(receiving, resident)
    with transaction.atomic():
        order = _create(
            resident=resident,
            source=Order.Source.RESIDENT,
            merchant=None,
            merchant_name=merchant_name or carrier,
            merchant_reference="",
            idempotency_key=None,
            body_sha256="",
            carrier=carrier,
            tracking_number=tracking_number,
            expected_on=expected_on,
            parcels=parcels,
            receiving=receiving,
            windows=windows,
        )
        if details is not None:
            for name, value in details.as_dict().items():
                setattr(order, name, value)
            order.save(update_fields=list(DeliveryDetails.DETAIL_FIELDS))
        transaction.on_commit(lambda: _touch(order.pk))
    return order


def _own_order_locked(actor: User, order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id, resident=actor).first()
    if order is None:
        raise OrderNotFoundError()
    return order


def order_receiving_update(
    *,
    actor: User,
    order_id: int,
    receiving: Receiving | None,
    windows: Sequence[WindowIn] | None,
    details: DetailsIn | None = None,
) -> Order:
    """The resident changes how (or when) they receive an order, or the delivery details of its
    door, until it leaves the hub. A planned order is re-planned (its home stop takes the new
    details)."""
    with transaction.atomic():
        order = _own_order_locked(actor, order_id)
        if order.status == Order.Status.OUT_FOR_DELIVERY:
            raise OrderLockedError()
        if order.status not in (Order.Status.PENDING, Order.Status.PLANNED):
            raise OrderClosedError()
        if details is not None:
            for name, value in details.as_dict().items():
                setattr(order, name, value)
            order.save(update_fields=[*DeliveryDetails.DETAIL_FIELDS, "updated_at"])
        if receiving is not None:
            _relay_check(receiving, actor)
            order.receive_mode = receiving.mode
            order.relay_point_id = receiving.relay_point_id
            order.max_walk_seconds = receiving.max_walk_seconds
            order.walk_profile = receiving.walk_profile
            order.save(
                update_fields=[
                    "receive_mode",
                    "relay_point",
                    "max_walk_seconds",
                    "walk_profile",
                    "updated_at",
                ]
            )
        if windows is not None:
            order.windows.all().delete()
            OrderWindow.objects.bulk_create(
                [
                    OrderWindow(order=order, starts_at=w.starts_at, ends_at=w.ends_at)
                    for w in windows
                ]
            )
        active = Assignment.objects.filter(order=order, released_at__isnull=True).first()
        if active is not None:
            batch_replan_request(batch_id=active.batch_id)
        else:
            transaction.on_commit(lambda: _touch(order.pk))
    return order


def order_cancel(*, actor: User, order_id: int) -> Order:
    """The resident cancels an order before it leaves the hub; a batch that held it is
    re-planned without it."""
    with transaction.atomic():
        order = _own_order_locked(actor, order_id)
        if order.status == Order.Status.OUT_FOR_DELIVERY:
            raise OrderLockedError()
        if order.status not in (Order.Status.PENDING, Order.Status.PLANNED):
            raise OrderClosedError()
        active = (
            Assignment.objects.select_for_update()
            .filter(order=order, released_at__isnull=True)
            .select_related("batch")
            .first()
        )
        if active is not None and active.batch.status == Batch.Status.DISPATCHED:
            raise OrderLockedError()
        now = timezone.now()
        order.status = Order.Status.CANCELLED
        order.cancelled_at = now
        order.save(update_fields=["status", "cancelled_at", "updated_at"])
        if active is not None:
            stop_id = active.stop_id
            active.released_at = now
            active.outcome = Assignment.Outcome.RELEASED
            active.release_reason = "cancelled"
            active.stop = None
            active.save(update_fields=["released_at", "outcome", "release_reason", "stop"])
            if stop_id is not None:
                stop_order_released(stop_id=stop_id, order_id=order.pk, reason="cancelled")
            batch_replan_request(batch_id=active.batch_id)
    return order


def stop_order_released(*, stop_id: int, order_id: int, reason: str) -> None:
    """An order left a stop of a round not done yet (cancelled): the round changed (its ETag
    with it) and its courier is told at once, before any re-plan: ``route.order_cancelled``,
    and ``route.stop_cancelled`` when the stop has nothing left to deliver."""
    stop = Stop.objects.select_related("route__courier").filter(pk=stop_id).first()
    if stop is None or stop.route.status == Route.Status.COMPLETED:
        return
    if stop.status != Stop.Status.PENDING:
        return
    route = stop.route
    Route.objects.filter(pk=route.pk).update(version=F("version") + 1)
    courier_user = route.courier.user_id
    notify(
        event_type="route.order_cancelled",
        recipients=[courier_user],
        data={"route_id": route.pk, "stop_id": stop.pk, "order_id": order_id},
    )
    if not Assignment.objects.filter(stop=stop, released_at__isnull=True).exists():
        notify(
            event_type="route.stop_cancelled",
            recipients=[courier_user],
            data={
                "route_id": route.pk,
                "stop_id": stop.pk,
                "position": stop.position,
                "reason": reason,
            },
        )


def receiving_preference_set(
    *,
    resident: User,
    receiving: Receiving,
    home_windows: list[dict[str, Any]],
    details: DetailsIn | None = None,
) -> ReceivingPreference:
    """The resident's default way of receiving, and the default delivery details of their home
    (copied to each order announced or declared later; ``None`` keeps them as they are)."""
    _relay_check(receiving, resident)
    with transaction.atomic():
        pref, _ = ReceivingPreference.objects.update_or_create(
            resident=resident,
            defaults={
                "mode": receiving.mode,
                "relay_point_id": receiving.relay_point_id,
                "max_walk_seconds": receiving.max_walk_seconds,
                "walk_profile": receiving.walk_profile,
                "home_windows": home_windows,
                **(details.as_dict() if details is not None else {}),
            },
        )
    return pref
