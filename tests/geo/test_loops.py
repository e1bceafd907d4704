"""Routes that start or end on loops: edges whose two ends are one node (a closed way joined to
the network at its first node, a P-shaped way). Meters and the drawn line must go the way the
search went, checked against the independent networkx reference, which knows no loops (one edge
per pair of consecutive way nodes)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.graph import get_network
from geo.network import IslandError, NoRouteError, OffGraphError
from geo.profiles import get_profile
from geo.selectors import RouteTooLongError, route_between
from geo.services import graph_import
from tests.conftest import extract_paths
from tests.geo.osm_xml import loop_town
from tests.geo.reference import Reference, line_meters

# Node coordinates of loop_town's ways, to put points along them.
LOOP_110 = [2, 10, 11, 12, 13, 2]
P_111 = [20, 21, 22, 23, 24, 20]
CLOSED_112 = [30, 31, 4, 32, 30]


@pytest.fixture
def town(tmp_path):
    path = loop_town(tmp_path / "loops.osm")
    graph_import(path=path, name="loops")
    return Reference(path)


def along(ref: Reference, refs: list[int], frac: float) -> tuple[float, float]:
    """The point at ``frac`` of a way's length (in degrees, which is enough to spread points)."""
    line = shapely.LineString([ref.where[n] for n in refs])
    p = line.interpolate(frac, normalized=True)
    return p.x, p.y


def hausdorff_m(ref: Reference, a, b) -> float:
    la = shapely.LineString([ref._xy(p) for p in a])
    lb = shapely.LineString([ref._xy(p) for p in b])
    return float(shapely.hausdorff_distance(la, lb, densify=0.05))


def assert_like_reference(ref: Reference, start, end, tol_m: float = 0.05):
    got = route_between(start=start, end=end, profile="walk")
    want = ref.route(start, end)
    coords = list(got.geometry.coords)
    assert got.meters == pytest.approx(want.meters, abs=tol_m), (start, end)
    assert line_meters(coords) == pytest.approx(got.meters, abs=tol_m)
    assert coords[0] == pytest.approx(start) and coords[-1] == pytest.approx(end)
    assert hausdorff_m(ref, coords, want.line) < tol_m + 0.05
    assert got.seconds == pytest.approx(got.meters / (5 / 3.6), rel=1e-6)
    return got


@pytest.mark.django_db
@pytest.mark.parametrize("frac", [0.1, 0.3, 0.45, 0.55, 0.7, 0.9])
@pytest.mark.parametrize("way", [LOOP_110, P_111, CLOSED_112], ids=["closed", "p-shape", "4-30"])
def test_route_from_and_to_a_loop_matches_the_reference(town, way, frac):
    on_loop = along(town, way, frac)
    for far in [(24.930, 60.172), (24.942, 60.1705), (24.9385, 60.170)]:
        assert_like_reference(town, on_loop, far)
        assert_like_reference(town, far, on_loop)
    # 3 m inside the loop: the approach counts, the line starts at the door.
    inside = np.mean([town.where[n] for n in way[:-1]], axis=0) - np.array(on_loop)
    step = 3.0 / np.hypot(inside[0] * town.kx, inside[1] * town.ky)
    door = (on_loop[0] + inside[0] * step, on_loop[1] + inside[1] * step)
    got = assert_like_reference(town, door, (24.930, 60.172))
    assert town.place(door).approach_m > 1.0
    assert got.geometry.coords[1] == pytest.approx(town.place(door).lonlat, abs=1e-6)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "a, b",
    [(0.2, 0.7), (0.7, 0.2), (0.1, 0.9), (0.9, 0.1), (0.05, 0.3), (0.3, 0.05), (0.4, 0.6)],
)
@pytest.mark.parametrize("way", [LOOP_110, P_111, CLOSED_112], ids=["closed", "p-shape", "4-30"])
def test_start_and_end_on_the_same_loop(town, way, a, b):
    """Straight along the loop, or round by its node when that is shorter, both directions."""
    assert_like_reference(town, along(town, way, a), along(town, way, b))


@pytest.mark.django_db
@pytest.mark.parametrize("a, b", [(0.2, 0.4), (0.4, 0.2), (0.1, 0.95), (0.95, 0.1)])
def test_start_and_end_on_the_same_plain_edge(town, a, b):
    main = [1, 2]
    assert_like_reference(town, along(town, main, a), along(town, main, b))


@pytest.mark.django_db
@pytest.mark.parametrize("profile", ["bike", "car"])
def test_one_way_loop_is_ridden_its_way_round(tmp_path, profile):
    """Loop 113 is one-way 40 -> 41 -> 42 -> 43 -> 40: leaving from a point on it, a bike or van
    goes on to node 40 whichever side is nearer; arriving, it comes in from node 40."""
    graph_import(path=loop_town(tmp_path / "loops.osm"), name="loops")
    net = get_network()
    prof = get_profile(profile)
    loop = int(np.flatnonzero((net.src == net.dst) & (net.tags.oneway_car == 1))[0])
    length = float(net.length_m[loop])
    node7 = (24.938, 60.172)
    access = route_between(start=node7, end=(24.9381, 60.1730), profile=profile).meters
    for frac in (0.1, 0.5, 0.9):
        p = shapely.line_interpolate_point(net.geoms[loop], frac, normalized=True)
        point = (p.x, p.y)
        snap = net.snap(*point, prof)
        assert snap.edge == loop
        out = route_between(start=point, end=node7, profile=profile)
        back = route_between(start=node7, end=point, profile=profile)
        assert out.meters == pytest.approx(length - snap.offset_m + access, abs=0.05)
        assert back.meters == pytest.approx(access + snap.offset_m, abs=0.05)
        for r in (out, back):
            assert line_meters(r.geometry.coords) == pytest.approx(r.meters, abs=0.05)


