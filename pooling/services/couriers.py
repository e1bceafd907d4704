"""Couriers on their rounds: start a round, mark a stop delivered (with a proof) or failed (its
parcels go back to the pool), and the position updates that move ETAs and tell residents the
courier is nearby. Every action is checked against the acting courier."""

from __future__ import annotations

import hmac
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from accounts.models import User
from backend.errors import DomainError, NotFoundError
from geo.graph import network_for_point
from geo.network import IslandError, OffGraphError
from geo.profiles import get_profile
from notifications.services.events import notify
from pooling.errors import (
    BadPhotoError,
    BadProofCodeError,
    NotACourierError,
    NotYourRouteError,
    ProofRequiredError,
    RouteStateError,
    StopStateError,
)
from pooling.models import (
    Assignment,
    Batch,
    Courier,
    DropKind,
    Order,
    Route,
    Stop,
)

PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

logger = logging.getLogger(__name__)


def _route_of_courier_locked(actor: User, route_id: int) -> Route:
    """The round, locked, if ``actor`` is its courier (403 otherwise, 404 if there is none)."""
    route = Route.objects.select_for_update().filter(pk=route_id).first()
    if route is None:
        raise NotFoundError()
    if not Courier.objects.filter(pk=route.courier_id, user=actor).exists():
        raise NotYourRouteError()
    return route


def _assignments_of(stop: Stop) -> list[Assignment]:
    return list(
        Assignment.objects.select_for_update()
        .filter(stop=stop, released_at__isnull=True)
        .select_related("order")
        .order_by("order_id")
    )


def route_start(*, actor: User, route_id: int) -> Route:
    """The courier leaves the hub: the batch is dispatched (no more re-plans), the round's orders
    are out for delivery and their residents get an ETA."""
    with transaction.atomic():
        batch_id = Route.objects.filter(pk=route_id).values_list("batch_id", flat=True).first()
        if batch_id is None:
            raise NotFoundError()
        # Lock order: the batch, then the round (as the planner does).
        batch = Batch.objects.select_for_update().get(pk=batch_id)
        route = _route_of_courier_locked(actor, route_id)
        if route.status != Route.Status.PLANNED or batch.status not in (
            Batch.Status.PLANNED,
            Batch.Status.DISPATCHED,
            Batch.Status.PLANNING,
        ):
            raise RouteStateError()
        now = timezone.now()
        if batch.status != Batch.Status.DISPATCHED:
            batch.status = Batch.Status.DISPATCHED
            batch.dispatched_at = now
            batch.progress_stage = "dispatched"
            batch.save(update_fields=["status", "dispatched_at", "progress_stage"])
            # Orders claimed by a re-plan that will now never land go back to the pool.
            stray = Assignment.objects.filter(
                batch=batch, released_at__isnull=True, stop__isnull=True
            )
            Order.objects.filter(
                pk__in=stray.values("order_id"), status=Order.Status.PLANNED
            ).update(status=Order.Status.PENDING)
            stray.update(
                released_at=now, outcome=Assignment.Outcome.RELEASED, release_reason="dispatched"
            )
        route.status = Route.Status.STARTED
        route.started_at = now
        route.save(update_fields=["status", "started_at"])
        held = list(
            Assignment.objects.filter(stop__route=route, released_at__isnull=True)
            .select_related("order", "stop")
            .order_by("order_id")
        )
        Order.objects.filter(pk__in=[a.order_id for a in held]).update(
            status=Order.Status.OUT_FOR_DELIVERY, updated_at=now
        )
        for a in held:
            _tell_eta(a, a.stop.eta, route, now)  # type: ignore[union-attr]
    return route


def _tell_eta(assignment: Assignment, eta: datetime, route: Route, now: datetime) -> None:
    notify(
        event_type="order.eta",
        data={
            "order_id": assignment.order_id,
            "route_id": route.pk,
            "eta": timezone.localtime(eta).isoformat(),
            "minutes": max(0, round((eta - now).total_seconds() / 60)),
        },
        recipients=[assignment.order.resident_id],
    )
    Assignment.objects.filter(pk=assignment.pk).update(notified_eta=eta)


def proof_photo_check(photo: UploadedFile) -> None:
    """A proof photo is a real JPEG, PNG or WebP image within the size limit."""
    if photo.size is None or photo.size > settings.POOLING_PROOF_PHOTO_MAX_BYTES:
        raise BadPhotoError()
    if (photo.content_type or "") not in settings.POOLING_PROOF_PHOTO_TYPES:
        raise BadPhotoError()
    try:
        photo.seek(0)
        with Image.open(photo) as image:
            fmt = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BadPhotoError() from None
    finally:
        photo.seek(0)
    if fmt not in PHOTO_FORMATS:
        raise BadPhotoError()


def _stop_of_route_locked(route: Route, stop_id: int) -> Stop:
    stop = Stop.objects.select_for_update().filter(pk=stop_id, route=route).first()
    if stop is None:
        raise NotFoundError()
    if route.status != Route.Status.STARTED:
        raise RouteStateError()
    if stop.status != Stop.Status.PENDING:
        raise StopStateError()
    return stop


