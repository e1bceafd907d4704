"""Vector tiles of the street graph (Mapbox Vector Tile, built by PostGIS).

One SQL query per tile on the active graphs (``StreetGraph.is_active``): the edges in the tile
(with a margin, so that lines cross tile borders cleanly) merged back into their OSM ways,
simplified to the tile's pixel, clipped by ``ST_AsMVTGeom`` and encoded by ``ST_AsMVT`` into one
layer, ``streets``. Each feature carries ``kind`` (``main``, ``street``, ``pedestrian``,
``path``, ``cycleway``, ``steps``) for the style, the OSM ``highway`` tag, ``steps`` and ``area``.
Low zooms leave out the minor ways: main streets only below 14, footpaths and steps from 15 on.

The street data is OpenStreetMap's (ODbL): the tiles are public, every map that draws them says
"© OpenStreetMap contributors". Zooms are bounded (``GEO_TILE_MIN_ZOOM``..``GEO_TILE_MAX_ZOOM``)
so that nobody can ask the server for the whole world tile by tile; a client overzooms the
highest tiles (their 4096 units are finer than a decimetre there).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _

from backend.errors import DomainError, NotFoundError
from geo.models import StreetGraph

# Bumped when the layer's attributes or the zoom rules change: browsers drop their cached tiles.
TILE_FORMAT = 1
CONTENT_TYPE = "application/vnd.mapbox-vector-tile"
LAYER = "streets"
EXTENT = 4096
BUFFER = 64
ATTRIBUTION = "© OpenStreetMap contributors"
# Half the Web Mercator world's width, in meters.
MERCATOR_HALF = 20037508.342789244

MAIN = ("motorway", "trunk", "primary", "secondary", "tertiary")
MAIN_LINKS = tuple(f"{h}_link" for h in MAIN)
STREETS = ("residential", "unclassified", "living_street", "service", "road", "busway")
PEDESTRIAN = ("pedestrian",)
CYCLEWAYS = ("cycleway",)
# Every other highway (footway, path, trail, corridor, platform, track, bridleway...) is a path.


class TileNotServedError(NotFoundError):
    code = "tile_not_served"
    default_message = _("Street tiles are served from zoom %(min)d to %(max)d.")


class InvalidTileError(DomainError):
    code = "invalid_tile"
    default_message = _("This tile does not exist at this zoom.")


@dataclass(frozen=True)
class StreetTile:
    body: bytes | None  # None: not modified (the client has this ETag)
    etag: str
    gzipped: bool = False


def _kinds_for_zoom(z: int) -> tuple[str, ...] | None:
    """The highway values drawn at zoom ``z``; None: every way."""
    if z < 14:
        return MAIN + MAIN_LINKS
    if z < 15:
        return MAIN + MAIN_LINKS + STREETS + PEDESTRIAN + CYCLEWAYS
    return None


def tile_check(*, z: int, x: int, y: int) -> None:
    """Refuse a zoom outside the served range (404) and a tile outside its zoom's grid (400)."""
    low, high = int(settings.GEO_TILE_MIN_ZOOM), int(settings.GEO_TILE_MAX_ZOOM)
    if not low <= z <= high:
        raise TileNotServedError(TileNotServedError.default_message % {"min": low, "max": high})
    side = 1 << z
    if not (0 <= x < side and 0 <= y < side):
        raise InvalidTileError()


def active_graph_ids() -> list[int]:
    return list(
        StreetGraph.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
    )


def tile_etag(*, graph_ids: list[int], z: int, x: int, y: int, gzipped: bool) -> str:
    graphs = "-".join(str(pk) for pk in graph_ids) or "none"
    return f'"streets-f{TILE_FORMAT}-g{graphs}-{z}-{x}-{y}{"-gz" if gzipped else ""}"'


_SQL = """
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
           ST_Transform(
               ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), %(srid)s
           ) AS env_ll
),
ways AS (
    SELECT e.osm_way_id, e.highway, e.steps, e.area,
           ST_LineMerge(ST_Collect(e.geom)) AS geom
    FROM geo_streetedge e, bounds b
    WHERE e.graph_id = ANY(%(graphs)s)
      AND e.geom && b.env_ll
      AND (%(all)s OR e.highway = ANY(%(highways)s))
    GROUP BY e.graph_id, e.osm_way_id, e.highway, e.steps, e.area
),
features AS (
    SELECT ST_AsMVTGeom(
               ST_Simplify(ST_Transform(w.geom, 3857), %(tolerance)s),
               b.env, %(extent)s, %(buffer)s, true
           ) AS geom,
           CASE
               WHEN w.steps OR w.highway = 'steps' THEN 'steps'
               WHEN w.highway = ANY(%(main)s) THEN 'main'
               WHEN w.highway = ANY(%(streets)s) THEN 'street'
               WHEN w.highway = ANY(%(pedestrian)s) THEN 'pedestrian'
               WHEN w.highway = ANY(%(cycleways)s) THEN 'cycleway'
               ELSE 'path'
           END AS kind,
           w.highway, (w.steps OR w.highway = 'steps') AS steps, w.area
    FROM ways w, bounds b
)
SELECT ST_AsMVT(features, %(layer)s, %(extent)s, 'geom')
FROM features
WHERE geom IS NOT NULL
"""


def street_tile_build(*, graph_ids: list[int], z: int, x: int, y: int) -> bytes:
    """The tile's bytes (empty when no way crosses it)."""
    if not graph_ids:
        return b""
    highways = _kinds_for_zoom(z)
    pixel = 2 * MERCATOR_HALF / (1 << z) / EXTENT
    params: dict[str, Any] = {
        "z": z,
        "x": x,
        "y": y,
        "margin": BUFFER / EXTENT,
        "srid": settings.GEO_SRID,
        "graphs": graph_ids,
        "all": highways is None,
        "highways": list(highways or ()),
        "tolerance": pixel / 2,
        "extent": EXTENT,
        "buffer": BUFFER,
        "main": list(MAIN + MAIN_LINKS),
        "streets": list(STREETS),
        "pedestrian": list(PEDESTRIAN),
        "cycleways": list(CYCLEWAYS),
        "layer": LAYER,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SQL, params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def street_tile(
    *, z: int, x: int, y: int, accepts_gzip: bool, if_none_match: str = ""
) -> StreetTile:
    """The tile of the active graphs at z/x/y, gzipped when the client takes it; no body when
    ``If-None-Match`` names its ETag (the client's copy is current: nothing is built)."""
    tile_check(z=z, x=x, y=y)
    graph_ids = active_graph_ids()
    etag = tile_etag(graph_ids=graph_ids, z=z, x=x, y=y, gzipped=accepts_gzip)
    asked = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if etag in asked or "*" in asked:
        return StreetTile(None, etag)
    body = street_tile_build(graph_ids=graph_ids, z=z, x=x, y=y)
    if accepts_gzip and body:
        return StreetTile(gzip.compress(body, compresslevel=6, mtime=0), etag, True)
    return StreetTile(body, etag)
