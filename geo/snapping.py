"""Snap on write: where a located row meets the street network, stored with the row.

A located model (an item, a home, a relay point, a hub) inherits :class:`geo.models.SnappedPlace`:
its row keeps ``snap_graph`` (the id of the street graph it was snapped on) and ``snap``, a packed
record per graph key of :data:`geo.profiles.GRAPH_KEYS` (walk, wheelchair, bike, car): the edge
the point snaps to (-1: none usable within ``GEO_SNAP_MAX_M``), the offset along it and the
straight approach, in meters (:data:`SLOT`, 20 bytes each, 80 per row, big-endian so that
PostgreSQL's ``int8send`` lines up with them).

- **On write.** ``SnappedPlace.save()`` snaps a row whose point is new or moved, on the graph of
  its region (:func:`snap_fields`); writes that bypass ``save()`` (``QuerySet.update`` of a
  point) pass :func:`snap_fields` themselves.
- **In bulk.** After an import, and every few minutes from beat, :func:`snap_pending` snaps every
  row whose ``snap_graph`` is not its region's active graph, by chunks, with progress. A row
  moved meanwhile keeps its own newer snap (the update checks the coordinates it snapped).
- **On read.** :func:`read_candidates` wraps a caller's candidate query (rows within the radius)
  into one statement that returns the candidates' ids and their stored places for the profile as
  one binary string, decoded by numpy without a Python object per row. Rows whose snap is missing
  or belongs to another graph (a new import whose bulk snapping is not done yet) come back with
  their coordinates and are snapped as before: the old way serves until the new one is complete.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.apps import apps
from django.conf import settings
from django.db import connections, router

from backend.errors import DomainError
from geo.network import StreetNetwork
from geo.profiles import GRAPH_KEYS, Profile, get_profile
from geo.snaps import Snaps

logger = logging.getLogger(__name__)

# One graph key's place: edge (-1: none), offset along it and approach, meters.
SLOT = np.dtype([("edge", ">i4"), ("offset", ">f8"), ("approach", ">f8")])
SNAP_BYTES = SLOT.itemsize * len(GRAPH_KEYS)
# What the read query returns per row: the id (int8send) then the profile's slot.
ROW = np.dtype([("id", ">i8"), ("edge", ">i4"), ("offset", ">f8"), ("approach", ">f8")])

# Rows snapped per statement by :func:`snap_pending`.
CHUNK = 20_000

ProgressFn = Callable[[str], None]


def pack(net: StreetNetwork, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """The packed places of points on ``net``: an (n, len(GRAPH_KEYS)) array of :data:`SLOT`
    (``out[i].tobytes()`` is row i's ``snap``)."""
    lons = np.asarray(lons, dtype=float)
    lats = np.asarray(lats, dtype=float)
    out = np.zeros((lons.size, len(GRAPH_KEYS)), dtype=SLOT)
    for k, key in enumerate(GRAPH_KEYS):
        snaps = net.snap_many(lons, lats, get_profile(key))
        placed = snaps.edge >= 0
        out["edge"][:, k] = np.where(placed, snaps.edge, -1)
        out["offset"][:, k] = np.where(placed, snaps.offset_m, 0.0)
        out["approach"][:, k] = np.where(placed, snaps.approach_m, 0.0)
    return out


def snap_fields(point: Any) -> dict[str, Any]:
    """``snap_graph`` and ``snap`` for a row at ``point`` (a GEOS point or None): its places on
    the active graph of its region, or both None where no graph serves it here (the bulk job
    snaps it later; reads snap it meanwhile)."""
    if point is None:
        return {"snap_graph": None, "snap": None}
    from geo.graph import network_for_point

    try:
        net = network_for_point(point.x, point.y)
    except DomainError:  # no graph yet, outside every region, a region served elsewhere
        return {"snap_graph": None, "snap": None}
    packed = pack(net, np.array([point.x]), np.array([point.y]))
    return {"snap_graph": net.graph_id, "snap": packed[0].tobytes()}


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidates:
    """Candidate rows and their places on the network for one profile (edge -1: not placed)."""

    ids: np.ndarray
    snaps: Snaps
    stored: int  # how many came with a stored place (the others were snapped now)


def wrap_sql(inner: str, *, named: bool = True) -> str:
    """One statement around a candidate query whose columns are (id, snap_graph, snap, x, y):
    one binary string of (id, slot) for the rows snapped on the graph ``snap_graph``, and the
    ids and coordinates of the others. ``named``: the caller's parameters are named
    (``%(name)s``, and :func:`wrap_params` adds its own); else positional (``%s``), and the
    parameters are ``wrap_params(...)`` as a list followed by the caller's."""
    at, graph = ("%(snap_at)s", "%(snap_graph)s") if named else ("%s", "%s")
    stale = f"c.snap_graph IS DISTINCT FROM {graph}"
    return f"""
        SELECT
            string_agg(int8send(c.id::bigint) || substring(c.snap FROM {at} FOR {SLOT.itemsize}),
                       ''::bytea) FILTER (WHERE c.snap_graph = {graph}),
            array_agg(c.id) FILTER (WHERE {stale}),
            array_agg(c.x) FILTER (WHERE {stale}),
            array_agg(c.y) FILTER (WHERE {stale})
        FROM ({inner}) AS c(id, snap_graph, snap, x, y)
    """  # noqa: S608 (fixed SQL: ``inner`` is the caller's fixed SQL, values are parameters)


def wrap_params(net: StreetNetwork, profile: Profile) -> dict[str, Any]:
    slot = GRAPH_KEYS.index(profile.graph_key)
    return {"snap_at": 1 + slot * SLOT.itemsize, "snap_graph": net.graph_id}


def positional_params(net: StreetNetwork, profile: Profile) -> list[Any]:
    """:func:`wrap_params` in the order of :func:`wrap_sql`'s positional placeholders."""
    p = wrap_params(net, profile)
    return [p["snap_at"], *[p["snap_graph"]] * 4]


def decode(row: Sequence[Any] | None, net: StreetNetwork, profile: Profile) -> Candidates:
    """The candidates of one row of :func:`wrap_sql`'s answer."""
    blob, stale_ids, xs, ys = row if row is not None else (None, [], [], [])
    xs, ys = xs or [], ys or []
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    stored = 0
    if blob:
        rec = np.frombuffer(bytes(blob), dtype=ROW)
        stored = int(rec.size)
        parts.append(
            (
                rec["id"].astype(np.int64),
                rec["edge"].astype(np.int64),
                rec["offset"].astype(np.float64),
                np.where(rec["edge"] >= 0, rec["approach"].astype(np.float64), np.inf),
            )
        )
    if stale_ids:
        ok = [
            i
            for i, (x, y) in enumerate(zip(xs, ys, strict=True))
            if x is not None and y is not None
        ]
        ids = np.asarray([stale_ids[i] for i in ok], dtype=np.int64)
        snaps = net.snap_many(
            np.asarray([xs[i] for i in ok], dtype=float),
            np.asarray([ys[i] for i in ok], dtype=float),
            profile,
        )
        parts.append((ids, snaps.edge, snaps.offset_m, snaps.approach_m))
    if not parts:
        empty = np.empty(0)
        return Candidates(
            ids=np.empty(0, dtype=np.int64),
            snaps=Snaps(
                np.empty(0, dtype=np.int64), empty, empty, empty, empty, np.empty(0, dtype=bool)
            ),
            stored=0,
        )
    ids, edge, offset, approach = (np.concatenate(col) for col in zip(*parts, strict=True))
    n = ids.size
    zeros = np.zeros(n)
    return Candidates(
        ids=ids,
        snaps=Snaps(edge, offset, approach, zeros, zeros, np.zeros(n, dtype=bool)),
        stored=stored,
    )


def read_candidates(
    *,
    using: str,
    inner: str,
    params: dict[str, Any] | Sequence[Any],
    net: StreetNetwork,
    profile: Profile,
) -> Candidates:
    """Runs :func:`wrap_sql` around ``inner`` (named parameters in a dict, or positional ones in
    a sequence) on database ``using`` and decodes the answer."""
    values: Any
    if isinstance(params, dict):
        sql, values = wrap_sql(inner), {**params, **wrap_params(net, profile)}
    else:
        sql, values = wrap_sql(inner, named=False), [*positional_params(net, profile), *params]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, values)
        return decode(cursor.fetchone(), net, profile)


