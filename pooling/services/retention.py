"""How long pooling keeps what places people: couriers' positions, proof photos and signatures,
the homes on past rounds with their delivery details (door codes, floors, phone numbers). Each purge is a Celery beat job (``pooling/tasks.py``), each period a setting
(``backend/settings/pooling.py``), each written in docs/security.md. Every purge is idempotent: a
second run finds nothing left to do."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from geo.privacy import blurred_point
from pooling.models import Assignment, Courier, DeliveryDetails, Order, Route, Stop
from pooling.models.choices import DropKind

BATCH = 200
ACTIVE_ORDER = (
    Order.Status.PENDING,
    Order.Status.PLANNED,
    Order.Status.OUT_FOR_DELIVERY,
    Order.Status.AWAITING_PICKUP,
)
NO_DETAILS = dict.fromkeys(DeliveryDetails.DETAIL_FIELDS, "")


def courier_positions_purge(*, now: datetime | None = None) -> int:
    """Forgets the last position of rounds not updated for ``POOLING_COURIER_POSITION_HOURS``
    (it serves the ETAs of a round under way, nothing after); returns how many rounds."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.POOLING_COURIER_POSITION_HOURS)
    Courier.objects.filter(
        Q(last_position_at__lt=cutoff)
        | Q(last_position_at__isnull=True, last_position__isnull=False)
    ).update(last_position=None, last_position_at=None)
    return Route.objects.filter(
        Q(last_position_at__lt=cutoff)
        | Q(last_position_at__isnull=True, last_position__isnull=False)
    ).update(last_position=None, last_position_at=None)


def proof_photos_purge(*, now: datetime | None = None) -> int:
    """Deletes the proof photos and signatures of stops done more than
    ``POOLING_PROOF_PHOTO_DAYS`` ago: the file from storage, then the field (the stop keeps
    ``proof="photo"`` or ``"signature"``: it was delivered with one); the courier's notes go too.
    A file already gone is no error, so a run that stopped half-way is finished by the next."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.POOLING_PROOF_PHOTO_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            stops = list(
                Stop.objects.select_for_update(skip_locked=True)
                .filter(done_at__lt=cutoff)
                .filter(~Q(proof_photo="") | ~Q(proof_signature="") | ~Q(proof_notes=""))
                .order_by("pk")[:BATCH]
            )
            if not stops:
                return total
            for stop in stops:
                # The files first: a failure leaves the names in place and the next run retries.
                for proof in (stop.proof_photo, stop.proof_signature):
                    if proof:
                        proof.storage.delete(proof.name)
            Stop.objects.filter(pk__in=[stop.pk for stop in stops]).update(
                proof_photo="", proof_signature="", proof_notes=""
            )
            total += len(stops)


def _erasable_routes(cutoff: datetime) -> Q:
    """Rounds whose every order ended (delivered, cancelled, returned) before ``cutoff``."""
    recent_or_active = Assignment.objects.filter(stop__route=OuterRef("pk")).filter(
        Q(order__status__in=ACTIVE_ORDER)
        | Q(order__delivered_at__gte=cutoff)
        | Q(order__cancelled_at__gte=cutoff)
        | Q(order__status=Order.Status.RETURNED, order__updated_at__gte=cutoff)
    )
    return Q(addresses_erased_at__isnull=True, planned_end__lt=cutoff) & ~Q(
        Exists(recent_or_active)
    )


def delivery_addresses_erase(*, now: datetime | None = None) -> int:
    """Erases where past orders were delivered, ``POOLING_ADDRESS_DAYS`` after they ended.

    The unit is a round (a path from one stop leads to the next): its home and neighbour-host
    stops keep only the centre of their blur cell (``geo.privacy``) and lose their address
    label and delivery details (door code, floor, building, instructions, phone), as do the
    round's orders; every stop's path and the round's return path and last position are cleared.
    Meters, seconds, loads, counts and each batch's impact (km, CO2) stay: the dashboard's
    statistics need nothing else. Returns how many rounds were erased.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.POOLING_ADDRESS_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            routes = list(
                Route.objects.select_for_update(skip_locked=True)
                .filter(_erasable_routes(cutoff))
                .order_by("pk")[:BATCH]
            )
            if not routes:
                return total
            ids = [route.pk for route in routes]
            homes = list(
                Stop.objects.filter(route_id__in=ids, kind__in=[DropKind.HOME, DropKind.HOST])
            )
            for stop in homes:
                stop.location = blurred_point(stop.location)
                stop.label = ""
                for name in NO_DETAILS:
                    setattr(stop, name, "")
            Stop.objects.bulk_update(homes, ["location", "label", *NO_DETAILS], batch_size=500)
            Order.objects.filter(assignments__stop__route_id__in=ids).update(**NO_DETAILS)
            Stop.objects.filter(route_id__in=ids).update(path=None)
            Route.objects.filter(pk__in=ids).update(
                return_path=None, last_position=None, last_position_at=None, addresses_erased_at=now
            )
            total += len(routes)