def _code_matches(stop: Stop, held: list[Assignment], code: str) -> bool:
    if stop.kind == DropKind.HOME:
        expected = [a.order.delivery_code for a in held]
    else:
        expected = [stop.relay_point.handover_code] if stop.relay_point else []
    # Compare against every candidate, always, in constant time.
    matches = [hmac.compare_digest(code.encode(), e.encode()) for e in expected]
    return any(matches)


def stop_delivered(
    *,
    actor: User,
    route_id: int,
    stop_id: int,
    code: str | None = None,
    photo: UploadedFile | None = None,
) -> Stop:
    """The parcels of a stop are handed over, with a proof: the code the recipient shows (the
    resident's order code at home, the relay's handover code at a relay or host) or a photo."""
    if not code and photo is None:
        raise ProofRequiredError()
    if photo is not None:
        proof_photo_check(photo)
    with transaction.atomic():
        route = _route_of_courier_locked(actor, route_id)
        stop = _stop_of_route_locked(route, stop_id)
        held = _assignments_of(stop)
        now = timezone.now()
        if code:
            if not _code_matches(stop, held, code):
                raise BadProofCodeError()
            stop.proof = Stop.Proof.CODE
        else:
            assert photo is not None
            stop.proof = Stop.Proof.PHOTO
            stop.proof_photo.save(photo.name or "proof.jpg", photo, save=False)
        stop.status = Stop.Status.DELIVERED
        stop.done_at = now
        stop.save(update_fields=["proof", "proof_photo", "status", "done_at"])
        Assignment.objects.filter(pk__in=[a.pk for a in held]).update(
            outcome=Assignment.Outcome.DELIVERED
        )
        Order.objects.filter(pk__in=[a.order_id for a in held]).update(
            status=Order.Status.DELIVERED, delivered_at=now, updated_at=now
        )
        for a in held:
            notify(
                event_type="order.delivered",
                data={
                    "order_id": a.order_id,
                    "merchant_name": a.order.merchant_name,
                    "delivered_at": timezone.localtime(now).isoformat(),
                    "place": stop.kind,
                    "proof": stop.proof,
                },
                recipients=[a.order.resident_id],
            )
        _route_close_if_done(route, now)
    return stop


def stop_failed(
    *,
    actor: User,
    route_id: int,
    stop_id: int,
    reason: str,
    photo: UploadedFile | None = None,
) -> Stop:
    """A stop could not be delivered: its parcels leave the batch and go back to the pool (or
    back to the sender after ``POOLING_MAX_ATTEMPTS`` attempts)."""
    if photo is not None:
        proof_photo_check(photo)
    with transaction.atomic():
        route = _route_of_courier_locked(actor, route_id)
        stop = _stop_of_route_locked(route, stop_id)
        held = _assignments_of(stop)
        now = timezone.now()
        stop.status = Stop.Status.FAILED
        stop.fail_reason = reason
        stop.done_at = now
        if photo is not None:
            stop.proof = Stop.Proof.PHOTO
            stop.proof_photo.save(photo.name or "proof.jpg", photo, save=False)
        stop.save(update_fields=["status", "fail_reason", "done_at", "proof", "proof_photo"])
        Assignment.objects.filter(pk__in=[a.pk for a in held]).update(
            outcome=Assignment.Outcome.FAILED, released_at=now, release_reason=reason[:32]
        )
        Order.objects.filter(pk__in=[a.order_id for a in held]).update(
            attempts=F("attempts") + 1, updated_at=now
        )
        limit = int(settings.POOLING_MAX_ATTEMPTS)
        orders = Order.objects.filter(pk__in=[a.order_id for a in held])
        orders.filter(attempts__gte=limit).update(status=Order.Status.RETURNED)
        orders.filter(attempts__lt=limit).update(status=Order.Status.PENDING)
        attempts = dict(orders.values_list("pk", "attempts"))
        for a in held:
            notify(
                event_type="order.failed",
                data={
                    "order_id": a.order_id,
                    "merchant_name": a.order.merchant_name,
                    "reason": reason,
                    "next_step": "return" if attempts[a.order_id] >= limit else "retry",
                },
                recipients=[a.order.resident_id],
            )
        _route_close_if_done(route, now)
    return stop


def _route_close_if_done(route: Route, now: datetime) -> None:
    if route.stops.filter(status=Stop.Status.PENDING).exists():
        return
    route.status = Route.Status.COMPLETED
    route.completed_at = now
    route.save(update_fields=["status", "completed_at"])
    batch = Batch.objects.select_for_update().get(pk=route.batch_id)
    if not batch.routes.exclude(status=Route.Status.COMPLETED).exists():
        batch.status = Batch.Status.COMPLETED
        batch.progress_stage = "completed"
        batch.save(update_fields=["status", "progress_stage"])


# --- live position ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionResult:
    route_id: int | None
    etas: dict[int, datetime]
    nearby_stop_ids: list[int]


