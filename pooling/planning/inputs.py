"""The first step of planning: everything a run needs, read once.

The batch's couriers (their vehicle, capacity and shift), the relay points and neighbour hosts
that can still take parcels that day within the couriers' hours, and every order the batch holds
with the drops its resident accepts: their home (with the windows when they are in) and the
relays and hosts within their walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db.models import Count, Q

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
from pooling.planning.assignment import DropOption, OrderDemand, Place, relay_options

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
    options_cache: dict[tuple, list[DropOption]] = {}
    for assignment in assignments:
        demand, order_info = _order_demand(assignment.order, day, horizon, places, options_cache)
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
    options_cache: dict[tuple, list[DropOption]],
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
        options += _relay_options_cached(order, home, places, options_cache)
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
    )
    return demand, info


def _relay_options_cached(
    order: Order,
    home: Point,
    places: dict[str, Place],
    options_cache: dict[tuple, list[DropOption]],
) -> list[DropOption]:
    """The relays and hosts within the resident's walk, searched once per resident and choice."""
    cache_key = (
        order.resident_id,
        order.receive_mode,
        order.relay_point_id,
        order.max_walk_seconds,
        order.walk_profile,
    )
    if cache_key not in options_cache:
        options_cache[cache_key] = relay_options(
            home=Point(home.x, home.y, srid=settings.GEO_SRID),
            mode=order.receive_mode,
            relay_point_id=order.relay_point_id,
            max_walk_seconds=order.max_walk_seconds,
            profile=order.walk_profile,
            relays=[p.relay_point_id for p in places.values() if p.relay_point_id],
        )
    return options_cache[cache_key]


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
