"""Reads on the street graph: nearby by travel time, routes, isochrones, matrices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, Point
from django.contrib.gis.measure import D
from django.db.models import FloatField, Func, Model, QuerySet
from django.utils.translation import gettext_lazy as _

from backend.errors import DomainError
from geo.graph import get_network, network_for_point
from geo.models import SnappedPlace
from geo.network import NoRouteError, OffGraphError, StreetNetwork
from geo.profiles import Profile, get_profile
from geo.snapping import read_candidates
from geo.snaps import Snap, Snaps

M = TypeVar("M", bound=Model)


class RouteTooLongError(DomainError):
    code = "route_too_long"
    default_message = _("These points are too far apart for a route.")


class _Coordinate(Func):
    output_field = FloatField()

    def __init__(self, expression: Any, axis: str) -> None:
        super().__init__(
            expression, function=f"ST_{axis}", template="%(function)s(%(expressions)s::geometry)"
        )


@dataclass(frozen=True)
class Reachable:
    """Primary keys reachable from an origin, sorted by door-to-door travel seconds."""

    pks: list[Any]
    seconds: np.ndarray

    def __len__(self) -> int:
        return len(self.pks)

    def seconds_by_pk(self) -> dict[Any, float]:
        return dict(zip(self.pks, self.seconds.tolist(), strict=True))


def nearby_ids(
    *,
    origin: Point,
    seconds: float,
    profile: str,
    queryset: QuerySet,
    field: str = "location",
) -> Reachable:
    """The rows of ``queryset`` whose ``field`` (a geography point) is reachable from ``origin``
    within ``seconds`` for ``profile``, as sorted primary keys and travel seconds.

    PostGIS first keeps the rows within the radius the profile's fastest speed could cover (travel
    distance is never shorter than the straight line), then one bounded search on the graph times
    them all. A model that stores its snapped place (``geo.models.SnappedPlace``, on this field)
    answers with those places, packed (:mod:`geo.snapping`): no candidate is snapped per query.
    Rows whose place is off the graph, or unreachable, are left out.
    """
    prof = get_profile(profile)
    within = queryset.filter(
        **{f"{field}__dwithin": (origin, D(m=reach_radius_m(seconds, prof.name)))}
    )
    model = queryset.model
    if issubclass(model, SnappedPlace) and field == model.snapped_field:
        net = network_for_point(origin.x, origin.y)
        origin_snap = net.snap(origin.x, origin.y, prof)
        inner, params = (
            within.annotate(_vx=_Coordinate(field, "X"), _vy=_Coordinate(field, "Y"))
            .values_list("pk", "snap_graph", "snap", "_vx", "_vy")
            .query.sql_with_params()
        )
        found = read_candidates(using=within.db, inner=inner, params=params, net=net, profile=prof)
        return _reach(net, origin_snap, prof, seconds, found.ids, found.snaps)
    candidates = within.annotate(
        _vx=_Coordinate(field, "X"), _vy=_Coordinate(field, "Y")
    ).values_list("pk", "_vx", "_vy")
    return reachable_rows(origin=origin, seconds=seconds, profile=profile, rows=list(candidates))


def reach_radius_m(seconds: float, profile: str) -> float:
    """How far, as the crow flies, anything reachable within ``seconds`` can be: the radius a
    caller's own candidate query keeps (travel distance is never shorter than the straight line,
    and the profile's factors are >= 1)."""
    return float(get_profile(profile).effective_m(seconds))


def reachable_rows(
    *, origin: Point, seconds: float, profile: str, rows: Sequence[tuple[int, float, float]]
) -> Reachable:
    """Of candidate ``rows`` (primary key, longitude, latitude) within :func:`reach_radius_m`,
    those reachable from ``origin`` within ``seconds``, sorted by travel time: one bounded search
    on the graph times them all (for callers that find their candidates with their own SQL)."""
    prof = get_profile(profile)
    net = network_for_point(origin.x, origin.y)
    origin_snap = net.snap(origin.x, origin.y, prof)
    if not rows:
        return Reachable(pks=[], seconds=np.empty(0))
    pks, xs, ys = zip(*rows, strict=True)
    snaps = net.snap_many(np.asarray(xs), np.asarray(ys), prof)
    return _reach(net, origin_snap, prof, seconds, list(pks), snaps)


