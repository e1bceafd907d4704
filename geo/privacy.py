"""A resident's home never leaves the server: others see the centre of its blur cell.

Cells are about ``SHARING_BLUR_CELL_M`` meters on a side, on a fixed grid: latitude rows of equal
height, each row cut into cells of equal width at that row's middle latitude. A home's cell never
changes while the home does not, so repeated queries learn nothing finer than the cell; every
distance and travel time others see is computed from the cell's centre, never from the home.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, LineString, Point, Polygon

METERS_PER_DEGREE_LAT = 111_320.0


def blur_cell(lon: float, lat: float, cell_m: float | None = None) -> tuple[int, int]:
    size = float(cell_m or settings.SHARING_BLUR_CELL_M)
    lat_step = size / METERS_PER_DEGREE_LAT
    row = math.floor((lat + 90.0) / lat_step)
    row_lat = -90.0 + (row + 0.5) * lat_step
    lon_step = size / (METERS_PER_DEGREE_LAT * max(math.cos(math.radians(row_lat)), 1e-6))
    col = math.floor((lon + 180.0) / lon_step)
    return row, col


def blurred_point(point: Point, cell_m: float | None = None) -> Point:
    """The centre of the blur cell holding ``point``."""
    size = float(cell_m or settings.SHARING_BLUR_CELL_M)
    row, col = blur_cell(point.x, point.y, size)
    lat_step = size / METERS_PER_DEGREE_LAT
    row_lat = -90.0 + (row + 0.5) * lat_step
    lon_step = size / (METERS_PER_DEGREE_LAT * max(math.cos(math.radians(row_lat)), 1e-6))
    lon = -180.0 + (col + 0.5) * lon_step
    return Point(round(lon, 7), round(row_lat, 7), srid=settings.GEO_SRID)


def blur_cell_polygon(point: Point, cell_m: float | None = None) -> Polygon:
    """The blur cell holding ``point``, as a rectangle in longitude and latitude."""
    size = float(cell_m or settings.SHARING_BLUR_CELL_M)
    row, col = blur_cell(point.x, point.y, size)
    lat_step = size / METERS_PER_DEGREE_LAT
    south = -90.0 + row * lat_step
    row_lat = south + 0.5 * lat_step
    lon_step = size / (METERS_PER_DEGREE_LAT * max(math.cos(math.radians(row_lat)), 1e-6))
    west = -180.0 + col * lon_step
    return Polygon.from_bbox((west, south, west + lon_step, south + lat_step))


def path_outside_cells(path: LineString, homes: Sequence[Point]) -> list[LineString]:
    """What may be drawn of a way that starts or ends at homes: the pieces of ``path`` outside
    the homes' blur cells, in the path's order. Inside a cell the street would lead to the door;
    outside it, it says no more than the cell does."""
    rest: GEOSGeometry = path
    for home in homes:
        rest = rest.difference(blur_cell_polygon(home))
    if rest.empty:
        return []
    pieces: list[Any] = [rest] if rest.geom_type == "LineString" else list(rest)  # type: ignore[call-overload]
    lines = [
        LineString(piece.coords, srid=path.srid)
        for piece in pieces
        if piece.geom_type == "LineString" and len(piece.coords) >= 2
    ]
    return sorted(lines, key=lambda line: path.project(Point(line.coords[0], srid=path.srid)))


def coarse_minutes(seconds: float) -> tuple[int, bool]:
    """Whole minutes, rounded up, with a floor: (minutes, under_floor)."""
    floor = int(settings.SHARING_MINUTES_FLOOR)
    minutes = math.ceil(seconds / 60.0)
    if minutes <= floor:
        return floor, True
    return minutes, False