@pytest.mark.django_db
def test_matrix_meters_from_loops_match_routes(town):
    """The matrix (plain and wheelchair meters) agrees with the route on loops."""
    from geo.selectors import travel_matrix

    points = [along(town, LOOP_110, 0.3), along(town, P_111, 0.8), (24.930, 60.172)]
    for profile in ("walk", "wheelchair"):
        m = travel_matrix(points=points, profile=profile)
        for i, a in enumerate(points):
            for j, b in enumerate(points):
                if i != j:
                    want = route_between(start=a, end=b, profile=profile).meters
                    assert m.meters[i][j] == pytest.approx(want, abs=0.1)


@pytest.mark.django_db
def test_random_points_on_a_network_with_loops(town):
    """Property: for any two points on the network, meters equal the reference's within 0.5 m,
    the drawn line is as long as the meters within 1 m, starts at the snapped start and ends at
    the snapped end."""
    segments = town.segments

    def point(i: int, t: float) -> tuple[float, float]:
        u, v = segments[i % len(segments)]
        (ulon, ulat), (vlon, vlat) = town.where[u], town.where[v]
        return ulon + t * (vlon - ulon), ulat + t * (vlat - ulat)

    on_network = st.builds(point, st.integers(0, len(segments) - 1), st.floats(0.0, 1.0))

    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(on_network, on_network)
    def check(start, end):
        got = route_between(start=start, end=end, profile="walk")
        want = town.route(start, end)
        coords = got.geometry.coords
        assert got.meters == pytest.approx(want.meters, abs=0.5)
        assert line_meters(coords) == pytest.approx(got.meters, abs=1.0)
        snapped_start, snapped_end = town.place(start).lonlat, town.place(end).lonlat
        assert line_meters([coords[0], snapped_start]) < 0.05
        assert line_meters([coords[-1], snapped_end]) < 0.05

    check()


LOOP_PAIRS = 150


def loopy_edges(net) -> np.ndarray:
    """Usable walking edges of loops: edges whose two ends are one node, and edges that share
    both their ends with another edge (a closed way joined at a node other than its first)."""
    lo, hi = np.minimum(net.src, net.dst), np.maximum(net.src, net.dst)
    pairs = lo.astype(np.int64) * net.n_nodes + hi
    _, inverse, counts = np.unique(pairs, return_inverse=True, return_counts=True)
    loopy = (net.src == net.dst) | (counts[inverse] > 1)
    return np.intersect1d(np.flatnonzero(loopy), net.graphs["walk"].snap_edges)


@pytest.mark.django_db
@pytest.mark.parametrize("path", extract_paths(), ids=lambda p: p.name)
def test_routes_from_loops_on_real_extracts_match_the_reference(path):
    """Random points on the real loops of an extract (closed service ways, pedestrian areas...),
    routed to and from random points on ways within 1.5 km: meters against the reference."""
    graph_import(path=path, name=path.name)
    ref = Reference(path)
    net = get_network()
    pg = net.graphs["walk"]
    loops = loopy_edges(net)
    assert loops.size > 0
    true_loops = loops[net.src[loops] == net.dst[loops]]
    rng = random.Random(5)
    mids = shapely.line_interpolate_point(net.geoms[pg.snap_edges], 0.5, normalized=True)

    def random_point(e: int) -> tuple[float, float]:
        p = shapely.line_interpolate_point(net.geoms[e], rng.random(), normalized=True)
        return p.x, p.y

    errors = []
    for _ in range(LOOP_PAIRS):
        pick = true_loops if true_loops.size and rng.random() < 0.5 else loops
        a = random_point(int(rng.choice(pick)))
        near = np.flatnonzero(shapely.dwithin(mids, shapely.Point(a), 1500 / 111_000))
        b = random_point(int(pg.snap_edges[rng.choice(near.tolist())]))
        if rng.random() < 0.5:
            a, b = b, a
        if max(ref.place(a).approach_m, ref.place(b).approach_m) > 0.01:
            continue  # not on the reference's largest connected part
        try:
            got = route_between(start=a, end=b, profile="walk")
        except (NoRouteError, OffGraphError, IslandError, RouteTooLongError):
            continue
        want = ref.route(a, b).meters
        errors.append(abs(got.meters - want))
        assert line_meters(got.geometry.coords) == pytest.approx(got.meters, abs=0.5)
    assert len(errors) >= LOOP_PAIRS // 3
    worst = max(errors)
    print(
        f"\n{path.name}: {loops.size} loop edges ({true_loops.size} from a node to itself), "
        f"{len(errors)} pairs, max error {worst:.2f} m"
    )
    assert worst <= 0.5 + 1e-9, f"max error {worst:.2f} m over {len(errors)} pairs"