def reachable_snapped(
    *, origin: Point, seconds: float, profile: str, using: str, inner: str, params: dict[str, Any]
) -> Reachable:
    """Like :func:`reachable_rows` for a caller's candidate SQL ``inner`` (named parameters)
    whose columns are (id, snap_graph, snap, longitude, latitude) of a ``SnappedPlace`` table:
    the candidates' stored places are read with them (:func:`geo.snapping.read_candidates`)."""
    prof = get_profile(profile)
    net = network_for_point(origin.x, origin.y)
    origin_snap = net.snap(origin.x, origin.y, prof)
    found = read_candidates(using=using, inner=inner, params=params, net=net, profile=prof)
    return _reach(net, origin_snap, prof, seconds, found.ids, found.snaps)


def _reach(
    net: StreetNetwork,
    origin_snap: Snap,
    prof: Profile,
    seconds: float,
    pks: Sequence[Any] | np.ndarray,
    snaps: Snaps,
) -> Reachable:
    """One bounded search from the origin, then the candidates within ``seconds``, sorted."""
    if len(snaps) == 0:
        return Reachable(pks=[], seconds=np.empty(0))
    budget = prof.effective_m(seconds)
    search = net.search(origin_snap, prof, limit_m=budget - origin_snap.approach_m)
    eff = net.costs_to(search, snaps, prof) + snaps.approach_m + origin_snap.approach_m
    inside = np.flatnonzero(eff <= budget)
    keys = pks if isinstance(pks, np.ndarray) else np.asarray(pks)
    # Sorted by travel to the micrometre, then by primary key: rows at one place (an owner's
    # items) tie exactly, whatever the last bit numpy's vector loops leave, so pages hold still.
    near = np.round(eff[inside], 6)
    if keys.dtype.kind in "iu":
        order = inside[np.lexsort((keys[inside], near))]
    else:
        order = inside[np.argsort(near, kind="stable")]
    chosen = keys[order].tolist() if keys.dtype.kind in "iu" else [pks[i] for i in order]
    return Reachable(pks=chosen, seconds=np.asarray(prof.seconds(eff[order])))


def rows_for(
    queryset: QuerySet[M], reachable: Reachable, start: int = 0, stop: int | None = None
) -> list[M]:
    """The rows of a slice of ``reachable``, in its order, each with ``travel_seconds``: one query."""
    pks = reachable.pks[start:stop]
    secs = reachable.seconds[start:stop]
    by_pk = queryset.in_bulk(pks)
    out = []
    for pk, sec in zip(pks, secs.tolist(), strict=True):
        row = by_pk.get(pk)
        if row is not None:
            row.travel_seconds = sec  # type: ignore[attr-defined]
            out.append(row)
    return out


def nearby_by_travel_time(
    *,
    origin: Point,
    seconds: float,
    profile: str,
    queryset: QuerySet[M],
    field: str = "location",
    limit: int | None = None,
) -> list[M]:
    """The rows reachable in time, annotated with ``travel_seconds`` and sorted by it."""
    reachable = nearby_ids(
        origin=origin, seconds=seconds, profile=profile, queryset=queryset, field=field
    )
    return rows_for(queryset, reachable, 0, limit)


def crowfly_nearby(
    *, origin: Point, meters: float, queryset: QuerySet, field: str = "location"
) -> list[Model]:
    """The plain PostGIS radius query, for comparison: rows within ``meters`` as the crow flies."""
    from django.contrib.gis.db.models.functions import Distance

    return list(
        queryset.filter(**{f"{field}__dwithin": (origin, D(m=meters))})
        .annotate(crow_distance=Distance(field, origin))
        .order_by("crow_distance")
    )


# --- route, isochrone, matrix ----------------------------------------------------------------------


@dataclass(frozen=True)
class RouteResult:
    geometry: GEOSGeometry
    meters: float
    seconds: float
    profile: str


def route_between(
    *,
    start: tuple[float, float],
    end: tuple[float, float],
    profile: str,
    max_effective_m: float | None = None,
) -> RouteResult:
    """The route from ``start`` to ``end``. ``max_effective_m`` bounds the search for a caller
    that already knows about how far it is (a leg of a planned round): far cheaper on a large
    graph; a route longer than that is :class:`NoRouteError`."""
    prof = get_profile(profile)
    net = network_for_point(start[0], start[1])
    a = net.snap(start[0], start[1], prof)
    b = net.snap(end[0], end[1], prof)
    crow = float(
        shapely.distance(
            shapely.points(*net.proj.forward(*start)), shapely.points(*net.proj.forward(*end))
        )
    )
    if crow > settings.GEO_ROUTE_MAX_KM * 1000:
        raise RouteTooLongError()
    limit = settings.GEO_ROUTE_MAX_KM * 1000 * 3
    if max_effective_m is not None:
        limit = min(limit, max_effective_m)
    route = net.route(a, b, prof, start, end, limit_m=limit)
    line = GEOSGeometry(
        memoryview(shapely.to_wkb(shapely.linestrings(route.coordinates))), srid=settings.GEO_SRID
    )
    return RouteResult(
        geometry=line,
        meters=route.meters,
        seconds=float(prof.seconds(route.effective_m)),
        profile=profile,
    )


