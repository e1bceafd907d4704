"""An independent shortest-path reference, built in the tests from the same extract.

It shares no code with geo/: its own osmium reader, its own foot rules written out plainly, a
networkx graph with one edge per pair of consecutive way nodes (no cutting at junctions), and
great-circle lengths from geopy.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import osmium
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
    for way in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        if not way.is_way():
            continue
        tags = {t.k: t.v[:32] for t in way.tags}
        if not foot_ok(tags):
            continue
        if wheelchair and (tags.get("highway") == "steps" or tags.get("wheelchair") == "no"):
            continue
        nodes = [(n.ref, n.location) for n in way.nodes]
        for (r1, l1), (r2, l2) in itertools.pairwise(nodes):
            if not (l1.valid() and l2.valid()) or r1 == r2:
                continue
            where[r1] = (l1.lon, l1.lat)
            where[r2] = (l2.lon, l2.lat)
            d = great_circle((l1.lat, l1.lon), (l2.lat, l2.lon)).meters
            if not graph.has_edge(r1, r2) or graph[r1][r2]["length"] > d:
                graph.add_edge(r1, r2, length=d)
    return graph, where
