"""An independent shortest-path reference, built in the tests from the same extract.

It shares no code with geo/: its own osmium reader, its own foot rules written out plainly, a
networkx graph with one edge per pair of consecutive way nodes (no cutting at junctions), and
great-circle lengths from geopy. A walkable area (a closed ``area=yes`` way, a square) is walked
across too: one straight edge between every two of its entrances (nodes another way uses) and
reflex corners that see each other inside it, which is where shortest walks across bend.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import shapely
from geopy.distance import great_circle

EXCLUDED = {
    "motorway",
    "motorway_link",
    "construction",
    "proposed",
    "planned",
    "abandoned",
    "disused",
    "razed",
    "raceway",
    "bus_guideway",
    "escape",
    "rest_area",
    "services",
    "emergency_bay",
    "via_ferrata",
    "no",
}
YES = {"yes", "designated", "permissive", "official", "destination", "customers"}


def foot_ok(tags: dict[str, str]) -> bool:
    hw = tags.get("highway", "")
    if not hw or hw in EXCLUDED:
        return False
    if tags.get("area") == "yes" and hw not in {"pedestrian", "footway", "living_street"}:
        return False
    foot = tags.get("foot", "")
    positive = foot in YES
    if foot in {"no", "use_sidepath"}:
        return False
    if tags.get("access", "") in {"no", "private"} and not positive:
        return False
    if positive:
        return True
    if hw == "cycleway":
        return False
    sidewalk = tags.get("sidewalk", "") or tags.get("sidewalk:both", "")
    if not sidewalk and (tags.get("sidewalk:left") or tags.get("sidewalk:right")):
        sidewalk = (
            "yes" if "yes" in (tags.get("sidewalk:left"), tags.get("sidewalk:right")) else "no"
        )
    return not (hw in {"trunk", "trunk_link"} and sidewalk not in {"both", "left", "right", "yes"})


def walking_graph(
    path: Path, wheelchair: bool = False
) -> tuple[nx.Graph, dict[int, tuple[float, float]]]:
    graph = nx.Graph()
    where: dict[int, tuple[float, float]] = {}
    ways_at: Counter[int] = Counter()
    areas = []
    for way in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        if not way.is_way():
            continue
        tags = {t.k: t.v[:32] for t in way.tags}
        if not foot_ok(tags):
            continue
        if wheelchair and (tags.get("highway") == "steps" or tags.get("wheelchair") == "no"):
            continue
        nodes = [(n.ref, n.location) for n in way.nodes]
        ways_at.update({r for r, _ in nodes})
        if tags.get("area") == "yes" and len(nodes) >= 4 and nodes[0][0] == nodes[-1][0]:
            areas.append(nodes[:-1])
        for (r1, l1), (r2, l2) in itertools.pairwise(nodes):
            if not (l1.valid() and l2.valid()) or r1 == r2:
                continue
            where[r1] = (l1.lon, l1.lat)
            where[r2] = (l2.lon, l2.lat)
            d = great_circle((l1.lat, l1.lon), (l2.lat, l2.lon)).meters
            if not graph.has_edge(r1, r2) or graph[r1][r2]["length"] > d:
                graph.add_edge(r1, r2, length=d)
    for ring in areas:
        _add_crossings(graph, ring, {r for r, _ in ring if ways_at[r] > 1})
    return graph, where


def _add_crossings(graph: nx.Graph, ring: list, entrances: set[int]) -> None:
    """Edges across an area between every two of its entrances and reflex corners whose straight
    segment stays inside (shapely's ``covers``, in a local projection of the area's own) and
    meets no other node."""
    if not entrances or not all(loc.valid() for _, loc in ring):
        return
    lat0 = math.radians(sum(loc.lat for _, loc in ring) / len(ring))
    xy = [(loc.lon * math.cos(lat0) * 111_195.0, loc.lat * 111_195.0) for _, loc in ring]
    polygon = shapely.Polygon(xy)
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    ccw = shapely.LinearRing(xy).is_ccw
    key = []
    for k, (ref, _) in enumerate(ring):
        (x0, y0), (x1, y1), (x2, y2) = xy[k - 1], xy[k], xy[(k + 1) % len(ring)]
        turn = (x1 - x0) * (y2 - y1) - (y1 - y0) * (x2 - x1)  # > 0: a left turn
        if ref in entrances or (turn < 0 if ccw else turn > 0):  # against the ring: reflex
            key.append(k)
    points = [shapely.Point(p) for p in xy]
    for i, j in itertools.combinations(key, 2):
        (r1, l1), (r2, l2) = ring[i], ring[j]
        segment = shapely.LineString([xy[i], xy[j]])
        if r1 == r2 or not polygon.covers(segment):
            continue
        # Through another node (along a straight side): the two edges either side are enough.
        if any(segment.distance(p) < 0.01 for k, p in enumerate(points) if k not in (i, j)):
            continue
        d = great_circle((l1.lat, l1.lon), (l2.lat, l2.lon)).meters
        if not graph.has_edge(r1, r2) or graph[r1][r2]["length"] > d:
            graph.add_edge(r1, r2, length=d)


# --- points in the middle of ways ------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A point put on the nearest way segment of the reference graph (its own projection)."""

    a: int  # the segment's first node
    b: int  # its second node
    along_m: float  # great-circle meters from ``a`` along the segment
    approach_m: float  # straight meters from the point to its place
    lonlat: tuple[float, float]  # the place on the segment


