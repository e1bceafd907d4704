"""A parcel left at a relay point or a neighbour host's waits for its resident
(``awaiting_pickup``): the relay's operator hands it over when the resident shows their pickup
code, and only then is the order delivered."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from backend.errors import NotFoundError
from notifications.services.events import notify
from pooling.errors import (
    BadPickupCodeError,
    NotRelayOperatorPickupError,
    OrderNotFoundError,
    PickupStateError,
)
from pooling.models import Assignment, Order, RelayPoint
from pooling.services.duty import client_time, offline_floor


@dataclass(frozen=True)
class PickupOutcome:
    order: Order
    # False: the parcel had already been handed over (a confirmation sent again).
    applied: bool


def _waiting_here(order_id: int, relay: RelayPoint) -> Assignment | None:
    """The order's assignment that left it at ``relay`` (delivered there by the courier)."""
    return (
        Assignment.objects.filter(
            order_id=order_id,
            released_at__isnull=True,
            outcome=Assignment.Outcome.DELIVERED,
            stop__relay_point=relay,
        )
        .select_related("stop")
        .first()
    )


def pickup_confirm(
    *,
    actor: User,
    relay_point_id: int,
    order_id: int,
    code: str,
    client_at: datetime | None = None,
) -> PickupOutcome:
    """The relay's operator gives the parcel to its resident, who showed ``code``.

    Only the operator of the relay point may (403); an order not left there is 404 (nothing
    said about others' orders); a wrong code 400 (rate-limited per operator and order by the
    ``pickup_code`` throttle); an order already handed over answers ``applied: false``.
    """
    now = timezone.now()
    at = client_time(client_at, not_before=offline_floor(now), now=now)
    with transaction.atomic():
        relay = RelayPoint.objects.filter(pk=relay_point_id).first()
        if relay is None:
            raise NotFoundError()
        if relay.operator_id is None or relay.operator_id != actor.pk:
            raise NotRelayOperatorPickupError()
        assignment = _waiting_here(order_id, relay)
        if assignment is None:
            raise OrderNotFoundError()
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == Order.Status.DELIVERED:
            return PickupOutcome(order, False)
        if order.status != Order.Status.AWAITING_PICKUP:
            raise PickupStateError()
        if not hmac.compare_digest(code.encode(), order.pickup_code.encode()):
            raise BadPickupCodeError()
        arrived = assignment.stop.done_at if assignment.stop else None
        order.status = Order.Status.DELIVERED
        order.delivered_at = max(at, arrived) if arrived is not None else at
        order.save(update_fields=["status", "delivered_at", "updated_at"])
        notify(
            event_type="order.delivered",
            data={
                "order_id": order.pk,
                "merchant_name": order.merchant_name,
                "delivered_at": timezone.localtime(order.delivered_at).isoformat(),
                "place": relay.drop_kind,
                "proof": "pickup_code",
            },
            recipients=[order.resident_id],
        )
    return PickupOutcome(order, True)


def order_receipt_confirm(*, resident: User, order_id: int) -> PickupOutcome:
    """The resident says their parcel is in their hands: an order of theirs waiting at a relay
    point or a neighbour host's (``awaiting_pickup``) is delivered, proof ``resident``.

    For a parcel handed over without the operator's confirmation: an assisted member's, which the
    association's volunteer confirms for them at its permanence. Another person's order is 404;
    an order not waiting anywhere is 409 (a home delivery is confirmed by its courier, with the
    resident's code); one already delivered answers ``applied: false``."""
    now = timezone.now()
    with transaction.atomic():
        order = (
            Order.objects.select_for_update().filter(pk=order_id, resident_id=resident.pk).first()
        )
        if order is None:
            raise OrderNotFoundError()
        if order.status == Order.Status.DELIVERED:
            return PickupOutcome(order, False)
        if order.status != Order.Status.AWAITING_PICKUP:
            raise PickupStateError(_("This parcel is not waiting for you at a relay point."))
        assignment = (
            Assignment.objects.filter(
                order_id=order.pk,
                released_at__isnull=True,
                outcome=Assignment.Outcome.DELIVERED,
                stop__relay_point__isnull=False,
            )
            .select_related("stop__relay_point")
            .first()
        )
        arrived = assignment.stop.done_at if assignment is not None and assignment.stop else None
        order.status = Order.Status.DELIVERED
        order.delivered_at = max(now, arrived) if arrived is not None else now
        order.save(update_fields=["status", "delivered_at", "updated_at"])
        relay = assignment.stop.relay_point if assignment is not None and assignment.stop else None
        notify(
            event_type="order.delivered",
            data={
                "order_id": order.pk,
                "merchant_name": order.merchant_name,
                "delivered_at": timezone.localtime(order.delivered_at).isoformat(),
                "place": relay.drop_kind if relay is not None else "relay",
                "proof": "resident",
            },
            recipients=[order.resident_id],
        )
    return PickupOutcome(order, True)
