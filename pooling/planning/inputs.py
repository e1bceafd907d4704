"""The first step of planning: everything a run needs, read once.

The batch's couriers (their vehicle, capacity and shift), the relay points and neighbour hosts
that can still take parcels that day within the couriers' hours, and every order the batch holds
with the drops its resident accepts: their home (with the windows when they are in) and the
relays and hosts within their walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from django.conf import settings
from django.contrib.gis.measure import D
from django.db.models import Count, Q

from geo.network import OffGraphError
from geo.selectors import goes_both_ways, travel_matrix_arrays
from pooling.models import (
    SIZE_UNITS,
    WEIGHT_KG,
    Assignment,
    Batch,
    Courier,
    DropKind,
    Hub,
    Order,
    ReceiveMode,
    RelayPoint,
)
from pooling.planning import clock
from pooling.planning.assignment import DropOption, OrderDemand, Place

# Relays without a neighbourhood serve the hubs within this distance.
RELAY_REACH_M = 3000.0


@dataclass(frozen=True)
class CourierInput:
    courier_id: int
    user_id: int
    vehicle: str
    profile: str
    capacity_units: int
    capacity_kg: int
    shift_start: int
    shift_end: int


@dataclass(frozen=True)
class OrderInfo:
    order_id: int
    resident_id: int
    carrier: str
    merchant_name: str
    mode: str
    home_key: str | None
    parcels: int
    units: int
    kg: int
    # When the order was announced: the oldest are served first when the fleet is short.
    announced_at: datetime | None = None


@dataclass
class BatchInputs:
    batch_id: int
    version: int
    day: date
    hub_lonlat: tuple[float, float]
    loading_s: int
    couriers: list[CourierInput]
    orders: list[OrderDemand]
    info: dict[int, OrderInfo]
    places: dict[str, Place]
    left_out: dict[int, str] = field(default_factory=dict)


def batch_inputs_load(*, batch_id: int, version: int) -> BatchInputs:
    """Everything planning needs, read once."""
    batch = Batch.objects.select_related("hub").get(pk=batch_id)
    hub = batch.hub
    day = batch.day
    couriers = _couriers_load(hub)
    horizon = (
        min((c.shift_start for c in couriers), default=0),
        max((c.shift_end for c in couriers), default=0),
    )
    places = _relay_places_load(batch, hub, horizon)
    assignments = (
        Assignment.objects.filter(batch_id=batch_id, released_at__isnull=True)
        .select_related("order__resident", "order__resident__receiving_preference")
        .prefetch_related("order__parcels", "order__windows")
        .order_by("order_id")
    )
    orders: list[OrderDemand] = []
    info: dict[int, OrderInfo] = {}
    left_out: dict[int, str] = {}
    loaded = list(assignments)
    walks = _relay_walks(
        [a.order for a in loaded if a.order.receive_mode != ReceiveMode.HOME], places
    )
    for assignment in loaded:
        demand, order_info = _order_demand(assignment.order, day, horizon, places, walks)
        orders.append(demand)
        info[demand.order_id] = order_info
    return BatchInputs(
        batch_id=batch_id,
        version=version,
        day=day,
        hub_lonlat=(hub.location.x, hub.location.y),
        loading_s=hub.loading_seconds,
        couriers=couriers,
        orders=orders,
        info=info,
        places=places,
        left_out=left_out,
    )


def _couriers_load(hub: Hub) -> list[CourierInput]:
    """The hub's active couriers, their shifts in seconds of the day."""
    return [
        CourierInput(
            courier_id=c.pk,
            user_id=c.user_id,
            vehicle=c.vehicle,
            profile=settings.POOLING_VEHICLE_PROFILES[c.vehicle],
            capacity_units=c.capacity_units,
            capacity_kg=c.capacity_kg,
            shift_start=clock.time_seconds(c.shift_start),
            shift_end=clock.time_seconds(c.shift_end),
        )
        for c in Courier.objects.filter(hub=hub, is_active=True, user__is_active=True).order_by(
            "pk"
        )
    ]


