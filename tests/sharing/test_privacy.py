from __future__ import annotations

import math

import numpy as np
import pytest
from django.contrib.gis.geos import Point

from geo.privacy import METERS_PER_DEGREE_LAT, blur_cell, blurred_point

pytestmark = pytest.mark.usefixtures("street_graph")


def _meters(a, b):
    dx = (a[0] - b[0]) * METERS_PER_DEGREE_LAT * math.cos(math.radians(a[1]))
    dy = (a[1] - b[1]) * METERS_PER_DEGREE_LAT
    return math.hypot(dx, dy)


def _corners_of_a_cell(lon, lat, inset_m=15.0):
    """Two points inside the blur cell of (lon, lat), near opposite corners."""
    centre = blurred_point(Point(lon, lat, srid=4326))
    half_lat = 75.0 / METERS_PER_DEGREE_LAT
    half_lon = 75.0 / (METERS_PER_DEGREE_LAT * math.cos(math.radians(centre.y)))
    f_lat = (75.0 - inset_m) / 75.0
    a = (centre.x - half_lon * f_lat, centre.y - half_lat * f_lat)
    b = (centre.x + half_lon * f_lat, centre.y + half_lat * f_lat)
    assert blur_cell(*a) == blur_cell(*b) == blur_cell(centre.x, centre.y)
    return a, b, (centre.x, centre.y)


def test_blur_is_stable_and_within_the_cell():
    rng = np.random.default_rng(5)
    for lon, lat in zip(
        rng.uniform(24.92, 24.96, 200), rng.uniform(60.16, 60.18, 200), strict=True
    ):
        c1 = blurred_point(Point(lon, lat, srid=4326))
        c2 = blurred_point(Point(lon, lat, srid=4326))
        assert (c1.x, c1.y) == (c2.x, c2.y)
        assert _meters((lon, lat), (c1.x, c1.y)) <= 75 * math.sqrt(2) + 0.5


def test_trilateration_cannot_place_a_home_closer_than_its_cell(
    make_resident, make_item, client_for
):
    """An attacker queries nearby items from a grid of 64 positions, reading the coarse minutes
    and places, then estimates each lender's home. Two lenders living at opposite corners of one
    cell get identical answers to every query, so no estimate can tell them apart: whatever it
    is, it misses one of them by at least half their distance."""
    a, b, centre = _corners_of_a_cell(24.9420, 60.1690)
    assert _meters(a, b) > 150
    lender_a = make_resident(a, name="A")
    lender_b = make_resident(b, name="B")
    item_a = make_item(owner=lender_a, title="Raclette alpha", category="kitchen")
    item_b = make_item(owner=lender_b, title="Raclette beta", category="kitchen")
    attacker = client_for(make_resident((24.9384, 60.1699), name="Mallory"))

    origins = [
        (lon, lat)
        for lon in np.linspace(24.934, 24.950, 8)
        for lat in np.linspace(60.165, 60.173, 8)
    ]
    answers: dict[int, list[tuple[int, tuple[float, float]] | None]] = {
        item_a.pk: [],
        item_b.pk: [],
    }
    for lon, lat in origins:
        body = attacker.get(
            "/api/v1/items/nearby", {"minutes": 30, "at": f"{lat},{lon}", "category": "kitchen"}
        ).json()
        seen = {
            row["id"]: (row["travel_minutes"], tuple(row["location"]["coordinates"]))
            for row in body["results"]
        }
        for pk in answers:
            answers[pk].append(seen.get(pk))
    assert sum(1 for x in answers[item_a.pk] if x) > 40  # the attacker did learn something
    # Indistinguishable: the same minutes and the same place from every position.
    assert answers[item_a.pk] == answers[item_b.pk]
    for answer in answers[item_a.pk]:
        if answer:
            assert answer[1] == pytest.approx(centre)

    def estimate(rows):
        # Least-squares trilateration: weight the origins by how close the item says it is.
        pts = np.array([o for o, r in zip(origins, rows, strict=True) if r])
        mins = np.array([r[0] for r in rows if r], dtype=float)
        weights = 1.0 / mins**2
        return tuple((pts * weights[:, None]).sum(axis=0) / weights.sum())

    est_a, est_b = estimate(answers[item_a.pk]), estimate(answers[item_b.pk])
    assert est_a == est_b
    assert max(_meters(est_a, a), _meters(est_b, b)) >= _meters(a, b) / 2 - 1e-6
