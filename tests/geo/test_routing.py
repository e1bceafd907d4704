from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest
from geopy.distance import great_circle

from geo.graph import get_network
from geo.network import IslandError, NoRouteError, OffGraphError
from geo.profiles import get_profile
from geo.selectors import route_between
from geo.services import graph_import
from tests.conftest import extract_paths
from tests.geo.osm_xml import grid_town, van_town
from tests.geo.reference import walking_graph

PAIRS = 40


def _reference_pairs(path, wheelchair=False, seed=7):
    graph, where = walking_graph(path, wheelchair=wheelchair)
    main = max(nx.connected_components(graph), key=len)
    nodes = sorted(main)
    rng = random.Random(seed)
    return graph, where, [(rng.choice(nodes), rng.choice(nodes)) for _ in range(PAIRS)]


@pytest.mark.django_db
@pytest.mark.parametrize("path", extract_paths(), ids=lambda p: p.name)
def test_walking_distances_match_an_independent_networkx_reference(path):
    """Random node pairs on a real extract: our door-to-door meters against networkx's
    shortest path over the same ways, within 1 m + 0.5 %."""
    graph_import(path=path, name=path.name)
    graph, where, pairs = _reference_pairs(path)
    compared = 0
    for a, b in pairs:
        expected = nx.shortest_path_length(graph, a, b, weight="length")
        (alon, alat), (blon, blat) = where[a], where[b]
        got = route_between(start=(alon, alat), end=(blon, blat), profile="walk")
        assert abs(got.meters - expected) <= 1.0 + 0.005 * expected, (a, b, got.meters, expected)
        # walk is about 5 km/h: seconds are meters over the profile's speed
        assert got.seconds == pytest.approx(got.meters / (5 / 3.6), rel=1e-6)
        compared += 1
    assert compared == PAIRS


@pytest.mark.django_db
@pytest.mark.parametrize("path", extract_paths(), ids=lambda p: p.name)
def test_wheelchair_routes_never_use_steps(path):
    graph_import(path=path, name=path.name)
    net = get_network()
    steps = net.tags.steps
    assert steps.any(), "the extract should hold steps for this test to mean something"
    walk, wheel = get_profile("walk"), get_profile("wheelchair")
    _graph, where, pairs = _reference_pairs(path, wheelchair=True, seed=11)
    walk_used_steps = 0
    routed = 0
    for a, b in pairs:
        (alon, alat), (blon, blat) = where[a], where[b]
        try:
            sa, sb = net.snap(alon, alat, wheel), net.snap(blon, blat, wheel)
            route = net.route(sa, sb, wheel, (alon, alat), (blon, blat))
        except (NoRouteError, OffGraphError, IslandError):
            continue
        routed += 1
        assert not steps[route.edges].any()
        wa, wb = net.snap(alon, alat, walk), net.snap(blon, blat, walk)
        walk_route = net.route(wa, wb, walk, (alon, alat), (blon, blat))
        walk_used_steps += bool(steps[walk_route.edges].any())
        assert route.meters >= walk_route.meters - 1e-6
    assert routed >= PAIRS // 2
    # and the graph of steps is a real constraint: some walking routes do take steps
    if path.name.startswith(("paris", "Helsinki", "helsinki")):
        assert walk_used_steps > 0


@pytest.mark.django_db
def test_synthetic_town_profiles(tmp_path):
    graph_import(path=grid_town(tmp_path / "town.osm"), name="town")
    lat_main, lat_north = 60.170, 60.172
    west_n, east_n = (24.930, lat_north), (24.948, lat_north)
    # Bikes respect the one-way (4 -> 6, eastbound): westbound they take the main street.
    east = route_between(start=west_n, end=east_n, profile="bike")
    west = route_between(start=east_n, end=west_n, profile="bike")
    street = great_circle((lat_north, 24.930), (lat_north, 24.948)).meters
    assert east.meters == pytest.approx(street, rel=1e-3)
    assert west.meters > street + 400  # down, along the main street, and up again
    # On foot the one-way does not apply.
    assert route_between(start=east_n, end=west_n, profile="walk").meters == pytest.approx(
        street, rel=1e-3
    )
    # Steps: walkers take the staircase in the middle, wheelchairs go round.
    mid_s, mid_n = (24.939, lat_main), (24.939, lat_north)
    by_steps = route_between(start=mid_s, end=mid_n, profile="walk")
    assert by_steps.meters == pytest.approx(
        great_circle((lat_main, 24.939), (lat_north, 24.939)).meters, rel=1e-3
    )
    around = route_between(start=mid_s, end=mid_n, profile="wheelchair")
    assert around.meters > 1000
    assert route_between(start=mid_s, end=mid_n, profile="slow").seconds == pytest.approx(
        by_steps.meters / (3 / 3.6)
    )


