"""A delivery day's rounds in the panel: the map (streets below, each round along its real legs)
and the printable round sheets (A4, one round a page).

Homes never show: a home's stop (a neighbour host's too) is drawn at the centre of its blur cell,
and its legs are drawn along the streets only outside that cell (``geo.privacy``); a straight,
dashed link joins the cell's centre to where the street path leaves the cell, and stands for a
leg whose path was not computed (or was erased with the round's addresses). The sheets name a
home's resident, never the address: the courier's app has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import LineString, Point
from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from geo.privacy import blurred_point, path_outside_cells
from panel import stats
from panel.map_widgets import background_config
from panel.views import ROUND_COLOURS, _admin_context, _batch_in_scope
from pooling import co2
from pooling.models import Assignment, Batch, DropKind, Route, Stop

Coord = list[float]
# Two ends closer than this (degrees, about a centimetre) are one point: no link between them.
SAME_POINT = 1e-7
DIGITS = 6  # about ten centimetres


def _stop_place(stop: Any) -> tuple[list[float], str]:
    """Where a stop is drawn: a relay point where it is, a home (a neighbour host's too) at the
    centre of its blur cell (staff never see where residents live)."""
    if stop.kind == DropKind.HOME:
        cell = blurred_point(stop.location)
        return [cell.x, cell.y], _("Home delivery (area of %(m)d m)") % {
            "m": int(settings.SHARING_BLUR_CELL_M)
        }
    name = stop.relay_point.name if stop.relay_point else ""
    if stop.kind == DropKind.HOST:  # a neighbour host's home: its blur cell, as for any home
        cell = blurred_point(stop.location)
        return [cell.x, cell.y], name
    return [stop.location.x, stop.location.y], name


def _is_home(stop: Stop) -> bool:
    return stop.kind in (DropKind.HOME, DropKind.HOST)


def _rounded(coords: Sequence[Sequence[float]]) -> list[Coord]:
    return [[round(x, DIGITS), round(y, DIGITS)] for x, y in coords]


def _apart(a: Sequence[float], b: Sequence[float]) -> bool:
    return abs(a[0] - b[0]) > SAME_POINT or abs(a[1] - b[1]) > SAME_POINT


class RoundDrawing:
    """One round's lines: ``paths`` along the streets, ``links`` straight (dashed)."""

    def __init__(self) -> None:
        self.paths: list[list[Coord]] = []
        self.links: list[list[Coord]] = []

    def leg(self, path: LineString | None, start: Coord, end: Coord, homes: list[Point]) -> None:
        """The leg from ``start`` to ``end`` (where the two stops are drawn), along ``path``
        outside the cells of ``homes`` (the leg's ends that are homes)."""
        if path is None or len(path.coords) < 2:
            self.links.append([start, end])
            return
        pieces = path_outside_cells(path, homes) if homes else [path]
        if not pieces:
            self.links.append([start, end])
            return
        here = start
        for piece in pieces:
            coords = _rounded(piece.coords)
            if _apart(here, coords[0]):
                self.links.append([here, coords[0]])
            self.paths.append(coords)
            here = coords[-1]
        if _apart(here, end):
            self.links.append([here, end])


def _active_assignments(stop: Stop) -> list[Assignment]:
    return list(getattr(stop, "active", []))


def _routes(batch: Batch) -> list[Route]:
    active = Assignment.objects.filter(released_at__isnull=True).select_related("order")
    return list(
        Route.objects.filter(batch=batch)
        .select_related("courier__user")
        .prefetch_related(
            Prefetch(
                "stops",
                queryset=Stop.objects.select_related("relay_point", "resident")
                .prefetch_related(
                    Prefetch("assignments", queryset=active, to_attr="active"),
                    "assignments__order__parcels",
                )
                .order_by("position"),
            )
        )
        .order_by("number", "pk")
    )


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def map_features(batch: Batch, routes: list[Route]) -> tuple[list[dict[str, Any]], list[dict]]:
    """The map's GeoJSON features (hub, stops, paths, links) and the rounds' table rows."""
    hub = batch.hub
    hub_at = [hub.location.x, hub.location.y]
    features = [_feature({"type": "Point", "coordinates": hub_at}, kind="hub", label=hub.name)]
    rounds = []
    for index, route in enumerate(routes):
        colour = ROUND_COLOURS[index % len(ROUND_COLOURS)]
        number = index + 1
        drawing = RoundDrawing()
        here, here_home = hub_at, None
        stops = []
        for stop in route.stops.all():
            at, place = _stop_place(stop)
            home = stop.location if _is_home(stop) else None
            drawing.leg(stop.path, here, at, [h for h in (here_home, home) if h is not None])
            here, here_home = at, home
            parcels = sum(len(a.order.parcels.all()) for a in _active_assignments(stop))
            features.append(
                _feature(
                    {"type": "Point", "coordinates": at},
                    kind="stop",
                    round=number,
                    position=stop.position,
                    colour=colour,
                    label=place,
                )
            )
            stops.append(
                {
                    "position": stop.position,
                    "kind": stop.get_kind_display(),
                    "place": place,
                    "eta": stop.eta,
                    "parcels": parcels,
                    "status": stop.get_status_display(),
                }
            )
        drawing.leg(route.return_path, here, hub_at, [here_home] if here_home else [])
        if drawing.paths:
            features.append(
                _feature(
                    {"type": "MultiLineString", "coordinates": drawing.paths},
                    kind="round",
                    round=number,
                    colour=colour,
                    stops=len(stops),
                )
            )
        if drawing.links:
            features.append(
                _feature(
                    {"type": "MultiLineString", "coordinates": drawing.links},
                    kind="link",
                    round=number,
                    colour=colour,
                )
            )
        rounds.append(
            {
                "id": route.pk,
                "number": number,
                "colour": colour,
                "courier": str(route.courier.user),
                "vehicle": route.get_vehicle_display(),
                "km": round(route.meters / 1000, 2),
                "start": route.planned_start,
                "end": route.planned_end,
                "load_units": route.load_units,
                "load_kg": route.load_kg,
                "stops": stops,
                "sheet_url": reverse("admin:panel_round_sheet", args=[batch.pk, route.pk]),
            }
        )
    return features, rounds


def _impact(batch: Batch) -> dict[str, Any] | None:
    impact = getattr(batch, "impact", None) if batch.status in stats.COUNTED_BATCHES else None
    if impact is None:
        return None
    ranges = co2.impact_co2_of_row(impact)
    return {
        "orders": impact.orders,
        "parcels": impact.parcels,
        "stops": impact.stops,
        "rounds": impact.rounds,
        "km": round(impact.vehicle_meters / 1000, 2),
        "per_carrier_km": round(impact.per_carrier_meters / 1000, 2),
        "per_carrier_rounds": impact.per_carrier_rounds,
        "per_parcel_km": round(impact.per_parcel_meters / 1000, 2),
        "per_parcel_trips": impact.per_parcel_trips,
        "co2_kg": round(impact.co2_grams / 1000, 2),
        "per_carrier_co2_kg": round(impact.per_carrier_co2_grams / 1000, 2),
        "per_parcel_co2_kg": round(impact.per_parcel_co2_grams / 1000, 2),
        "km_saved": round((impact.per_carrier_meters - impact.vehicle_meters) / 1000, 2),
        "co2_saved_kg": round((impact.per_carrier_co2_grams - impact.co2_grams) / 1000, 2),
        "co2_kg_low": round(ranges.pooled.low / 1000, 2),
        "co2_kg_high": round(ranges.pooled.high / 1000, 2),
        "per_carrier_co2_kg_low": round(ranges.per_carrier.low / 1000, 2),
        "per_carrier_co2_kg_high": round(ranges.per_carrier.high / 1000, 2),
        "co2_saved_kg_low": round(ranges.saved_vs_per_carrier.low / 1000, 2),
        "co2_saved_kg_high": round(ranges.saved_vs_per_carrier.high / 1000, 2),
    }


def _title(batch: Batch) -> str:
    return _("Rounds of %(day)s — %(place)s") % {
        "day": formats.date_format(batch.day, "DATE_FORMAT"),
        "place": batch.neighbourhood.name,
    }


def batch_map(request: HttpRequest, batch_id: int) -> TemplateResponse:
    batch = _batch_in_scope(request, batch_id)
    features, rounds = map_features(batch, _routes(batch))
    planning = batch.status in (Batch.Status.PENDING, Batch.Status.PLANNING)
    context = {
        **_admin_context(request, _title(batch)),
        "batch": batch,
        "rounds": rounds,
        "impact": _impact(batch),
        "shortfall": batch.shortfall,
        "planning": planning,
        "left_out": batch.left_out,
        "map_data": {"type": "FeatureCollection", "features": features},
        "map_config": {
            **background_config(),
            "progress_url": reverse("admin:panel_batch_progress", args=[batch.pk]),
            "planning": planning,
        },
        "sheets_url": reverse("admin:panel_round_sheets", args=[batch.pk]),
        "can_replan": request.user.has_perm("pooling.add_batch") and batch.status in Batch.OPEN,
    }
    return TemplateResponse(request, "admin/panel/batch_map.html", context)


# --- the round sheets ------------------------------------------------------------------------------


def _sizes(parcels: Sequence[Any]) -> str:
    order = {code: i for i, code in enumerate(("s", "m", "l", "xl"))}
    return ", ".join(p.size.upper() for p in sorted(parcels, key=lambda p: order.get(p.size, 9)))


def _sheet_stop(stop: Stop) -> dict[str, Any]:
    # A home's address (a neighbour host's too) is never printed: the courier's app has it.
    if stop.kind == DropKind.HOME:
        name = stop.resident.public_name if stop.resident is not None else ""
        address = ""
    else:
        name = stop.relay_point.name if stop.relay_point else ""
        address = stop.relay_point.address_label if stop.relay_point else ""
        if stop.kind == DropKind.HOST:
            address = ""
    orders = []
    for assignment in sorted(_active_assignments(stop), key=lambda a: a.order_id):
        order = assignment.order
        parcels = list(order.parcels.all())
        orders.append(
            {
                "carrier": order.carrier,
                "tracking_number": order.tracking_number,
                "merchant": order.merchant_name,
                "count": len(parcels),
                "sizes": _sizes(parcels),
            }
        )
    return {
        "position": stop.position,
        "kind": stop.kind,
        "kind_label": stop.get_kind_display(),
        "name": name,
        "address": address,
        "eta": stop.eta,
        "window_start": stop.window_start,
        "window_end": stop.window_end,
        "orders": orders,
        "parcels": sum(o["count"] for o in orders),
    }


def _sheet(route: Route, number: int) -> dict[str, Any]:
    stops = [_sheet_stop(stop) for stop in route.stops.all()]
    return {
        "id": route.pk,
        "number": number,
        "courier": str(route.courier.user),
        "vehicle": route.get_vehicle_display(),
        "start": route.planned_start,
        "end": route.planned_end,
        "km": round(route.meters / 1000, 1),
        "load_units": route.load_units,
        "load_kg": route.load_kg,
        "stops": stops,
        "parcels": sum(s["parcels"] for s in stops),
        "orders": sum(len(s["orders"]) for s in stops),
    }


def round_sheets(request: HttpRequest, batch_id: int, route_id: int | None = None) -> Any:
    """The printable sheets of a day's rounds (A4, one round a page), or of one of them."""
    batch = _batch_in_scope(request, batch_id)
    routes = _routes(batch)
    sheets = [
        _sheet(route, index + 1)
        for index, route in enumerate(routes)
        if route_id is None or route.pk == route_id
    ]
    if route_id is not None and not sheets:
        raise Http404("no such round in this day")
    context = {
        **_admin_context(request, _("Round sheets — %(title)s") % {"title": _title(batch)}),
        "batch": batch,
        "hub": batch.hub,
        "sheets": sheets,
        "day_title": _title(batch),
        "map_url": reverse("admin:panel_batch_map", args=[batch.pk]),
    }
    return TemplateResponse(request, "admin/panel/round_sheets.html", context)
