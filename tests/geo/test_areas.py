"""Pedestrian areas (squares) are walked across, not only along their outline."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
from geopy.distance import great_circle

from geo.graph import get_network
from geo.models import StreetEdge, StreetGraph
from geo.osm_import import AREA_MAX_CROSSING_NODES, area_crossings
from geo.selectors import route_between
from geo.services import graph_import
from tests.geo.osm_xml import at, square_town
from tests.geo.reference import Reference


def gc(*points: tuple[float, float]) -> float:
    """Great-circle meters along a line of (lon, lat)."""
    pairs = itertools.pairwise(points)
    return sum(great_circle((a[1], a[0]), (b[1], b[0])).meters for a, b in pairs)


@pytest.fixture
def squares(tmp_path):
    path = square_town(tmp_path / "squares.osm")
    graph_import(path=path, name="squares")
    return path


@pytest.mark.django_db
def test_a_square_is_walked_straight_across(squares):
    west, east, south = at(-100, 50), at(200, 50), at(50, -100)
    w_in, e_in, s_in = at(0, 50), at(100, 50), at(50, 0)
    through = route_between(start=west, end=east, profile="walk")
    assert through.meters == pytest.approx(gc(west, w_in, e_in, east), abs=0.1)  # 300 m
    assert gc(west, w_in, at(0, 100), at(100, 100), e_in, east) > through.meters + 99  # outline
    coords = through.geometry.coords
    assert coords[0] == pytest.approx(west) and coords[-1] == pytest.approx(east)
    # Wheelchairs too (the square is paved and does not say wheelchair=no).
    wheel = route_between(start=west, end=east, profile="wheelchair")
    assert wheel.meters == pytest.approx(through.meters, abs=0.01)
    diagonal = route_between(start=south, end=east, profile="walk")
    assert diagonal.meters == pytest.approx(gc(south, s_in, e_in, east), abs=0.1)
    # A door inside the square is placed on the nearest way across it.
    door = at(30, 51)
    middle = route_between(start=door, end=east, profile="walk")
    assert middle.meters == pytest.approx(gc(door, at(30, 50), e_in, east), abs=0.1)


@pytest.mark.django_db
def test_a_concave_area_is_not_crossed_where_the_straight_line_leaves_it(squares):
    """The U's two arms see each other across the notch, outside the area: the walk goes round
    the notch's corners (inside), not straight (70 m) nor along the outline (190 m)."""
    left, right = at(315, 100), at(385, 100)
    walk = route_between(start=left, end=right, profile="walk")
    inside = gc(left, at(330, 40), at(370, 40), right)
    assert walk.meters == pytest.approx(inside, abs=0.1)
    assert walk.meters > gc(left, right) + 90
    # The area is wheelchair=no: its crossings too. Wheelchairs take the streets to the north.
    wheel = route_between(start=left, end=right, profile="wheelchair")
    assert wheel.meters == pytest.approx(gc(left, at(315, 200), at(385, 200), right), abs=0.1)


@pytest.mark.django_db
def test_vans_and_bikes_do_not_cut_across(squares):
    """Vans may drive the square's outline (it is open to deliveries) but not across it; bikes
    may use neither (a pedestrian area without bicycle=yes)."""
    west, east = at(-100, 50), at(200, 50)
    outline = gc(west, at(0, 50), at(0, 100), at(100, 100), at(100, 50), east)
    assert route_between(start=west, end=east, profile="car").meters == pytest.approx(
        outline, abs=0.1
    )
    around = gc(west, at(-100, -200), at(200, -200), east)
    assert route_between(start=west, end=east, profile="bike").meters == pytest.approx(
        around, abs=0.1
    )
    net = get_network()
    across = net.tags.motor == "no"
    assert across.any()
    assert not (
        net.graphs["car"].rules.forward[across] | net.graphs["car"].rules.backward[across]
    ).any()


