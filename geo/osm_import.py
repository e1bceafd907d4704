"""Streaming reader of OSM extracts into street-graph pieces.

Three passes with pyosmium, so that memory follows the size of the walkable network and not the
size of the file:

1. ways with a ``highway`` tag that someone may walk or ride: their node references are counted;
2. the nodes those ways use (a C++ id filter hands only them to Python): their coordinates;
3. the same ways again, cut at every node shared by two ways (or used twice by one) and at their
   ends, giving edges with their geometry, length in meters and the tags the profiles need.

Walkable areas (closed ways tagged ``area=yes``, e.g. a ``highway=pedestrian`` square) are also
walked across: between passes 2 and 3, each area joined to the network gets straight edges
between its entrances and reflex corners that see each other inside it (see
:func:`area_crossings`); their ends become graph nodes, so pass 3 cuts the outline there too.

Nothing here touches the database: :mod:`geo.services` writes what this yields.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

ProgressFn = Callable[[str], None]

# Ways nobody may walk or ride, or that are not (yet, any more) ways at all.
EXCLUDED_HIGHWAYS = frozenset(
    {
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
)
NO_ACCESS = frozenset({"no", "private"})
POSITIVE = frozenset({"yes", "designated", "permissive", "official", "destination", "customers"})
# A delivery van may also use ways open to deliveries only (pedestrian streets at set hours).
MOTOR_POSITIVE = POSITIVE | {"delivery"}
UNPAVED = frozenset(
    {
        "unpaved",
        "gravel",
        "fine_gravel",
        "dirt",
        "earth",
        "grass",
        "ground",
        "sand",
        "mud",
        "pebblestone",
        "woodchips",
        "rock",
        "stepping_stones",
        "grass_paver",
        "compacted",
        "shells",
        "snow",
        "ice",
        "salt",
    }
)
EARTH_RADIUS_M = 6_371_008.8

TAG_LENGTH = 32
# Areas people walk across (keep_way drops other area=yes ways).
WALKABLE_AREAS = frozenset({"pedestrian", "footway", "living_street"})
# Squares are crossed between their entrances (nodes shared with another way) and their reflex
# corners: a shortest walk inside a polygon between two entrances bends only at reflex corners, so
# that is exact between entrances with far fewer edges than every pair of nodes. At most this many
# such nodes an area, else its entrances alone, else (more entrances still) its outline only:
# at most 100 x 99 / 2 = 4,950 segments to test against the polygon (milliseconds) and as many
# edges. The largest count in the Helsinki and Paris extracts is 43.
AREA_MAX_CROSSING_NODES = 100
# A crossing that passes this close to another node of its area goes through it: left out.
THROUGH_NODE_M = 0.01


def _tag(tags: Any, key: str) -> str:
    value = tags.get(key)
    return (value or "")[:TAG_LENGTH]


def keep_way(tags: Any) -> bool:
    """Whether a way belongs to the street graph: someone may walk or ride it."""
    highway = _tag(tags, "highway")
    if not highway or highway in EXCLUDED_HIGHWAYS:
        return False
    if _tag(tags, "area") == "yes" and highway not in {"pedestrian", "footway", "living_street"}:
        return False
    access = _tag(tags, "access")
    if access in NO_ACCESS:
        return (
            _tag(tags, "foot") in POSITIVE
            or _tag(tags, "bicycle") in POSITIVE
            or motor_access(tags) in MOTOR_POSITIVE
        )
    return not (
        _tag(tags, "foot") == "no"
        and _tag(tags, "bicycle") == "no"
        and motor_access(tags) in ("", "no")
    )


def motor_access(tags: Any) -> str:
    """The most specific access tag for a delivery van: motorcar, then motor_vehicle, then
    vehicle ("" when none is set; the way's ``access`` applies then)."""
    for key in ("motorcar", "motor_vehicle", "vehicle"):
        value = _tag(tags, key)
        if value:
            return value
    return ""


def oneway_for_cars(tags: Any) -> int:
    """0: both ways; 1: only along the way's direction; -1: only against it. Roundabouts and
    motorway links are one-way unless tagged otherwise; contraflow lanes for bikes do not count."""
    oneway = _tag(tags, "oneway:motor_vehicle") or _tag(tags, "oneway")
    if not oneway and (
        _tag(tags, "junction") in {"roundabout", "circular"}
        or _tag(tags, "highway") == "motorway_link"
    ):
        oneway = "yes"
    if oneway in {"yes", "true", "1"}:
        return 1
    if oneway == "-1":
        return -1
    return 0


def oneway_for_bikes(tags: Any) -> int:
    """0: both ways; 1: only along the way's direction; -1: only against it."""
    ob = _tag(tags, "oneway:bicycle")
    if ob == "no":
        return 0
    cycleway = " ".join(
        _tag(tags, k) for k in ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both")
    )
    contraflow = "opposite" in cycleway or _tag(tags, "cycleway:left:oneway") == "-1"
    oneway = ob or _tag(tags, "oneway")
    if _tag(tags, "junction") in {"roundabout", "circular"} and not oneway:
        oneway = "yes"
    if oneway in {"yes", "true", "1"}:
        return 0 if contraflow else 1
    if oneway == "-1":
        return 0 if contraflow else -1
    return 0


def is_walkable_area(tags: Any, node_refs: list[int]) -> bool:
    """A closed way tagged as an area that people walk across (a square, a pedestrian zone)."""
    return (
        _tag(tags, "area") == "yes"
        and _tag(tags, "highway") in WALKABLE_AREAS
        and len(node_refs) >= 4
        and node_refs[0] == node_refs[-1]
    )


def area_crossings(
    lons: np.ndarray, lats: np.ndarray, entrance: np.ndarray, refs: np.ndarray
) -> list[tuple[int, int]]:
    """Pairs (i, j) of an area's ring nodes (the closing node not repeated) joined by a straight
    segment inside the area (``covers``: the outline itself counts as inside), that are not
    already neighbours on the outline and whose segment passes through no other of its nodes.
    The nodes taking part are its entrances and reflex corners (see AREA_MAX_CROSSING_NODES);
    an area whose ring is not a valid polygon is made valid first."""
    n = lons.size
    lat0 = math.radians(float(np.mean(lats)))
    ky = math.radians(1.0) * EARTH_RADIUS_M
    x, y = (lons - lons.mean()) * ky * math.cos(lat0), (lats - lats.mean()) * ky
    polygon = shapely.Polygon(np.column_stack([x, y]))
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    # Reflex corners: the turn at the node goes against the ring's orientation.
    dx1, dy1 = x - np.roll(x, 1), y - np.roll(y, 1)
    dx2, dy2 = np.roll(x, -1) - x, np.roll(y, -1) - y
    turn = dx1 * dy2 - dy1 * dx2
    ccw = float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)) > 0
    reflex = turn < 0 if ccw else turn > 0
    chosen = np.flatnonzero(entrance | reflex)
    if chosen.size > AREA_MAX_CROSSING_NODES:
        chosen = np.flatnonzero(entrance)
    if chosen.size > AREA_MAX_CROSSING_NODES:
        return []
    i, j = np.triu_indices(chosen.size, k=1)
    i, j = chosen[i], chosen[j]
    keep = (j - i != 1) & (j - i != n - 1) & (refs[i] != refs[j])
    i, j = i[keep], j[keep]
    if i.size == 0:
        return []
    segments = shapely.linestrings(
        np.stack([np.column_stack([x[i], y[i]]), np.column_stack([x[j], y[j]])], axis=1)
    )
    shapely.prepare(polygon)
    inside = shapely.covers(polygon, segments)
    # A segment through another node of the area (along a straight side, say) is the two
    # segments on either side of it, and would hide that node from points placed on it.
    seg, node = shapely.STRtree(shapely.points(x, y)).query(
        segments, predicate="dwithin", distance=THROUGH_NODE_M
    )
    through = (node != i[seg]) & (node != j[seg])
    inside[seg[through]] = False
    return list(zip(i[inside].tolist(), j[inside].tolist(), strict=True))