def _relay_places_load(batch: Batch, hub: Hub, horizon: tuple[int, int]) -> dict[str, Place]:
    """The relays and hosts of the neighbourhood (or near the hub) open during the couriers'
    hours with room left that day, keyed ``relay:<id>``."""
    relays = list(
        RelayPoint.objects.filter(is_active=True).filter(
            Q(neighbourhood_id=batch.neighbourhood_id)
            | Q(neighbourhood__isnull=True, location__dwithin=(hub.location, D(m=RELAY_REACH_M)))
        )
    )
    capacity = _relay_capacity_left(relays, batch.day, batch.pk)
    places: dict[str, Place] = {}
    for r in relays:
        hours = clock.clip(
            [(clock.time_seconds(r.opens_at), clock.time_seconds(r.closes_at))], *horizon
        )
        if not hours or capacity[r.pk] <= 0:
            continue
        places[f"relay:{r.pk}"] = Place(
            key=f"relay:{r.pk}",
            kind=r.drop_kind,
            lon=r.location.x,
            lat=r.location.y,
            relay_point_id=r.pk,
            capacity_left=capacity[r.pk],
            hours=tuple(hours),
            label=r.name,
        )
    return places


def _relay_capacity_left(relays: Sequence[RelayPoint], day: date, batch_id: int) -> dict[int, int]:
    used = dict(
        Assignment.objects.filter(
            relay_point__in=relays,
            batch__day=day,
            released_at__isnull=True,
        )
        .exclude(batch_id=batch_id)
        .values("relay_point_id")
        .annotate(parcels=Count("order__parcels"))
        .values_list("relay_point_id", "parcels")
    )
    return {r.pk: max(r.capacity_per_day - used.get(r.pk, 0), 0) for r in relays}


def _order_demand(
    order: Order,
    day: date,
    horizon: tuple[int, int],
    places: dict[str, Place],
    walks: dict[tuple[int, str], dict[str, float]],
) -> tuple[OrderDemand, OrderInfo]:
    """An order's load and the drops its resident accepts (a home drop adds the home to
    ``places``), or why there is none."""
    resident = order.resident
    parcels = list(order.parcels.all())
    units = sum(SIZE_UNITS[p.size] for p in parcels)
    kg = sum(WEIGHT_KG[p.weight] for p in parcels)
    home = resident.home
    options: list[DropOption] = []
    windows: list[clock.Window] = []
    reason = "no_drop_within_walking_limit"
    home_key = f"home:{resident.pk}" if home is not None else None
    if home is None or home_key is None:
        reason = "no_home"
    elif order.receive_mode in (ReceiveMode.HOME, ReceiveMode.ANY):
        windows = _home_windows(order, day)
        windows = clock.clip(windows, *horizon) if windows else []
        if windows or not _has_own_windows(order, day):
            options.append(DropOption(key=home_key, kind=DropKind.HOME))
            places.setdefault(
                home_key,
                Place(
                    key=home_key,
                    kind=DropKind.HOME,
                    lon=home.x,
                    lat=home.y,
                    resident_id=resident.pk,
                    label=resident.home_address,
                ),
            )
        else:
            reason = "not_in_during_shifts"
    if home is not None and order.receive_mode != ReceiveMode.HOME:
        options += _relay_options(order, places, walks)
    demand = OrderDemand(
        order_id=order.pk,
        resident_id=resident.pk,
        parcels=len(parcels),
        units=units,
        kg=kg,
        options=tuple(options),
        home_windows=tuple(windows),
        no_option_reason=reason,
    )
    info = OrderInfo(
        order_id=order.pk,
        resident_id=resident.pk,
        carrier=order.carrier,
        merchant_name=order.merchant_name,
        mode=order.receive_mode,
        home_key=home_key,
        parcels=len(parcels),
        units=units,
        kg=kg,
        announced_at=order.created_at,
    )
    return demand, info