def may_send_position(user_id: int) -> bool:
    """``REALTIME_POSITION_POLICY``: only active couriers send positions on their socket."""
    return Courier.objects.filter(user_id=user_id, is_active=True).exists()


def position_from_socket(
    sender: Any, *, user_id: int, lon: float, lat: float, measured_at: datetime, **kwargs: Any
) -> None:
    """A position a courier sent on the websocket: the same as ``POST /courier/position``.
    A position the street graph cannot place is logged, not raised (the socket goes on)."""
    courier = Courier.objects.filter(user_id=user_id, is_active=True).first()
    if courier is None:
        return
    try:
        courier_position_update(courier=courier, lon=lon, lat=lat, at=measured_at)
    except DomainError as error:
        logger.info("courier #%s: position not used (%s)", courier.pk, error.code)


def courier_position_update(
    *, courier: Courier | User, lon: float, lat: float, at: datetime
) -> PositionResult:
    """A courier's position: the ETAs of the stops left on their started round are recomputed
    from it (street graph, the round's profile, waiting for windows, service times); residents
    whose ETA moved by ``POOLING_ETA_NOTIFY_SECONDS`` or more get ``order.eta``, and those whose
    home the courier is within ``POOLING_NEARBY_METERS`` of get ``order.courier_nearby`` (once).

    The websocket consumer calls this for every position a courier sends; so does
    ``POST /api/v1/courier/position``.
    """
    if isinstance(courier, User):
        found = Courier.objects.filter(user=courier, is_active=True).first()
        if found is None:
            raise NotACourierError()
        courier = found
    route_id = (
        Route.objects.filter(courier=courier, status=Route.Status.STARTED)
        .order_by("-started_at")
        .values_list("pk", flat=True)
        .first()
    )
    if route_id is None:
        return PositionResult(route_id=None, etas={}, nearby_stop_ids=[])
    with transaction.atomic():
        route = Route.objects.select_for_update().get(pk=route_id)
        route.last_position = Point(lon, lat, srid=settings.GEO_SRID)
        route.last_position_at = at
        route.save(update_fields=["last_position", "last_position_at"])
        stops = list(route.stops.filter(status=Stop.Status.PENDING).order_by("position"))
        if not stops:
            return PositionResult(route_id=route.pk, etas={}, nearby_stop_ids=[])
        profile = get_profile(route.profile)
        try:
            net = network_for_point(lon, lat)
            origin = net.snap(lon, lat, profile)
        except (OffGraphError, IslandError):
            # A position off the streets (GPS drift, indoors) moves nothing.
            return PositionResult(route_id=route.pk, etas={}, nearby_stop_ids=[])
        snaps = net.snap_many(
            np.array([s.location.x for s in stops]),
            np.array([s.location.y for s in stops]),
            profile,
        )
        search = net.search(origin, profile, limit_m=settings.GEO_ROUTE_MAX_KM * 1000)
        eff = net.costs_to(search, snaps, profile) + snaps.approach_m + origin.approach_m
        first = float(eff[0])
        if not math.isfinite(first):
            return PositionResult(route_id=route.pk, etas={}, nearby_stop_ids=[])
        etas: dict[int, datetime] = {}
        clock = at + timedelta(seconds=float(profile.seconds(first)))
        for k, stop in enumerate(stops):
            if k > 0:
                previous = stops[k - 1]
                clock = clock + timedelta(
                    seconds=previous.service_seconds + stop.seconds_from_previous
                )
            clock = max(clock, stop.window_start)
            etas[stop.pk] = clock
        for stop in stops:
            stop.eta = etas[stop.pk]
        Stop.objects.bulk_update(stops, ["eta"])
        held = list(
            Assignment.objects.filter(stop__in=stops, released_at__isnull=True)
            .select_related("order", "stop")
            .order_by("order_id")
        )
        threshold = timedelta(seconds=int(settings.POOLING_ETA_NOTIFY_SECONDS))
        for a in held:
            eta = etas[a.stop_id]  # type: ignore[index]
            if a.notified_eta is None or abs(eta - a.notified_eta) >= threshold:
                _tell_eta(a, eta, route, at)
        nearby: list[int] = []
        limit_m = float(settings.POOLING_NEARBY_METERS)
        for k, stop in enumerate(stops):
            meters = float(eff[k])  # walk and bike profiles cost plain meters
            if (
                stop.kind != DropKind.HOME
                or stop.nearby_notified_at is not None
                or not math.isfinite(meters)
                or meters > limit_m
            ):
                continue
            nearby.append(stop.pk)
            Stop.objects.filter(pk=stop.pk).update(nearby_notified_at=at)
            minutes = max(1, math.ceil(float(profile.seconds(meters)) / 60))
            for a in held:
                if a.stop_id == stop.pk:
                    notify(
                        event_type="order.courier_nearby",
                        data={
                            "order_id": a.order_id,
                            "route_id": route.pk,
                            "minutes_away": minutes,
                        },
                        recipients=[a.order.resident_id],
                    )
    return PositionResult(route_id=route.pk, etas=etas, nearby_stop_ids=nearby)
