from __future__ import annotations

import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from geo.network import IslandError, NoRouteError, OffGraphError
from geo.selectors import crowfly_nearby, nearby_by_travel_time, nearby_ids, route_between, rows_for

ORIGIN = Point(24.9384, 60.1699, srid=4326)


@pytest.fixture
def residents(street_graph):
    rng = np.random.default_rng(3)
    lons = rng.uniform(24.925, 24.955, 120)
    lats = rng.uniform(60.160, 60.175, 120)
    User.objects.bulk_create(
        User(email=f"r{i}@example.org", home=Point(float(x), float(y), srid=4326))
        for i, (x, y) in enumerate(zip(lons, lats, strict=True))
    )
    return User.objects.filter(email__startswith="r")


@pytest.mark.parametrize("profile", ["walk", "wheelchair", "bike"])
def test_nearby_agrees_with_one_route_per_row(residents, profile):
    minutes = 6
    found = nearby_by_travel_time(
        origin=ORIGIN, seconds=minutes * 60, profile=profile, queryset=residents, field="home"
    )
    assert found, "some residents live within six minutes"
    secs = [row.travel_seconds for row in found]
    assert secs == sorted(secs)
    found_ids = {row.pk for row in found}
    for row in residents:
        try:
            route = route_between(
                start=(ORIGIN.x, ORIGIN.y), end=(row.home.x, row.home.y), profile=profile
            )
        except (OffGraphError, IslandError, NoRouteError):
            assert row.pk not in found_ids
            continue
        if row.pk in found_ids:
            match = next(r for r in found if r.pk == row.pk)
            assert match.travel_seconds == pytest.approx(route.seconds, abs=0.01)
        else:
            assert route.seconds > minutes * 60 - 0.01


def test_walking_set_is_within_the_crowfly_set(residents):
    walking = nearby_by_travel_time(
        origin=ORIGIN, seconds=600, profile="walk", queryset=residents, field="home"
    )
    crow = crowfly_nearby(origin=ORIGIN, meters=600 * 5 / 3.6, queryset=residents, field="home")
    assert {r.pk for r in walking} <= {r.pk for r in crow}
    assert len(walking) < len(crow)  # streets are longer than straight lines


def test_query_count_does_not_depend_on_page_size(residents):
    counts = []
    for page in (1, 5, 50):
        with CaptureQueriesContext(connection) as ctx:
            reachable = nearby_ids(
                origin=ORIGIN, seconds=600, profile="walk", queryset=residents, field="home"
            )
            rows = rows_for(residents, reachable, 0, page)
        assert len(rows) == min(page, len(reachable))
        counts.append(len(ctx.captured_queries))
    assert len(set(counts)) == 1


def test_origin_off_the_graph_is_reported(residents):
    with pytest.raises(OffGraphError):
        nearby_ids(
            origin=Point(2.35, 48.85, srid=4326),
            seconds=600,
            profile="walk",
            queryset=residents,
            field="home",
        )
