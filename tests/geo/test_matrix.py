"""The travel matrix: one multi-source search per profile (the planner's matrices) gives, for
every pair of points, what a search from that point gives (one-ways, the same street, points off
the graph), on the Helsinki extract."""

from __future__ import annotations

import numpy as np
import pytest

from geo.profiles import get_profile
from geo.selectors import travel_matrix, travel_matrix_arrays


def _one_search_per_point(net, snaps, profile):
    """The plain way: a graph search from each point in turn."""
    n = len(snaps)
    out = np.full((n, n), np.inf)
    for i in range(n):
        if snaps.edge[i] < 0:
            continue
        origin = snaps.one(i)
        search = net.search(origin, profile)
        eff = net.costs_to(search, snaps, profile) + snaps.approach_m + origin.approach_m
        eff[i] = 0.0
        out[i] = eff
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("profile_name", ["walk", "bike", "car"])
def test_the_matrix_equals_one_search_per_point(street_graph, profile_name):
    net = street_graph
    profile = get_profile(profile_name)
    rng = np.random.default_rng(3)
    lon0, lat0, lon1, lat1 = net.bounds
    lons = rng.uniform(lon0, lon1, 120)
    lats = rng.uniform(lat0, lat1, 120)
    # Points sharing streets: a few copies moved by a metre or so along the same edge.
    lons[100:] = lons[:20] + 1e-5
    lats[100:] = lats[:20]
    lons[5] = lon1 + 1.0  # off the graph
    snaps = net.snap_many(lons, lats, profile)

    seconds, meters = net.matrix(snaps, profile)

    want = _one_search_per_point(net, snaps, profile)
    assert np.array_equal(np.isfinite(meters), np.isfinite(want))
    finite = np.isfinite(want)
    assert np.allclose(meters[finite], want[finite], atol=1e-6)
    assert np.allclose(seconds[finite], profile.seconds(want[finite]), atol=1e-6)
    assert not np.isfinite(meters[5]).any() and not np.isfinite(meters[:, 5]).any()
    assert (np.diag(meters)[snaps.edge >= 0] == 0).all()
    if profile_name == "car":
        assert (meters != meters.T)[finite & finite.T].any()  # one-ways: not symmetric


@pytest.mark.django_db
def test_the_arrays_and_the_api_shape_agree(street_graph):
    lon0, lat0, lon1, lat1 = street_graph.bounds
    points = [(lon0 + (lon1 - lon0) * f, lat0 + (lat1 - lat0) * f) for f in (0.3, 0.5, 0.7)]
    arrays = travel_matrix_arrays(points=points, profile="bike")
    lists = travel_matrix(points=points, profile="bike")
    for i in range(3):
        for j in range(3):
            got = lists.meters[i][j]
            want = arrays.meters[i, j]
            assert (got is None) == (not np.isfinite(want))
            if got is not None:
                assert got == pytest.approx(want, abs=0.05)
    assert lists.snapped == arrays.snapped.tolist()


@pytest.mark.django_db
def test_rows_of_some_origins_and_a_bounded_walk(street_graph):
    """The planner's walks to relays: only the relays' rows, bounded by the longest walk; on a
    walking network they are the columns of the homes' rows (both ways alike)."""
    from geo.selectors import goes_both_ways

    rng = np.random.default_rng(5)
    lon0, lat0, lon1, lat1 = street_graph.bounds
    cx, cy = (lon0 + lon1) / 2, (lat0 + lat1) / 2
    points = [(cx + rng.uniform(-0.01, 0.01), cy + rng.uniform(-0.005, 0.005)) for _ in range(40)]
    full = travel_matrix_arrays(points=points, profile="walk")
    some = travel_matrix_arrays(points=points, profile="walk", origins=[3, 7], max_seconds=600)
    assert goes_both_ways("walk") and not goes_both_ways("car")
    assert not np.isfinite(np.delete(some.seconds, [3, 7], axis=0)).any()
    for i in (3, 7):
        within = full.seconds[i] <= 600
        assert np.allclose(some.seconds[i][within], full.seconds[i][within], atol=1e-6)
        assert not np.isfinite(some.seconds[i][~within]).any()
        finite = np.isfinite(full.seconds[:, i])
        assert np.allclose(full.seconds[finite, i], full.seconds[i, finite], atol=1e-6)
