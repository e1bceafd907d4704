"""Nothing published singles out a person: a newly arrived member's activity (1 to 4 actions in a
month, the rest of the neighbourhood doing exactly what it did the month before) cannot be read
from the published figures of the two months.

The attacker reads two published values of a count, before and after the newcomer's month, and
asks which numbers of actions k (1 to 4) some background count b, the same in both months,
explains: ``publish(b) == before`` and ``publish(b + k) == after``. The rules hold when every k
stays possible, whatever b and k were. A candidate b is never more than 4 from the true one (a
published value stands for 5 consecutive counts at most), so a window of 10 either side of it
holds every candidate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opendata.disclosure import (
    BASE,
    THRESHOLD,
    count_interval,
    protect_count,
    protect_magnitude,
)
from opendata.models import COUNTS
from tests.neighbourhoods.factories import AssociationFactory
from tests.opendata.world import (
    at,
    delivered,
    loans,
    member,
    neighbourhood,
    pooled_day,
    wanted_answered,
)

ACTIONS = {1, 2, 3, 4}


def readable(
    publish: Callable[[int], int | None], background: int, k: int
) -> tuple[set[int], int | None, int | None]:
    """The numbers of actions the published pair of two months is consistent with."""
    before, after = publish(background), publish(background + k)
    window = range(max(0, background - 10), background + 11)
    possible = {
        guess
        for guess in ACTIONS
        if any(publish(b) == before and publish(b + guess) == after for b in window)
    }
    return possible, before, after


@given(background=st.integers(min_value=0, max_value=100_000), k=st.integers(1, 4))
def test_two_published_months_are_consistent_with_any_activity_of_one_to_four(background, k):
    possible, _before, _after = readable(protect_count, background, k)
    assert possible == ACTIONS


def test_every_small_background_and_activity():
    for background in range(0, 300):
        for k in ACTIONS:
            assert readable(protect_count, background, k)[0] == ACTIONS, (background, k)


def test_the_check_finds_the_leak_of_rounding_to_the_nearest_five():
    """The check is not empty: rounding to the nearest multiple (secret under 5) leaks. 4 then 8
    publishes secret then 10, which only 4 actions explain."""

    def nearest(count: int) -> int | None:
        return None if count < THRESHOLD else BASE * round(count / BASE)

    possible, before, after = readable(nearest, 4, 4)
    assert (before, after) == (None, 10)
    assert possible == {4}


@given(count=st.integers(min_value=0, max_value=100_000))
def test_a_published_count_stands_for_five_counts(count):
    published = protect_count(count)
    assert count in count_interval(published)
    assert len(count_interval(published)) == BASE
    assert published is None or (published % BASE == 0 and published >= THRESHOLD)
    assert (published is None) == (count < THRESHOLD)


@given(
    count=st.integers(min_value=0, max_value=10_000),
    mean=st.floats(min_value=-50, max_value=50, allow_nan=False),
)
def test_a_magnitude_tells_no_more_of_its_count_than_the_published_count(count, mean):
    """km saved by ``count`` parcels: secret with them, else the mean per parcel times the
    published count (so km / mean gives the published count back, never the exact one)."""
    published = protect_count(count)
    km = protect_magnitude(mean * count, count=count, published=published)
    if published is None:
        assert km is None
    else:
        assert km is not None
        assert float(km) == pytest.approx(mean * published, abs=0.05 + 1e-9 * abs(mean * count))


# --- the same, through the real computation and the published file -------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("background", "k"), [(3, 1), (4, 4), (6, 4), (9, 1), (12, 3)])
def test_a_newcomers_month_cannot_be_read_from_the_published_files(
    background, k, api_client, settings
):
    """February: ``background`` residents each lend once, have a wanted request answered and a
    parcel delivered. March: the same, and a newcomer (joined on 3 March) does each k times."""
    from opendata.services import month_compute

    association = AssociationFactory(name="Voisins du Centre", open_data_publish=True)
    centre = neighbourhood(association, "Centre")
    residents = [member(centre) for _ in range(background)]
    newcomer = member(centre, joined=at(date(2026, 3, 3)))
    for month, extra in ((date(2026, 2, 1), 0), (date(2026, 3, 1), k)):
        day = month.replace(day=10)
        batch = pooled_day(
            centre,
            day=day,
            planned_parcels=background + extra,
            carrier_meters=2_000 * (background + extra),
            pooled_meters=700 * (background + extra),
        )
        for resident in residents:
            loans(resident, 1, starts=at(day))
            wanted_answered(resident, 1, first_offer=at(day))
            delivered(batch, resident, parcels=1, at_time=at(day, 15))
        if extra:
            loans(newcomer, extra, starts=at(day))
            wanted_answered(newcomer, extra, first_offer=at(day))
            delivered(batch, newcomer, parcels=extra, at_time=at(day, 15))
    for month in (date(2026, 2, 1), date(2026, 3, 1)):
        month_compute(association_id=association.pk, month=month, now=at(date(2026, 4, 5)))

    answer = api_client.get(f"/api/v1/open-data/{association.slug}/figures.json")
    assert answer.status_code == 200
    february, march = answer.json()["figures"]
    assert (february["period"], march["period"]) == ("2026-02", "2026-03")
    for field in COUNTS:
        assert february[field] == protect_count(background), field
        assert march[field] == protect_count(background + k), field
        possible, _b, _a = readable(protect_count, background, k)
        assert possible == ACTIONS, field
    # km and CO2 come with the parcels, or not at all.
    for row in (february, march):
        assert (row["km_saved"] is None) == (row["parcels_pooled"] is None)