# --- bulk ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapTable:
    """A table of located rows: its name, primary key column and point column."""

    label: str
    table: str
    pk: str
    point: str
    using: str = "default"

    @classmethod
    def of(cls, model: Any) -> SnapTable:
        meta = model._meta
        return cls(
            label=meta.label,
            table=meta.db_table,
            pk=meta.pk.column,
            point=meta.get_field(model.snapped_field).column,
            using=router.db_for_write(model),
        )


def snapped_tables() -> list[SnapTable]:
    """Every installed model that stores its snapped place (geo knows none of them by name)."""
    from geo.models import SnappedPlace

    return [
        SnapTable.of(model)
        for model in apps.get_models()
        if issubclass(model, SnappedPlace) and not model._meta.proxy
    ]


def _region_filter(graph: Any, smaller: list[Any], alone: bool) -> tuple[str, list[Any]]:
    """SQL (on column ``p``, a geography) keeping the points of ``graph``'s region: inside its
    box widened by the snapping distance and not inside a smaller region's (as
    :func:`geo.graph.region_of_point` decides). A single active graph takes every point."""
    if alone or graph.bbox is None:
        return "TRUE", []

    def envelope(bbox: tuple[float, float, float, float]) -> tuple[str, list[float]]:
        pad_lat = float(settings.GEO_SNAP_MAX_M) / 111_195.0
        mid = (bbox[1] + bbox[3]) / 2
        pad_lon = pad_lat / max(math.cos(math.radians(mid)), 0.01)
        return "ST_MakeEnvelope(%s, %s, %s, %s, 4326)", [
            bbox[0] - pad_lon,
            bbox[1] - pad_lat,
            bbox[2] + pad_lon,
            bbox[3] + pad_lat,
        ]

    sql, params = envelope(graph.bbox)
    clause = f"ST_Intersects(p::geometry, {sql})"
    for other in smaller:
        if other.bbox is None:
            continue
        osql, oparams = envelope(other.bbox)
        clause += f" AND NOT ST_Intersects(p::geometry, {osql})"
        params += oparams
    return clause, params