def isochrone(*, at: tuple[float, float], minutes: float, profile: str) -> GEOSGeometry:
    prof = get_profile(profile)
    net = network_for_point(at[0], at[1])
    origin = net.snap(at[0], at[1], prof)
    area = net.isochrone(origin, prof, minutes * 60.0, buffer_m=25.0)
    return GEOSGeometry(memoryview(shapely.to_wkb(area)), srid=settings.GEO_SRID)


@dataclass(frozen=True)
class MatrixResult:
    seconds: list[list[float | None]]
    meters: list[list[float | None]]
    snapped: list[bool]


@dataclass(frozen=True)
class MatrixArrays:
    """Seconds and meters between points as arrays (``inf`` where unreachable)."""

    seconds: np.ndarray
    meters: np.ndarray
    snapped: np.ndarray  # bool per point


def travel_matrix_arrays(
    *,
    points: Sequence[tuple[float, float]],
    profile: str,
    origins: Sequence[int] | None = None,
    max_seconds: float | None = None,
) -> MatrixArrays:
    """The travel matrix between ``points`` as arrays, for callers that compute on it (the
    planner): no conversion to lists. ``origins`` (indices): only those rows; ``max_seconds``:
    times above it are left out (``inf``), which bounds the searches (a walk to a relay)."""
    prof = get_profile(profile)
    lons = np.array([p[0] for p in points], dtype=float)
    lats = np.array([p[1] for p in points], dtype=float)
    # One region's graph for all the points: the first point's (the others, if elsewhere, are
    # not placed on it and come back unsnapped).
    net = network_for_point(float(lons[0]), float(lats[0])) if points else get_network()
    snaps: Snaps = net.snap_many(lons, lats, prof)
    if (snaps.edge < 0).all():
        raise OffGraphError()
    limit = settings.GEO_ROUTE_MAX_KM * 1000 * 3
    if max_seconds is not None:
        limit = min(limit, float(prof.effective_m(max_seconds)))
    seconds, meters = net.matrix(
        snaps,
        prof,
        limit_m=limit,
        origins=None if origins is None else np.asarray(origins, dtype=np.int64),
        real_meters=max_seconds is None,
    )
    if max_seconds is not None:
        seconds[seconds > max_seconds] = np.inf
    return MatrixArrays(seconds=seconds, meters=meters, snapped=snaps.edge >= 0)


def goes_both_ways(profile: str, near: tuple[float, float] | None = None) -> bool:
    """Whether every street of the profile's network (of the region of ``near``) can be used
    both ways alike (walking): then a matrix's row from A equals its column to A."""
    net = network_for_point(*near) if near is not None else get_network()
    pg = net.graphs[get_profile(profile).graph_key]
    return bool(np.array_equal(pg.rules.forward, pg.rules.backward))


def travel_matrix(*, points: Sequence[tuple[float, float]], profile: str) -> MatrixResult:
    arrays = travel_matrix_arrays(points=points, profile=profile)

    def clean(m: np.ndarray) -> list[list[float | None]]:
        rounded = np.round(m, 1)
        return [[float(v) if np.isfinite(v) else None for v in row] for row in rounded.tolist()]

    return MatrixResult(
        seconds=clean(arrays.seconds),
        meters=clean(arrays.meters),
        snapped=arrays.snapped.tolist(),
    )


__all__ = [
    "NoRouteError",
    "OffGraphError",
    "Reachable",
    "RouteResult",
    "crowfly_nearby",
    "goes_both_ways",
    "isochrone",
    "nearby_by_travel_time",
    "nearby_ids",
    "reach_radius_m",
    "reachable_rows",
    "reachable_snapped",
    "route_between",
    "rows_for",
    "travel_matrix",
    "travel_matrix_arrays",
]
