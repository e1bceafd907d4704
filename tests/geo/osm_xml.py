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


def loop_town(path: Path) -> Path:
    """Service loops on a small ladder of streets (main street 1..4, north street 5..8, links
    1-5, 4-8):

    - way 110, a closed way starting and ending at the main street's node 2 (one edge whose two
      ends are node 2), going south;
    - way 111, a P-shaped gravel way (slow for wheelchairs): a stem from node 3 to node 20, then
      round a loop back to 20 (one edge 3-20, one edge 20..20);
    - way 112, a closed way through node 4 whose first node (30) meets nothing: two parallel
      edges between 4 and 30;
    - way 113, a one-way loop (for bikes and vans) closed at node 40, reached from node 7 by a
      two-way way 114.

    No two loops are alike, so going round one way or the other never ties."""
    nodes = {
        1: (24.930, 60.170),
        2: (24.934, 60.170),
        3: (24.938, 60.170),
        4: (24.942, 60.170),
        5: (24.930, 60.172),
        6: (24.934, 60.172),
        7: (24.938, 60.172),
        8: (24.942, 60.172),
        # loop 110, south of node 2
        10: (24.9333, 60.1693),
        11: (24.9331, 60.1682),
        12: (24.9352, 60.1679),
        13: (24.9356, 60.1690),
        # P-shape 111, south of node 3
        20: (24.9381, 60.1692),
        21: (24.9370, 60.1684),
        22: (24.9374, 60.1672),
        23: (24.9392, 60.1676),
        24: (24.9395, 60.1687),
        # closed way 112 through node 4
        30: (24.9445, 60.1685),
        31: (24.9452, 60.1695),
        32: (24.9428, 60.1690),
        # one-way loop 113 north of node 7, and its access 114
        40: (24.9381, 60.1730),
        41: (24.9395, 60.1741),
        42: (24.9379, 60.1752),
        43: (24.9366, 60.1740),
    }
    ways = [
        (100, [1, 2, 3, 4], {"highway": "residential"}),
        (101, [5, 6, 7, 8], {"highway": "residential"}),
        (102, [1, 5], {"highway": "residential"}),
        (103, [4, 8], {"highway": "residential"}),
        (110, [2, 10, 11, 12, 13, 2], {"highway": "service"}),
        (111, [3, 20, 21, 22, 23, 24, 20], {"highway": "service", "surface": "gravel"}),
        (112, [30, 31, 4, 32, 30], {"highway": "service"}),
        (113, [40, 41, 42, 43, 40], {"highway": "service", "oneway": "yes"}),
        (114, [7, 40], {"highway": "service"}),
    ]
    return write_osm(path, nodes, ways)


def square_town(path: Path) -> Path:
    """Pedestrian areas, near lon 24.94, lat 60.17 (x, y in meters east and north, see ``at``):

    - way 200, a 100 m x 100 m square (x 0..100, y 0..100), ``highway=pedestrian area=yes`` open
      to deliveries, entered from a street from the west at (0, 50) (way 201 from (-100, 50)), one
      from the east at (100, 50) (way 202 to (200, 50)) and one from the south at (50, 0) (way 203
      from (50, -100)); a road round it by the south joins the western and eastern streets (way
      204: (-100, 50), (-100, -200), (200, -200), (200, 50));
    - way 210, a U-shaped footway area ``wheelchair=no`` (x 300..400, y 0..100, its notch x
      330..370 down to y 40), entered at the top of each arm, (315, 100) and (385, 100), by
      streets going north to a street at y 200 (ways 211, 212, 213), and from its south-west
      corner by a street from the square's eastern street (way 205, (200, 50) to (300, 0)); the
      street at y 200 also joins it (way 206, (385, 200) to (200, 50));
    - way 220, a square (x 500..540, y 0..40) joined to nothing.
    """
    pts = {
        # square 200
        1: (0, 0),
        2: (50, 0),
        3: (100, 0),
        4: (100, 50),
        5: (100, 100),
        6: (0, 100),
        7: (0, 50),
        8: (-100, 50),
        9: (200, 50),
        10: (50, -100),
        11: (-100, -200),
        12: (200, -200),
        # U 210
        20: (300, 0),
        21: (400, 0),
        22: (400, 100),
        23: (385, 100),
        24: (370, 100),
        25: (370, 40),
        26: (330, 40),
        27: (330, 100),
        28: (315, 100),
        29: (300, 100),
        30: (315, 200),
        31: (385, 200),
        # lonely square 220
        40: (500, 0),
        41: (540, 0),
        42: (540, 40),
        43: (500, 40),
    }
    nodes = {nid: at(x, y) for nid, (x, y) in pts.items()}
    square = {"highway": "pedestrian", "area": "yes", "motor_vehicle": "delivery"}
    ways = [
        (200, [1, 2, 3, 4, 5, 6, 7, 1], square),
        (201, [8, 7], {"highway": "residential"}),
        (202, [4, 9], {"highway": "residential"}),
        (203, [10, 2], {"highway": "footway"}),
        (204, [8, 11, 12, 9], {"highway": "residential"}),
        (205, [9, 20], {"highway": "residential"}),
        (206, [31, 9], {"highway": "residential"}),
        (
            210,
            [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 20],
            {"highway": "footway", "area": "yes", "wheelchair": "no"},
        ),
        (211, [28, 30], {"highway": "residential"}),
        (212, [23, 31], {"highway": "residential"}),
        (213, [30, 31], {"highway": "residential"}),
        (220, [40, 41, 42, 43, 40], {"highway": "pedestrian", "area": "yes"}),
    ]
    return write_osm(path, nodes, ways)


SQUARE_ORIGIN = (24.94, 60.17)


def at(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of a point x meters east and y meters north of SQUARE_ORIGIN (locally flat)."""
    import math

    lon0, lat0 = SQUARE_ORIGIN
    ky = math.radians(1.0) * 6_371_008.8
    return lon0 + x / (ky * math.cos(math.radians(lat0))), lat0 + y / ky