def snap_pending(
    *,
    tables: Iterable[SnapTable] | None = None,
    chunk: int = CHUNK,
    progress: ProgressFn | None = None,
) -> dict[str, int]:
    """Snaps every row whose stored place is missing or not on its region's active graph, on the
    regions this process serves; returns the rows snapped per table. Idempotent: a second run
    finds nothing to do."""
    from geo.graph import _read_active, _serves, get_network

    say = progress or (lambda message: None)
    active = sorted(
        _read_active().values(),
        key=lambda g: (
            math.inf if g.bbox is None else (g.bbox[2] - g.bbox[0]) * (g.bbox[3] - g.bbox[1]),
            g.region,
        ),
    )
    done: dict[str, int] = {}
    for table in tables if tables is not None else snapped_tables():
        done[table.label] = 0
        for position, graph in enumerate(active):
            if not _serves(graph.region):
                continue
            net = get_network(graph.region)
            if net.graph_id != graph.graph_id:  # a newer import meanwhile: its own run follows
                continue
            where, where_params = _region_filter(graph, active[:position], len(active) == 1)
            done[table.label] += _snap_table(table, net, where, where_params, chunk, say)
    return done


def _snap_table(
    table: SnapTable,
    net: StreetNetwork,
    where: str,
    where_params: list[Any],
    chunk: int,
    say: ProgressFn,
) -> int:
    t, pk, point = table.table, table.pk, table.point
    # Fixed SQL from the models' own table and column names; every value is a parameter.
    select = f"""
        SELECT {pk}, ST_X(p::geometry), ST_Y(p::geometry)
        FROM (SELECT {pk}, {point} AS p, snap_graph FROM {t}) r
        WHERE p IS NOT NULL AND snap_graph IS DISTINCT FROM %s AND {pk} > %s AND {where}
        ORDER BY {pk} LIMIT %s
    """  # noqa: S608
    count_sql = f"""
        SELECT count(*) FROM (SELECT {pk}, {point} AS p, snap_graph FROM {t}) r
        WHERE p IS NOT NULL AND snap_graph IS DISTINCT FROM %s AND {where}
    """  # noqa: S608
    update = f"""
        UPDATE {t} AS t SET snap_graph = %s, snap = v.s
        FROM unnest(%s::bigint[], %s::float8[], %s::float8[], %s::bytea[]) AS v(id, x, y, s)
        WHERE t.{pk} = v.id
          AND ST_X(t.{point}::geometry) = v.x AND ST_Y(t.{point}::geometry) = v.y
    """  # noqa: S608
    connection = connections[table.using]
    with connection.cursor() as cursor:
        cursor.execute(count_sql, [net.graph_id, *where_params])
        total = cursor.fetchone()[0]
    if not total:
        return 0
    say(f"{table.label}: {total:,} rows to snap on graph #{net.graph_id} ({net.region})")
    started = time.perf_counter()
    after, seen, snapped = -1, 0, 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(select, [net.graph_id, after, *where_params, chunk])
            rows = cursor.fetchall()
        if not rows:
            break
        ids = [r[0] for r in rows]
        xs = np.array([r[1] for r in rows], dtype=float)
        ys = np.array([r[2] for r in rows], dtype=float)
        packed = pack(net, xs, ys)
        blobs = [packed[i].tobytes() for i in range(len(ids))]
        with connection.cursor() as cursor:
            cursor.execute(update, [net.graph_id, ids, xs.tolist(), ys.tolist(), blobs])
            snapped += cursor.rowcount  # a row moved meanwhile was snapped by its own write
        seen += len(ids)
        after = ids[-1]
        rate = seen / max(time.perf_counter() - started, 1e-9)
        say(f"{table.label}: {seen:,} of {total:,} snapped ({rate:,.0f} rows/s)")
    logger.info("snapped %s rows of %s on graph #%s", snapped, table.label, net.graph_id)
    return snapped