@dataclass(frozen=True, slots=True)
class WayTags:
    highway: str
    foot: str
    bicycle: str
    access: str
    surface: str
    sidewalk: str
    wheelchair: str
    steps: bool
    crossing: bool
    area: bool
    oneway_bike: int
    motor: str
    oneway_car: int

    @classmethod
    def from_tags(cls, tags: Any) -> WayTags:
        highway = _tag(tags, "highway")
        sidewalk = _tag(tags, "sidewalk") or _tag(tags, "sidewalk:both")
        if not sidewalk and (_tag(tags, "sidewalk:left") or _tag(tags, "sidewalk:right")):
            sidewalk = (
                "yes"
                if "yes" in (_tag(tags, "sidewalk:left"), _tag(tags, "sidewalk:right"))
                else "no"
            )
        return cls(
            highway=highway,
            foot=_tag(tags, "foot"),
            bicycle=_tag(tags, "bicycle"),
            access=_tag(tags, "access"),
            surface=_tag(tags, "surface"),
            sidewalk=sidewalk,
            wheelchair=_tag(tags, "wheelchair"),
            steps=highway == "steps",
            crossing=highway == "crossing" or _tag(tags, "footway") == "crossing",
            area=_tag(tags, "area") == "yes",
            oneway_bike=oneway_for_bikes(tags),
            motor=motor_access(tags),
            oneway_car=oneway_for_cars(tags),
        )


