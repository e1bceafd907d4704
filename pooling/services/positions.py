"""Couriers' positions: kept on the courier and on the round they belong to, newest by the
courier's own clock (an older one sent late from an offline queue is ignored), and the ETAs
they move, with the residents told when the courier is near."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from backend.errors import DomainError
from geo.graph import network_for_point
from geo.network import IslandError, OffGraphError
from geo.profiles import get_profile
from notifications.services.events import notify
from pooling.errors import NotACourierError, OffDutyError
from pooling.models import Assignment, Courier, DropKind, Route, Stop
from pooling.services.duty import client_time, day_start, offline_floor, on_duty_at

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PositionResult:
    route_id: int | None
    etas: dict[int, datetime]
    nearby_stop_ids: list[int]
    # False: older than the latest position kept (sent late): nothing changed.
    applied: bool = True


def may_send_position(user_id: int) -> bool:
    """``REALTIME_POSITION_POLICY``: only active couriers send positions on their socket (those
    off duty are then ignored by :func:`courier_position_update`)."""
    return Courier.objects.filter(user_id=user_id, is_active=True).exists()


def position_from_socket(
    sender: Any, *, user_id: int, lon: float, lat: float, measured_at: datetime, **kwargs: Any
) -> None:
    """A position a courier sent on the websocket: the same as ``POST /courier/position``.
    A position the street graph cannot place, or sent off duty, is logged, not raised (the
    socket goes on)."""
    courier = Courier.objects.filter(user_id=user_id, is_active=True).first()
    if courier is None:
        return
    try:
        courier_position_update(courier=courier, lon=lon, lat=lat, at=measured_at)
    except DomainError as error:
        logger.info("courier #%s: position not used (%s)", courier.pk, error.code)


def _round_of(courier: Courier, at: datetime) -> Route | None:
    """The round a position belongs to: the courier's started round, or else the one under way
    at ``at`` by the courier's clock (started, and not completed before ``at``)."""
    started = (
        Route.objects.filter(courier=courier, status=Route.Status.STARTED)
        .order_by("-started_at")
        .first()
    )
    if started is not None:
        return started
    return (
        Route.objects.filter(courier=courier, started_at__lte=at)
        .filter(Q(completed_at__isnull=True) | Q(completed_at__gte=at))
        .order_by("-started_at")
        .first()
    )


def courier_position_update(
    *, courier: Courier | User, lon: float, lat: float, at: datetime | None = None
) -> PositionResult:
    """A courier's position, measured at ``at`` by their clock (now if absent). Taken only on
    duty (409 ``courier_off_duty``). The newest position is kept on the courier and on the round
    it belongs to; an older one changes nothing. On a started round, the ETAs of the stops left
    are recomputed from it (street graph, the round's profile, waiting for windows, service
    times); residents whose ETA moved by ``POOLING_ETA_NOTIFY_SECONDS`` or more get
    ``order.eta``, and those whose home the courier is within ``POOLING_NEARBY_METERS`` of get
    ``order.courier_nearby`` (once).

    The websocket consumer calls this for every position a courier sends; so does
    ``POST /api/v1/courier/position``.
    """
    if isinstance(courier, User):
        found = Courier.objects.filter(user=courier, is_active=True).first()
        if found is None:
            raise NotACourierError()
        courier = found
    now = timezone.now()
    guess = at or now
    route_found = _round_of(courier, guess)
    floor = offline_floor(now)
    if route_found is not None:
        floor = min(floor, day_start(route_found.batch.day))
    at = client_time(at, not_before=floor, now=now)
    with transaction.atomic():
        # Lock order: the round, then the courier (as starting a round does).
        route = (
            Route.objects.select_for_update().get(pk=route_found.pk)
            if route_found is not None
            else None
        )
        courier = Courier.objects.select_for_update().get(pk=courier.pk)
        if not on_duty_at(courier, at):
            raise OffDutyError()
        here = Point(lon, lat, srid=settings.GEO_SRID)
        if courier.last_position_at is None or at > courier.last_position_at:
            courier.last_position = here
            courier.last_position_at = at
            courier.save(update_fields=["last_position", "last_position_at"])
        if route is None:
            return PositionResult(route_id=None, etas={}, nearby_stop_ids=[])
        if route.last_position_at is not None and at <= route.last_position_at:
            return PositionResult(route_id=route.pk, etas={}, nearby_stop_ids=[], applied=False)
        route.last_position = here
        route.last_position_at = at
        route.save(update_fields=["last_position", "last_position_at"])
        if route.status != Route.Status.STARTED:
            return PositionResult(route_id=route.pk, etas={}, nearby_stop_ids=[])
        etas, nearby = _etas_move(route, lon, lat, at)
    return PositionResult(route_id=route.pk, etas=etas, nearby_stop_ids=nearby)


def _etas_move(
    route: Route, lon: float, lat: float, at: datetime
) -> tuple[dict[int, datetime], list[int]]:
    stops = list(route.stops.filter(status=Stop.Status.PENDING).order_by("position"))
    if not stops:
        return {}, []
    profile = get_profile(route.profile)
    try:
        net = network_for_point(lon, lat)
        origin = net.snap(lon, lat, profile)
    except (OffGraphError, IslandError):
        # A position off the streets (GPS drift, indoors) moves nothing.
        return {}, []
    snaps = net.snap_many(
        np.array([s.location.x for s in stops]),
        np.array([s.location.y for s in stops]),
        profile,
    )
    search = net.search(origin, profile, limit_m=settings.GEO_ROUTE_MAX_KM * 1000)
    eff = net.costs_to(search, snaps, profile) + snaps.approach_m + origin.approach_m
    first = float(eff[0])
    if not math.isfinite(first):
        return {}, []
    etas: dict[int, datetime] = {}
    clock = at + timedelta(seconds=float(profile.seconds(first)))
    for k, stop in enumerate(stops):
        if k > 0:
            previous = stops[k - 1]
            clock = clock + timedelta(seconds=previous.service_seconds + stop.seconds_from_previous)
        clock = max(clock, stop.window_start)
        etas[stop.pk] = clock
    moved = [stop for stop in stops if stop.eta != etas[stop.pk]]
    for stop in stops:
        stop.eta = etas[stop.pk]
    Stop.objects.bulk_update(stops, ["eta"])
    if moved:
        # The round as the courier reads it changed: its ETag too.
        Route.objects.filter(pk=route.pk).update(version=F("version") + 1)
    held = list(
        Assignment.objects.filter(stop__in=stops, released_at__isnull=True)
        .select_related("order", "stop")
        .order_by("order_id")
    )
    threshold = timedelta(seconds=int(settings.POOLING_ETA_NOTIFY_SECONDS))
    for a in held:
        eta = etas[a.stop_id]  # type: ignore[index]
        if a.notified_eta is None or abs(eta - a.notified_eta) >= threshold:
            eta_tell(a, eta, route, at)
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
                    data={"order_id": a.order_id, "route_id": route.pk, "minutes_away": minutes},
                    recipients=[a.order.resident_id],
                )
    return etas, nearby


def eta_tell(assignment: Assignment, eta: datetime, route: Route, now: datetime) -> None:
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