@dataclass(frozen=True)
class RefRoute:
    meters: float
    line: list[tuple[float, float]]  # lon, lat: the point, its place, the nodes, the other place...


class Reference:
    """Door-to-door walks between any two points, on the largest connected part of the reference
    graph: each point goes straight to the nearest segment (in a local projection of its own),
    then along the ways, the route being networkx's shortest path between two nodes added for
    the walk's ends and removed afterwards."""

    def __init__(self, path: Path, wheelchair: bool = False) -> None:
        graph, where = walking_graph(path, wheelchair=wheelchair)
        main = max(nx.connected_components(graph), key=len)
        self.graph = graph.subgraph(main).copy()
        self.where = where
        self.lat0 = float(np.mean([where[n][1] for n in main]))
        self.kx = math.radians(1.0) * 6_371_009.0 * math.cos(math.radians(self.lat0))
        self.ky = math.radians(1.0) * 6_371_009.0
        self.segments = [(u, v) for u, v in self.graph.edges() if u != v]
        p = np.array([self._xy(where[u]) for u, _ in self.segments])
        q = np.array([self._xy(where[v]) for _, v in self.segments])
        self._p, self._d = p, q - p

    def _xy(self, lonlat: tuple[float, float]) -> tuple[float, float]:
        return lonlat[0] * self.kx, lonlat[1] * self.ky

    def place(self, lonlat: tuple[float, float]) -> Place:
        x, y = self._xy(lonlat)
        d2 = np.einsum("ij,ij->i", self._d, self._d)
        rel = np.array([x, y]) - self._p
        dot = np.einsum("ij,ij->i", rel, self._d)
        t = np.clip(np.divide(dot, d2, out=np.zeros_like(dot), where=d2 > 0), 0.0, 1.0)
        gap = rel - self._d * t[:, None]
        dist = np.hypot(gap[:, 0], gap[:, 1])
        i = int(np.argmin(dist))
        u, v = self.segments[i]
        (ulon, ulat), (vlon, vlat) = self.where[u], self.where[v]
        ti = float(t[i])
        return Place(
            a=u,
            b=v,
            along_m=ti * self.graph[u][v]["length"],
            approach_m=float(dist[i]),
            lonlat=(ulon + ti * (vlon - ulon), ulat + ti * (vlat - ulat)),
        )

    def route(self, start: tuple[float, float], end: tuple[float, float]) -> RefRoute:
        pa, pb = self.place(start), self.place(end)
        g = self.graph
        s, t = ("start",), ("end",)
        la, lb = g[pa.a][pa.b]["length"], g[pb.a][pb.b]["length"]
        g.add_edge(s, pa.a, length=pa.along_m)
        g.add_edge(s, pa.b, length=la - pa.along_m)
        g.add_edge(t, pb.a, length=pb.along_m)
        g.add_edge(t, pb.b, length=lb - pb.along_m)
        if {pa.a, pa.b} == {pb.a, pb.b}:
            other = pb.along_m if pa.a == pb.a else lb - pb.along_m
            g.add_edge(s, t, length=abs(pa.along_m - other))
        try:
            length, nodes = nx.bidirectional_dijkstra(g, s, t, weight="length")
        finally:
            g.remove_nodes_from([s, t])
        line = [start, pa.lonlat, *(self.where[n] for n in nodes[1:-1]), pb.lonlat, end]
        return RefRoute(meters=pa.approach_m + length + pb.approach_m, line=line)


def line_meters(line: list[tuple[float, float]] | tuple) -> float:
    """Great-circle length of a line of (lon, lat)."""
    return sum(
        great_circle((lat1, lon1), (lat2, lon2)).meters
        for (lon1, lat1), (lon2, lat2) in itertools.pairwise(line)
    )
