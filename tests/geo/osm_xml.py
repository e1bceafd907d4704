"""Writes small synthetic .osm files for targeted tests (one-ways, islands, doors on a street)."""

from __future__ import annotations

import gzip
from pathlib import Path
from xml.sax.saxutils import quoteattr


def write_osm(
    path: Path,
    nodes: dict[int, tuple[float, float]],
    ways: list[tuple[int, list[int], dict[str, str]]],
) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tests">']
    for nid, (lon, lat) in sorted(nodes.items()):
        lines.append(f'  <node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines.extend(f'    <nd ref="{r}"/>' for r in refs)
        lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append("  </way>")
    lines.append("</osm>")
    text = "\n".join(lines) + "\n"
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# A grid town near lon 24.93, lat 60.17: about 111 m per 0.001 deg of latitude, 55 m per 0.001 lon.
def grid_town(path: Path) -> Path:
    """Streets: a 1 km main street (nodes 1..3) with junctions only at its ends, a parallel
    one-way street (4..6), links at both ends, a staircase shortcut, and a far-away island."""
    nodes = {
        1: (24.930, 60.170),
        2: (24.939, 60.170),
        3: (24.948, 60.170),
        4: (24.930, 60.172),
        5: (24.939, 60.172),
        6: (24.948, 60.172),
        7: (24.939, 60.171),
        # island: a short footway 2 km north, reached by nothing
        20: (24.939, 60.190),
        21: (24.940, 60.190),
        22: (24.941, 60.190),
        # 30..40: a loop of 30 footway nodes so the main area is a real component
    }
    ways = [
        (100, [1, 2, 3], {"highway": "residential"}),
        (101, [4, 5, 6], {"highway": "residential", "oneway": "yes"}),
        (102, [1, 4], {"highway": "residential"}),
        (103, [3, 6], {"highway": "residential"}),
        (104, [2, 7], {"highway": "steps"}),
        (105, [7, 5], {"highway": "steps"}),
        (106, [20, 21, 22], {"highway": "footway"}),
    ]
    return write_osm(path, nodes, ways)


def van_town(path: Path) -> Path:
    """For the car profile: a two-way main street (1, 12, 2, 3); a northern street (4, 17, 5, 6)
    one-way eastbound for cars with a contraflow lane for bikes; two pedestrian crossings between
    them, one open to deliveries (2, 7, 5) and one not (12, 17); and a one-way dead end going
    south from the main street (12 -> 11), which can be entered and never left."""
    nodes = {
        1: (24.930, 60.170),
        12: (24.9345, 60.170),
        2: (24.939, 60.170),
        3: (24.948, 60.170),
        4: (24.930, 60.172),
        17: (24.9345, 60.172),
        5: (24.939, 60.172),
        6: (24.948, 60.172),
        7: (24.939, 60.171),
        11: (24.9345, 60.1685),
    }
    ways = [
        (100, [1, 12, 2, 3], {"highway": "residential"}),
        (
            101,
            [4, 17, 5, 6],
            {"highway": "residential", "oneway": "yes", "cycleway": "opposite_lane"},
        ),
        (102, [1, 4], {"highway": "residential"}),
        (103, [3, 6], {"highway": "residential"}),
        (104, [2, 7, 5], {"highway": "pedestrian", "motor_vehicle": "delivery"}),
        (105, [12, 17], {"highway": "pedestrian"}),
        (106, [12, 11], {"highway": "residential", "oneway": "yes"}),
    ]
    return write_osm(path, nodes, ways)