@dataclass(slots=True)
class Edge:
    source: int
    target: int
    way_id: int
    lons: np.ndarray
    lats: np.ndarray
    length_m: float
    tags: WayTags


@dataclass(slots=True)
class ImportCounts:
    ways: int = 0
    node_refs: int = 0
    graph_nodes: int = 0
    edges: int = 0
    steps_edges: int = 0
    total_length_m: float = 0.0
    missing_locations: int = 0
    bbox: tuple[float, float, float, float] | None = None
    extra: dict[str, int] = field(default_factory=dict)


class ExtractError(Exception):
    """The extract is missing, unreadable or holds no street network."""


def haversine_lengths(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Lengths in meters of the segments of a polyline given in degrees."""
    lon = np.radians(lons)
    lat = np.radians(lats)
    dlat = lat[1:] - lat[:-1]
    dlon = lon[1:] - lon[:-1]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def check_extract(path: Path) -> None:
    if not path.exists():
        raise ExtractError(f"No such file: {path}")
    if not path.is_file():
        raise ExtractError(f"Not a file: {path}")
    name = path.name.lower()
    if not name.endswith((".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2")):
        raise ExtractError(
            f"Unsupported extract format (expected .osm.pbf, .osm or .osm.gz): {path}"
        )
    if path.stat().st_size == 0:
        raise ExtractError(f"The extract is empty: {path}")


class ExtractReader:
    """Reads an extract in three streaming passes; iterate :meth:`edges` to get the graph."""

    PROGRESS_EVERY = 50_000
    NODE_BATCH = 1_000_000

    def __init__(self, path: Path, progress: ProgressFn | None = None) -> None:
        check_extract(path)
        self.path = path
        self.progress: ProgressFn = progress or (lambda message: None)
        self.counts = ImportCounts()
        self.graph_node_ids: np.ndarray = np.empty(0, dtype=np.int64)
        self.used: np.ndarray = np.empty(0, dtype=bool)
        self._needed_ids: np.ndarray = np.empty(0, dtype=np.int64)
        self._lons: np.ndarray = np.empty(0)
        self._lats: np.ndarray = np.empty(0)
        self._shared_ids: np.ndarray = np.empty(0, dtype=np.int64)
        # Walkable areas met in pass 1 (way id, node refs without the closing one, tags), and the
        # edges across them planned after pass 2.
        self._areas: list[tuple[int, np.ndarray, WayTags]] = []
        self._crossings: list[Edge] = []

    def _ways(self) -> Iterator[Any]:
        import osmium

        processor = osmium.FileProcessor(str(self.path), osmium.osm.WAY).with_filter(
            osmium.filter.KeyFilter("highway")
        )
        try:
            yield from processor
        except RuntimeError as exc:  # libosmium reports corrupt or truncated data this way
            raise ExtractError(f"Cannot read {self.path.name}: {exc}") from exc

    def _pass_refs(self) -> None:
        self.progress("pass 1/3: reading ways")
        refs = array("q")
        ends = array("q")
        ways = 0
        for way in self._ways():
            if not keep_way(way.tags):
                continue
            node_refs = [n.ref for n in way.nodes]
            if len(node_refs) < 2:
                continue
            if is_walkable_area(way.tags, node_refs):
                # Its closing node counts once, so that a node counted twice is an entrance.
                refs.extend(node_refs[:-1])
                self._areas.append(
                    (way.id, np.array(node_refs[:-1], dtype=np.int64), WayTags.from_tags(way.tags))
                )
            else:
                refs.extend(node_refs)
            ends.append(node_refs[0])
            ends.append(node_refs[-1])
            ways += 1
            if ways % self.PROGRESS_EVERY == 0:
                self.progress(f"pass 1/3: {ways:,} ways")
        if ways == 0:
            raise ExtractError(f"No walkable or rideable way in {self.path.name}")
        all_refs = np.frombuffer(refs, dtype=np.int64)
        ids, counts = np.unique(all_refs, return_counts=True)
        shared = ids[counts >= 2]
        self._shared_ids = shared
        self.graph_node_ids = np.union1d(shared, np.frombuffer(ends, dtype=np.int64))
        self._needed_ids = ids
        self.counts.ways = ways
        self.counts.node_refs = int(all_refs.size)
        self.progress(f"pass 1/3: {ways:,} ways, {ids.size:,} nodes used")

    def _pass_locations(self) -> None:
        """Coordinates of the nodes the kept ways use. Every node of the file streams past in
        batches; membership is a vectorised binary search in the sorted ids of pass 1, so memory
        is 24 bytes per used node whatever the ids' range (pyosmium's IdFilter keeps a bitmap
        sized by the largest id: hundreds of MB)."""
        import osmium

        self.progress("pass 2/3: reading node locations")
        ids = self._needed_ids
        lons = np.full(ids.size, np.nan)
        lats = np.full(ids.size, np.nan)
        batch_ids = array("q")
        batch_lon = array("d")
        batch_lat = array("d")
        seen = 0

        def flush() -> None:
            bid = np.array(batch_ids, dtype=np.int64)
            pos = np.minimum(np.searchsorted(ids, bid), ids.size - 1)
            hit = ids[pos] == bid
            lons[pos[hit]] = np.array(batch_lon, dtype=np.float64)[hit]
            lats[pos[hit]] = np.array(batch_lat, dtype=np.float64)[hit]
            del batch_ids[:], batch_lon[:], batch_lat[:]

        processor = osmium.FileProcessor(str(self.path), osmium.osm.NODE)
        try:
            node: Any
            for node in processor:
                loc = node.location
                if not loc.valid():
                    continue
                batch_ids.append(node.id)
                batch_lon.append(loc.lon)
                batch_lat.append(loc.lat)
                if len(batch_ids) >= self.NODE_BATCH:
                    seen += len(batch_ids)
                    flush()
                    self.progress(f"pass 2/3: {seen:,} nodes read")
        except RuntimeError as exc:
            raise ExtractError(f"Cannot read {self.path.name}: {exc}") from exc
        if batch_ids:
            flush()
        self._lons, self._lats = lons, lats
        self.counts.missing_locations = int(np.isnan(lons).sum())
        valid = ~np.isnan(lons)
        if valid.any():
            self.counts.bbox = (
                float(lons[valid].min()),
                float(lats[valid].min()),
                float(lons[valid].max()),
                float(lats[valid].max()),
            )

    def edges(self) -> Iterator[Edge]:
        """Yields every edge; runs the three passes."""
        self._pass_refs()
        self._pass_locations()
        self._plan_crossings()
        self.progress("pass 3/3: cutting ways into edges")
        needed = self._needed_ids
        graph_mask = np.isin(needed, self.graph_node_ids, assume_unique=True)
        self.used = np.zeros(needed.size, dtype=bool)
        done = 0
        for way in self._ways():
            tags = way.tags
            if not keep_way(tags):
                continue
            refs = np.fromiter((n.ref for n in way.nodes), dtype=np.int64)
            if refs.size < 2:
                continue
            way_tags = WayTags.from_tags(tags)
            pos = np.searchsorted(needed, refs)
            lons = self._lons[pos]
            lats = self._lats[pos]
            ok = ~np.isnan(lons)
            # A way clipped at the extract's edge loses nodes: its known runs stay, apart.
            is_graph = graph_mask[pos]
            start = None
            for i in range(refs.size):
                if not ok[i]:
                    if start is not None and i - 1 > start:
                        yield from self._cut(
                            way.id, pos, lons, lats, is_graph, start, i - 1, way_tags
                        )
                    start = None
                    continue
                if start is None:
                    start = i
            if start is not None and refs.size - 1 > start:
                yield from self._cut(
                    way.id, pos, lons, lats, is_graph, start, refs.size - 1, way_tags
                )
            done += 1
            if done % self.PROGRESS_EVERY == 0:
                self.progress(f"pass 3/3: {done:,} of {self.counts.ways:,} ways")
        for edge in self._crossings:  # not counted in total_length_m, the length of the ways
            self.used[edge.source] = True
            self.used[edge.target] = True
            self.counts.edges += 1
            yield edge
        self._crossings = []
        self.counts.graph_nodes = int(self.used.sum())
        self.progress(f"pass 3/3: {self.counts.edges:,} edges")

    def _plan_crossings(self) -> None:
        """Edges across the walkable areas joined to the network; their ends join the graph's
        nodes before pass 3 cuts the ways."""
        needed = self._needed_ids
        joined: list[int] = []
        crossed = outline_only = 0
        for way_id, refs, tags in self._areas:
            pos = np.searchsorted(needed, refs)
            lons, lats = self._lons[pos], self._lats[pos]
            entrance = np.isin(refs, self._shared_ids, assume_unique=False)
            if np.isnan(lons).any() or not entrance.any():
                continue  # clipped at the extract's edge, or joined to nothing: an island
            pairs = area_crossings(lons, lats, entrance, refs)
            if not pairs:
                outline_only += 1
                continue
            crossed += 1
            across = dataclasses.replace(tags, oneway_bike=0, oneway_car=0, motor="no")
            for i, j in pairs:
                seg_lons, seg_lats = lons[[i, j]], lats[[i, j]]
                self._crossings.append(
                    Edge(
                        source=int(pos[i]),
                        target=int(pos[j]),
                        way_id=way_id,
                        lons=seg_lons,
                        lats=seg_lats,
                        length_m=float(haversine_lengths(seg_lons, seg_lats)[0]),
                        tags=across,
                    )
                )
                joined.extend((refs[i], refs[j]))
        self._areas = []
        if joined:
            self.graph_node_ids = np.union1d(self.graph_node_ids, np.array(joined, dtype=np.int64))
        self.counts.extra.update(
            areas_crossed=crossed, areas_outline_only=outline_only, area_edges=len(self._crossings)
        )
        self.progress(f"areas: {crossed:,} crossed by {len(self._crossings):,} edges")

    def _cut(
        self,
        way_id: int,
        pos: np.ndarray,
        lons: np.ndarray,
        lats: np.ndarray,
        is_graph: np.ndarray,
        first: int,
        last: int,
        tags: WayTags,
    ) -> Iterator[Edge]:
        # Both ends of a run are nodes of the graph, whether or not another way meets them there.
        cuts = [first, *[i for i in range(first + 1, last) if is_graph[i]], last]
        for a, b in itertools.pairwise(cuts):
            seg_lons = lons[a : b + 1]
            seg_lats = lats[a : b + 1]
            length = float(haversine_lengths(seg_lons, seg_lats).sum())
            if pos[a] == pos[b] and length == 0.0:
                continue
            self.used[pos[a]] = True
            self.used[pos[b]] = True
            self.counts.edges += 1
            self.counts.total_length_m += length
            if tags.steps:
                self.counts.steps_edges += 1
            yield Edge(
                source=int(pos[a]),
                target=int(pos[b]),
                way_id=way_id,
                lons=seg_lons,
                lats=seg_lats,
                length_m=length,
                tags=tags,
            )

    def used_nodes(self) -> Iterator[tuple[int, int, float, float]]:
        """(index, OSM id, lon, lat) of every node that ends an edge; after :meth:`edges`."""
        for idx in np.flatnonzero(self.used):
            yield (
                int(idx),
                int(self._needed_ids[idx]),
                float(self._lons[idx]),
                float(self._lats[idx]),
            )