def _relay_walks(
    orders: Sequence[Order], places: dict[str, Place]
) -> dict[tuple[int, str], dict[str, float]]:
    """Walking seconds from each resident's home to each relay and host open to the batch, for
    the orders that accept one: one travel matrix per walking profile over those homes and the
    relays (not one graph search per resident). Keyed by (resident, profile), then place key."""
    relays = [k for k, p in places.items() if p.relay_point_id]
    if not relays:
        return {}
    homes: dict[str, dict[int, tuple[float, float]]] = {}
    longest: dict[str, float] = {}
    for order in orders:
        home = order.resident.home
        if home is not None:
            homes.setdefault(order.walk_profile, {})[order.resident_id] = (home.x, home.y)
            longest[order.walk_profile] = max(
                longest.get(order.walk_profile, 0.0), float(order.max_walk_seconds)
            )
    walks: dict[tuple[int, str], dict[str, float]] = {}
    for profile, by_resident in homes.items():
        residents = sorted(by_resident)
        points = [by_resident[r] for r in residents] + [
            (places[k].lon, places[k].lat) for k in relays
        ]
        # Walking networks go both ways alike: the searches start from the few relays (bounded
        # by the longest walk anyone accepts) rather than from every home.
        both_ways = goes_both_ways(profile, near=points[0])
        try:
            found = travel_matrix_arrays(
                points=points,
                profile=profile,
                origins=range(len(residents), len(points)) if both_ways else range(len(residents)),
                max_seconds=longest[profile],
            ).seconds
        except OffGraphError:
            continue
        seconds = found.T if both_ways else found
        for i, resident_id in enumerate(residents):
            row = seconds[i, len(residents) :]
            walks[(resident_id, profile)] = {
                k: float(row[j]) for j, k in enumerate(relays) if np.isfinite(row[j])
            }
    return walks


def _relay_options(
    order: Order, places: dict[str, Place], walks: dict[tuple[int, str], dict[str, float]]
) -> list[DropOption]:
    """The relays and hosts the resident accepts (their choice of kind, or the one relay they
    named) within their walk, the nearest first."""
    kinds: set[str] = set()
    if order.receive_mode in (ReceiveMode.RELAY, ReceiveMode.ANY):
        kinds.add(DropKind.RELAY)
    if order.receive_mode in (ReceiveMode.HOST, ReceiveMode.ANY):
        kinds.add(DropKind.HOST)
    reach = walks.get((order.resident_id, order.walk_profile), {})
    options = [
        DropOption(
            key=key,
            kind=places[key].kind,
            relay_point_id=places[key].relay_point_id,
            walk_seconds=seconds,
        )
        for key, seconds in reach.items()
        if places[key].kind in kinds
        and seconds <= order.max_walk_seconds
        and (order.relay_point_id is None or places[key].relay_point_id == order.relay_point_id)
    ]
    return sorted(options, key=lambda o: (o.walk_seconds, o.key))


def _has_own_windows(order: Order, day: date) -> bool:
    """Whether the resident said when they are in (for this order, or weekly for this day)."""
    if any(True for _ in order.windows.all()):
        return True
    pref = getattr(order.resident, "receiving_preference", None)
    return bool(pref and clock.weekly_windows(pref.home_windows, day))


def _home_windows(order: Order, day: date) -> list[clock.Window]:
    own = [
        (clock.seconds_of(day, w.starts_at), clock.seconds_of(day, w.ends_at))
        for w in order.windows.all()
    ]
    own = clock.clip(own, 0, 86_400)
    if own or any(True for _ in order.windows.all()):
        return own
    pref = getattr(order.resident, "receiving_preference", None)
    return clock.weekly_windows(pref.home_windows, day) if pref else []
