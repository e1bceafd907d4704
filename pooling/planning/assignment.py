"""Where each parcel of a batch is dropped, and the stops those drops make.

Each order offers the drops its resident accepts: their home (when they take home deliveries,
with the windows when they are in), and the relay points or neighbour hosts they can walk to
within their limit, timed on the street graph with their own profile (a wheelchair user gets
wheelchair times). The choice then gathers parcels on as few places as it can (a greedy set
cover): a drop already on the plan is taken first; otherwise the place that can take the most
waiting parcels is opened, ties going to the place nearest to what is already on the plan (the
one that shortens the rounds). Capacities of relays and hosts are kept. Drops at one place are
merged into one stop.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from pooling.models import DropKind
from pooling.planning.clock import Window, intersect, service_starts


@dataclass(frozen=True)
class DropOption:
    key: str  # "home:<resident id>" or "relay:<relay point id>"
    kind: str  # DropKind
    relay_point_id: int | None = None
    walk_seconds: float | None = None


@dataclass(frozen=True)
class OrderDemand:
    order_id: int
    resident_id: int
    parcels: int
    units: int
    kg: int
    options: tuple[DropOption, ...]
    # When the resident is in, for a home drop (empty: any time).
    home_windows: tuple[Window, ...] = ()
    # Why there is no option at all, when there is none.
    no_option_reason: str = "no_drop_within_walking_limit"


@dataclass(frozen=True)
class Place:
    key: str
    kind: str
    lon: float
    lat: float
    relay_point_id: int | None = None
    resident_id: int | None = None
    # Parcels it can still take this day (None: no limit, a home).
    capacity_left: int | None = None
    # Opening hours (relays, hosts), seconds from midnight; empty: any time.
    hours: tuple[Window, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class Drop:
    order_id: int
    place_key: str
    kind: str
    relay_point_id: int | None
    walk_seconds: float | None


@dataclass
class StopDraft:
    """Drops at one place, merged: what the solver sees as one stop."""

    place: Place
    order_ids: list[int] = field(default_factory=list)
    parcels: int = 0
    units: int = 0
    kg: int = 0
    windows: list[Window] = field(default_factory=list)  # service-start windows

    def service_seconds(self) -> int:
        base = int(settings.POOLING_SERVICE_SECONDS[self.place.kind])
        return base + int(settings.POOLING_SERVICE_SECONDS_PER_PARCEL) * self.parcels


@dataclass(frozen=True)
class DropChoice:
    drops: dict[int, Drop]
    left_out: dict[int, str]


# --- the choice (pure) -----------------------------------------------------------------------------


def choose_drops(
    orders: Sequence[OrderDemand],
    places: Mapping[str, Place],
    *,
    hub_xy: tuple[float, float],
    project: Callable[[np.ndarray, np.ndarray], tuple],
) -> DropChoice:
    """One drop per order among its options (see the module's docstring). ``project`` maps
    (lon, lat) arrays to metric (x, y) for the "nearest to the plan" tie-break."""
    drops: dict[int, Drop] = {}
    left_out: dict[int, str] = {}
    taken: dict[str, int] = defaultdict(int)
    open_keys: list[str] = []
    xy = {}
    for key, place in places.items():
        x, y = project(np.array([place.lon]), np.array([place.lat]))
        xy[key] = (float(x[0]), float(y[0]))

    def fits(order: OrderDemand, key: str) -> bool:
        cap = places[key].capacity_left
        return cap is None or taken[key] + order.parcels <= cap

    def assign(order: OrderDemand, option: DropOption) -> None:
        drops[order.order_id] = Drop(
            order_id=order.order_id,
            place_key=option.key,
            kind=option.kind,
            relay_point_id=option.relay_point_id,
            walk_seconds=option.walk_seconds,
        )
        taken[option.key] += order.parcels
        if option.key not in open_keys:
            open_keys.append(option.key)

    flexible: list[OrderDemand] = []
    for order in sorted(orders, key=lambda o: o.order_id):
        options = [o for o in order.options if o.key in places]
        if not options:
            left_out[order.order_id] = order.no_option_reason
        elif len(options) == 1:
            if fits(order, options[0].key):
                assign(order, options[0])
            else:
                left_out[order.order_id] = "relay_full"
        else:
            flexible.append(order)

    def distance_to_plan(key: str) -> float:
        px, py = xy[key]
        anchors = [hub_xy] + [xy[k] for k in open_keys]
        return min(math.hypot(px - ax, py - ay) for ax, ay in anchors)

    pending = flexible
    while pending:
        still: list[OrderDemand] = []
        for order in pending:
            on_plan = [o for o in order.options if o.key in open_keys and fits(order, o.key)]
            if on_plan:
                # The resident's own home first, then the shortest walk.
                on_plan.sort(key=lambda o: (o.kind != DropKind.HOME, o.walk_seconds or 0.0))
                assign(order, on_plan[0])
            else:
                still.append(order)
        pending = still
        if not pending:
            break
        cover: dict[str, int] = defaultdict(int)
        for order in pending:
            for option in order.options:
                if option.key in places and fits(order, option.key):
                    cover[option.key] += order.parcels
        if not cover:
            for order in pending:
                left_out[order.order_id] = "relay_full"
            break

        def score(key: str, cover: dict[str, int] = cover) -> tuple[float, float, str]:
            cap = places[key].capacity_left
            gathered = cover[key] if cap is None else min(cover[key], cap - taken[key])
            return (-gathered, distance_to_plan(key), key)

        best = min(cover, key=score)
        open_keys.append(best)
    return DropChoice(drops=drops, left_out=left_out)


def merge_stops(
    orders: Sequence[OrderDemand],
    choice: DropChoice,
    places: Mapping[str, Place],
    *,
    max_units: int | None = None,
    max_kg: int | None = None,
) -> tuple[list[StopDraft], dict[int, str]]:
    """The stops of the chosen drops: one per place. A place gets several stops when its orders'
    windows do not meet (a home), or when its parcels would not fit in the largest vehicle (a
    busy relay is then served by several rounds). Returns the stops and the orders left out
    because no window fits their service."""
    by_id = {o.order_id: o for o in orders}
    stops: list[StopDraft] = []
    left_out: dict[int, str] = {}
    grouped: dict[str, list[int]] = defaultdict(list)
    for order_id in sorted(choice.drops):
        grouped[choice.drops[order_id].place_key].append(order_id)
    for key in sorted(grouped, key=_place_sort_key):
        place = places[key]
        drafts: list[StopDraft] = []
        for order_id in grouped[key]:
            order = by_id[order_id]
            own = list(order.home_windows) if place.kind == DropKind.HOME else list(place.hours)
            target = None
            for draft in drafts:
                fits_load = (max_units is None or draft.units + order.units <= max_units) and (
                    max_kg is None or draft.kg + order.kg <= max_kg
                )
                if fits_load and (not draft.windows or not own or intersect(draft.windows, own)):
                    target = draft
                    break
            if target is None:
                target = StopDraft(place=place, windows=own)
                drafts.append(target)
            elif own:
                target.windows = intersect(target.windows, own)
            target.order_ids.append(order_id)
            target.parcels += order.parcels
            target.units += order.units
            target.kg += order.kg
        for draft in drafts:
            if draft.windows:
                starts = service_starts(draft.windows, draft.service_seconds())
                if not starts:
                    for order_id in draft.order_ids:
                        left_out[order_id] = "window_too_short"
                    continue
                draft.windows = starts
            stops.append(draft)
    return stops, left_out


def _place_sort_key(key: str) -> tuple[str, int]:
    kind, _, ident = key.partition(":")
    return kind, int(ident)
