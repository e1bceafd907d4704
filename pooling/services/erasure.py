"""What pooling does when a resident deletes their account (RGPD art. 17), in that transaction.

Orders not yet delivered are cancelled, and a courier whose round carried one is told (the
``route.order_cancelled`` event); a batch not yet dispatched is re-planned without them. Delivered
orders and past stops stay, for the association's accounts, pointing to the former member; but
their home goes: a home stop keeps only its blur cell, no label, and its proof photo is deleted.
A relay point the person hosted stops, and forgets its address. A courier's record is
deactivated; a round under way must be finished first.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from pooling.models import (
    Assignment,
    Batch,
    Courier,
    CourierDutyChange,
    DeliveryDetails,
    Order,
    ReceivingPreference,
    RelayPoint,
    Route,
    Stop,
)
from pooling.services.batches import batch_replan_request
from pooling.services.orders import stop_order_released
from pooling.services.places import public_location_for

UNDELIVERED = (
    Order.Status.PENDING,
    Order.Status.PLANNED,
    Order.Status.OUT_FOR_DELIVERY,
    Order.Status.AWAITING_PICKUP,
)


def courier_routes_under_way(user: User) -> QuerySet[Route]:
    """The rounds ``user`` has started as a courier and not finished: they block the deletion."""
    return Route.objects.filter(courier__user=user, status=Route.Status.STARTED).order_by("pk")


def _order_cancel_for_erasure(order: Order, now: datetime) -> None:
    active = (
        Assignment.objects.select_for_update(of=("self",))
        .filter(order=order, released_at__isnull=True)
        .select_related("batch", "stop__route__courier")
        .first()
    )
    order.status = Order.Status.CANCELLED
    order.cancelled_at = now
    order.save(update_fields=["status", "cancelled_at", "updated_at"])
    if active is None:
        return
    stop = active.stop
    active.released_at = now
    active.outcome = Assignment.Outcome.RELEASED
    active.release_reason = "account_deleted"
    active.stop = None
    active.save(update_fields=["released_at", "outcome", "release_reason", "stop"])
    if stop is not None:
        stop_order_released(stop_id=stop.pk, order_id=order.pk, reason="account_deleted")
    if active.batch.status != Batch.Status.DISPATCHED:
        batch_replan_request(batch_id=active.batch_id)


@transaction.atomic
def resident_erase(*, user: User) -> list[str]:
    """Closes what ``user`` had going in pooling; answers the storage names of the files to
    delete once the transaction has committed."""
    now = timezone.now()
    orders = Order.objects.select_for_update().filter(resident=user, status__in=UNDELIVERED)
    for order in orders.order_by("pk"):
        _order_cancel_for_erasure(order, now)
    ReceivingPreference.objects.filter(resident=user).delete()

    # The door codes, floors and phone numbers the person gave, on every order of theirs.
    Order.objects.filter(resident=user).update(**dict.fromkeys(DeliveryDetails.DETAIL_FIELDS, ""))

    files: list[str] = []
    for stop in Stop.objects.select_for_update().filter(resident=user).order_by("pk"):
        for proof in (stop.proof_photo, stop.proof_signature):
            if proof:
                files.append(proof.name)
        stop.proof_photo = ""
        stop.proof_signature = ""
        for name in DeliveryDetails.DETAIL_FIELDS:
            setattr(stop, name, "")
        stop.label = ""
        stop.location = public_location_for(
            kind=RelayPoint.Kind.NEIGHBOUR_HOST, location=stop.location
        )
        stop.path = None
        stop.save(
            update_fields=[
                "proof_photo",
                "proof_signature",
                *DeliveryDetails.DETAIL_FIELDS,
                "label",
                "location",
                "path",
            ]
        )

    for relay in RelayPoint.objects.select_for_update().filter(operator=user).order_by("pk"):
        if relay.kind == RelayPoint.Kind.NEIGHBOUR_HOST:
            # A host's place is their home: only its blur cell stays, for past rounds.
            relay.is_active = False
            relay.address_label = ""
            relay.location = relay.public_location
            relay.save(update_fields=["is_active", "address_label", "location"])
        else:
            relay.operator = None
            relay.save(update_fields=["operator"])
    Courier.objects.filter(user=user).update(
        is_active=False, on_duty=False, last_position=None, last_position_at=None
    )
    CourierDutyChange.objects.filter(courier__user=user).delete()
    return files
