"""The values the street network computes with: the local metric projection, points placed on
edges (snaps), the result of a bounded search and a route. Meters and seconds throughout."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from geo.osm_import import EARTH_RADIUS_M


@dataclass(frozen=True)
class Projection:
    """A local equirectangular projection to meters around the graph's centre."""

    lon0: float
    lat0: float
    kx: float
    ky: float

    @classmethod
    def around(cls, lon0: float, lat0: float) -> Projection:
        ky = math.radians(1.0) * EARTH_RADIUS_M
        return cls(lon0=lon0, lat0=lat0, kx=ky * math.cos(math.radians(lat0)), ky=ky)

    def forward(self, lon: np.ndarray | float, lat: np.ndarray | float) -> tuple:
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * self.ky

    def inverse_coords(self, xy: np.ndarray) -> np.ndarray:
        out = np.empty_like(xy, dtype=float)
        out[:, 0] = xy[:, 0] / self.kx + self.lon0
        out[:, 1] = xy[:, 1] / self.ky + self.lat0
        return out

    def inverse_geometry(self, geom: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(geom, self.inverse_coords)


@dataclass(frozen=True)
class Snaps:
    """Points placed on edges. ``edge`` is -1 where a point could not be placed."""

    edge: np.ndarray  # int64
    offset_m: np.ndarray  # meters from the edge's source along it
    approach_m: np.ndarray  # straight meters from the point to its place on the edge
    x: np.ndarray
    y: np.ndarray
    island: np.ndarray  # bool: the nearest usable edge was on an island

    def __len__(self) -> int:
        return int(self.edge.size)

    def one(self, i: int = 0) -> Snap:
        return Snap(
            edge=int(self.edge[i]),
            offset_m=float(self.offset_m[i]),
            approach_m=float(self.approach_m[i]),
            x=float(self.x[i]),
            y=float(self.y[i]),
        )


@dataclass(frozen=True)
class Snap:
    edge: int
    offset_m: float
    approach_m: float
    x: float
    y: float


@dataclass(frozen=True)
class Search:
    """The result of one bounded shortest-path search from a snapped origin."""

    origin: Snap
    cost: np.ndarray  # effective meters from the snapped origin to every node (inf: not reached)
    row: np.ndarray  # which of the two starts (0: via source, 1: via target) gave that cost
    predecessors: np.ndarray | None  # (2, n) or None
    limit: float

    def path_to(self, node: int) -> tuple[int, list[int]]:
        """The cheapest path to ``node`` (needs predecessors): which start it left by (0: the
        origin edge's source, 1: its target; the row that gave the node its cost) and its nodes,
        from that start to ``node``. On a loop edge both starts are one node: only this row says
        which way round the origin left."""
        assert self.predecessors is not None
        side = int(self.row[node])
        pred = self.predecessors[side]
        path = [int(node)]
        while pred[path[-1]] >= 0:
            path.append(int(pred[path[-1]]))
        path.reverse()
        return side, path


@dataclass(frozen=True)
class Route:
    coordinates: np.ndarray  # (k, 2) lon, lat
    meters: float
    effective_m: float
    edges: list[int]  # the edges used, in order (the first and last may be used in part)