@pytest.mark.django_db
def test_vans_drive_the_car_network_with_its_one_ways(tmp_path):
    graph_import(path=van_town(tmp_path / "vans.osm"), name="vans")
    west_n, east_n = (24.930, 60.172), (24.948, 60.172)
    street = great_circle((60.172, 24.930), (60.172, 24.948)).meters
    # Eastbound both may use the one-way; westbound the bike takes its contraflow lane and the
    # van goes round by the main street.
    assert route_between(start=west_n, end=east_n, profile="car").meters == pytest.approx(
        street, rel=1e-3
    )
    assert route_between(start=east_n, end=west_n, profile="bike").meters == pytest.approx(
        street, rel=1e-3
    )
    assert route_between(start=east_n, end=west_n, profile="car").meters > street + 400
    # A pedestrian street open to deliveries is driven; one that is not is walked only.
    crossing = great_circle((60.170, 24.939), (60.172, 24.939)).meters
    assert route_between(
        start=(24.939, 60.170), end=(24.939, 60.172), profile="car"
    ).meters == pytest.approx(crossing, rel=1e-3)
    closed = route_between(start=(24.9345, 60.170), end=(24.9345, 60.172), profile="car")
    assert closed.meters > crossing + 400
    assert route_between(
        start=(24.9345, 60.170), end=(24.9345, 60.172), profile="walk"
    ).meters == pytest.approx(crossing, rel=1e-3)
    # 15 km/h by default.
    assert route_between(start=west_n, end=east_n, profile="car").seconds == pytest.approx(
        street / (15 / 3.6), rel=1e-3
    )


@pytest.mark.django_db
def test_directed_profiles_never_snap_into_a_one_way_dead_end(tmp_path):
    """A place beside a dead end that can be entered but not left is placed on the main street
    for vans and bikes (so rounds can both reach and leave it); walkers use the dead end."""
    graph_import(path=van_town(tmp_path / "dead-end.osm"), name="dead end")
    net = get_network()
    door = (24.9346, 60.1686)  # 10 m from the dead end's far node, 150 m south of the main street
    walk = net.snap(*door, get_profile("walk"))
    assert walk.approach_m < 15
    for profile in ("car", "bike"):
        snap = net.snap(*door, get_profile(profile))
        assert snap.approach_m > 140, profile
        there = route_between(start=door, end=(24.948, 60.172), profile=profile)
        back = route_between(start=(24.948, 60.172), end=door, profile=profile)
        assert there.meters > 0 and back.meters > 0


@pytest.mark.django_db
def test_two_doors_on_one_street_are_routed_along_it(tmp_path):
    graph_import(path=grid_town(tmp_path / "town.osm"), name="town")
    # Two doors 10 m south of the main street, 100 m apart, far from any junction.
    a = (24.9345, 60.16991)
    b = (24.9363, 60.16991)
    route = route_between(start=a, end=b, profile="walk")
    along = great_circle((60.170, 24.9345), (60.170, 24.9363)).meters
    approaches = 2 * great_circle((60.16991, 24.9345), (60.170, 24.9345)).meters
    assert route.meters == pytest.approx(along + approaches, rel=0.01)
    coords = route.geometry.coords
    assert coords[0] == pytest.approx(a) and coords[-1] == pytest.approx(b)


@pytest.mark.django_db
def test_points_off_the_graph_and_on_islands_are_reported(tmp_path):
    graph_import(path=grid_town(tmp_path / "town.osm"), name="town")
    net = get_network()
    walk = get_profile("walk")
    with pytest.raises(OffGraphError):
        net.snap(24.939, 60.180, walk)  # 1 km from any way
    with pytest.raises(IslandError):
        net.snap(24.940, 60.1901, walk)  # beside the island footway, 2 km from the rest
    snaps = net.snap_many(np.array([24.939, 24.9345]), np.array([60.180, 60.1700]), walk)
    assert snaps.edge[0] == -1 and snaps.edge[1] >= 0


@pytest.mark.django_db
def test_route_across_disconnected_pieces_is_no_route(tmp_path, settings):
    settings.GEO_MIN_COMPONENT_NODES = 1  # let the island be snapped to
    graph_import(path=grid_town(tmp_path / "town2.osm"), name="town")
    with pytest.raises(NoRouteError):
        route_between(start=(24.9345, 60.170), end=(24.940, 60.190), profile="walk")