@pytest.mark.django_db
def test_crossings_are_stored_with_the_area_and_islands_get_none(squares):
    graph = StreetGraph.objects.get(is_active=True)
    edges = StreetEdge.objects.filter(graph=graph)
    assert graph.edge_count == edges.count()
    lonely = edges.filter(osm_way_id=220)
    assert lonely.count() == 1  # joined to nothing: its outline, one edge from a node to itself
    square = edges.filter(osm_way_id=200)
    assert square.filter(area=True).count() == square.count()
    # The outline is cut at its first node and its three entrances (its corners are convex, so
    # no walk bends there): 4 edges; the entrances see each other: 3 crossings.
    assert square.count() == 7
    lengths = sorted(square.values_list("length_m", flat=True))
    e_in, s_in, w_in = at(100, 50), at(50, 0), at(0, 50)
    for a, b in [(w_in, e_in), (s_in, e_in), (s_in, w_in)]:
        assert any(abs(length - gc(a, b)) < 0.01 for length in lengths)
    # The U: entrances at the top of both arms and at its south-west corner, and the two reflex
    # corners at the bottom of its notch: 5 outline edges, and 5 crossings (of the 9 pairs not
    # side by side on the outline, 4 would cross the notch).
    assert edges.filter(osm_way_id=210).count() == 10


@pytest.mark.django_db
def test_random_walks_on_squares_match_the_reference(squares):
    """The reference crosses areas on its own (every pair of nodes that see each other)."""
    ref = Reference(squares)
    rng = random.Random(3)
    segments = ref.segments
    for _ in range(60):
        pts = []
        for _ in range(2):
            u, v = segments[rng.randrange(len(segments))]
            t = rng.random()
            (ulon, ulat), (vlon, vlat) = ref.where[u], ref.where[v]
            pts.append((ulon + t * (vlon - ulon), ulat + t * (vlat - ulat)))
        got = route_between(start=pts[0], end=pts[1], profile="walk")
        want = ref.route(pts[0], pts[1])
        assert got.meters == pytest.approx(want.meters, abs=0.5), (pts, want.line)


def ring(n: int, radius: float = 100.0, dent: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A ring of n nodes in degrees around (24.94, 60.17); every other node pulled in by
    ``dent`` (a star: those are reflex corners)."""
    k = np.arange(n)
    r = radius - dent * (k % 2)
    theta = 2 * math.pi * k / n
    lon0, lat0 = 24.94, 60.17
    ky = math.radians(1.0) * 6_371_008.8
    return lon0 + r * np.cos(theta) / (ky * math.cos(math.radians(lat0))), lat0 + r * np.sin(
        theta
    ) / ky


def test_areas_are_crossed_between_entrances_and_reflex_corners():
    small = 12
    refs = np.arange(1, 10 * AREA_MAX_CROSSING_NODES, dtype=np.int64)
    # Convex, no entrance: nothing to cross to.
    lons, lats = ring(small)
    assert area_crossings(lons, lats, np.zeros(small, bool), refs[:small]) == []
    # Convex: its three entrances see each other, and only they take part.
    n = AREA_MAX_CROSSING_NODES + 50
    entrance = np.zeros(n, dtype=bool)
    entrance[[0, 50, 100]] = True
    lons, lats = ring(n)
    assert sorted(area_crossings(lons, lats, entrance, refs[:n])) == [(0, 50), (0, 100), (50, 100)]
    # A star (every other node pulled in: reflex corners), few enough: entrances and corners.
    m = AREA_MAX_CROSSING_NODES + 20  # 60 reflex corners + 3 entrances <= 100
    lons, lats = ring(m, dent=1.0)
    ent = np.zeros(m, dtype=bool)
    ent[[0, 40, 80]] = True
    pairs = area_crossings(lons, lats, ent, refs[:m])
    used = {i for p in pairs for i in p}
    assert {0, 40, 80} <= used and any(i % 2 == 1 for i in used)
    assert all(i % 2 == 1 or ent[i] for i in used)
    # A star with too many reflex corners: entrances only.
    big = 2 * AREA_MAX_CROSSING_NODES + 10
    lons, lats = ring(big, dent=1.0)
    ent = np.zeros(big, dtype=bool)
    ent[[0, 50, 100]] = True
    pairs = area_crossings(lons, lats, ent, refs[:big])
    assert sorted(pairs) == [(0, 50), (0, 100), (50, 100)]
    # Too many entrances: the outline only.
    assert area_crossings(*ring(n), np.ones(n, dtype=bool), refs[:n]) == []
