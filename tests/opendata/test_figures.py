"""A month's figures on a small world whose history is known: each figure as the domains define
it (exact), then as published (suppressed under 5, rounded down to a multiple of 5, km and CO2
scaled to the published parcels)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from opendata.models import MonthFigure, PublishedMonth
from opendata.selectors import month_exact_figures
from opendata.services import month_compute
from pooling import co2
from sharing.models import Loan
from tests.neighbourhoods.factories import AssociationFactory
from tests.opendata.world import (
    at,
    delivered,
    factor,
    loans,
    member,
    neighbourhood,
    pooled_day,
    published_kg,
    wanted_answered,
)
from tests.sharing.factories import ItemFactory, OfferFactory, WantedRequestFactory

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)
APRIL_10 = at(date(2026, 4, 10))


@pytest.fixture
def world():
    association = AssociationFactory(name="Voisins du Marais")
    north = neighbourhood(association, "Nord")
    south = neighbourhood(association, "Sud")
    # Created in April: not a neighbourhood of March.
    neighbourhood(association, "Ouest", created=at(date(2026, 4, 5)))
    elsewhere = neighbourhood(AssociationFactory(name="Ailleurs"), "Ailleurs")

    # --- North's lending: 10 loans started in March, 9 objects shared.
    alice, dave, frank, carol = (member(north) for _ in range(4))
    # bob belongs to South too: his loans count in both.
    bob = member(north, south)
    loans(alice, 1, starts=at(date(2026, 3, 10)), status=Loan.Status.CLOSED)
    loans(alice, 1, starts=at(date(2026, 3, 10)), status=Loan.Status.ACTIVE)
    loans(alice, 1, starts=at(date(2026, 3, 10)), status=Loan.Status.RETURNED)
    # The last half hour of March (Paris): March.
    loans(bob, 1, starts=at(date(2026, 3, 31), 23, 30), status=Loan.Status.DISPUTED)
    loans(bob, 1, starts=at(date(2026, 3, 31), 23, 30))
    # Never handed over: no loan, no object shared.
    loans(bob, 1, starts=at(date(2026, 3, 12)), status=Loan.Status.DECLINED)
    loans(bob, 1, starts=at(date(2026, 3, 12)), status=Loan.Status.CANCELLED)
    # One object lent three times: 3 loans, 1 object.
    loans(dave, 3, starts=at(date(2026, 3, 2)), item=ItemFactory(owner=dave))
    loans(frank, 2, starts=at(date(2026, 3, 20)))
    # Started in February, still lent in March: an object shared, not a loan of March.
    loans(carol, 1, starts=at(date(2026, 2, 25)), days=10)
    # The first minute of April (Paris) and February: neither.
    loans(carol, 1, starts=at(date(2026, 4, 1), 0, 0))
    loans(carol, 1, starts=at(date(2026, 2, 10)))

    # --- South's lending: erin's 4 loans and bob's 2.
    erin = member(south)
    loans(erin, 4, starts=at(date(2026, 3, 5)))
    # Another association's neighbourhood: not ours.
    loans(member(elsewhere), 7, starts=at(date(2026, 3, 5)))

    # --- Wanted requests of North answered in March: gina's 4, hugo's 2.
    gina, hugo = member(north), member(north)
    wanted_answered(gina, 3, first_offer=at(date(2026, 3, 15)))
    # Posted in February, first offer on 1 March at 00:30 (Paris): March.
    first_of_march = WantedRequestFactory(requester=gina, created_at=at(date(2026, 2, 20)))
    OfferFactory(wanted=first_of_march, created_at=at(date(2026, 3, 1), 0, 30))
    # First answered in February (a second offer in March does not make it March's).
    february = WantedRequestFactory(requester=gina, created_at=at(date(2026, 2, 20)))
    OfferFactory(wanted=february, created_at=at(date(2026, 2, 27)))
    OfferFactory(wanted=february, created_at=at(date(2026, 3, 3)))
    # Two offers in March: answered once.
    twice = WantedRequestFactory(requester=hugo, created_at=at(date(2026, 3, 2)))
    OfferFactory(wanted=twice, created_at=at(date(2026, 3, 4)))
    OfferFactory(wanted=twice, created_at=at(date(2026, 3, 5)))
    wanted_answered(hugo, 1, first_offer=at(date(2026, 3, 20)))
    # Never answered.
    WantedRequestFactory(requester=hugo, created_at=at(date(2026, 3, 2)))

    # --- Parcels: South's day of 10 March planned 10 parcels, 14 km of vans saved.
    day = pooled_day(
        south,
        day=date(2026, 3, 10),
        planned_parcels=10,
        carrier_meters=20_000,
        pooled_meters=6_000,
    )
    residents = [member(south) for _ in range(6)]
    for resident in residents[:4]:
        delivered(day, resident, parcels=2, at_time=at(date(2026, 3, 10), 15))
    # Taken at the relay point in April: April's.
    delivered(day, residents[4], parcels=1, at_time=at(date(2026, 4, 1), 9))
    # Failed: nobody's.
    delivered(day, residents[5], parcels=1, at_time=at(date(2026, 3, 10), 16), outcome="failed")
    # North's 3 parcels of 15 March.
    north_day = pooled_day(
        north, day=date(2026, 3, 15), planned_parcels=3, carrier_meters=9_000, pooled_meters=4_000
    )
    delivered(north_day, member(north), parcels=3, at_time=at(date(2026, 3, 15), 11))
    return association, north, south


def _south_saving() -> tuple[float, co2.Co2Range]:
    """South's 8 delivered parcels of 10 planned: 8/10 of the day's saving."""
    share = 8 / 10
    carrier_g = round(20_000 * factor("van"))
    pooled_g = round(6_000 * factor("cargo_bike"))
    central = round(share * (carrier_g - pooled_g))
    low = round(
        20_000 * share * factor("van", "low") - 6_000 * share * factor("cargo_bike", "high")
    )
    high = round(
        20_000 * share * factor("van", "high") - 6_000 * share * factor("cargo_bike", "low")
    )
    return share * 14_000, co2.Co2Range(central, min(low, central), max(high, central))


def test_the_exact_figures_follow_the_domains_definitions(world):
    association, north, south = world
    figures = {f.neighbourhood_name: f for f in month_exact_figures(association, MARCH)}
    assert sorted(figures) == ["Nord", "Sud"]
    n, s = figures["Nord"], figures["Sud"]
    assert (n.neighbourhood_id, s.neighbourhood_id) == (north.pk, south.pk)
    assert (n.loans, n.objects_shared, n.wanted_answered, n.parcels_pooled) == (10, 9, 6, 3)
    assert (s.loans, s.objects_shared, s.wanted_answered, s.parcels_pooled) == (6, 6, 0, 8)
    meters, grams = _south_saving()
    assert s.meters_saved == pytest.approx(meters)
    assert s.co2_grams_saved == grams
    assert n.meters_saved == pytest.approx(5_000)


def test_the_published_month_is_suppressed_and_rounded(world):
    association, north, south = world
    month = month_compute(association_id=association.pk, month=MARCH, now=APRIL_10)
    assert month.month == MARCH and month.computed_at == APRIL_10
    rows = {row.neighbourhood_id: row for row in month.figures.all()}
    assert sorted(rows) == [north.pk, south.pk]
    n, s = rows[north.pk], rows[south.pk]
    assert n.neighbourhood_name == "Nord"
    # 10 -> 10, 9 -> 5, 6 -> 5; 3 parcels are secret, and their km and CO2 with them.
    assert (n.loans, n.objects_shared, n.wanted_answered, n.parcels_pooled) == (10, 5, 5, None)
    assert (n.km_saved, n.co2_saved_kg, n.co2_saved_kg_low, n.co2_saved_kg_high) == (
        None,
        None,
        None,
        None,
    )
    # 6 -> 5, 6 -> 5, 0 -> secret, 8 parcels -> 5.
    assert (s.loans, s.objects_shared, s.wanted_answered, s.parcels_pooled) == (5, 5, None, 5)
    # km and CO2: the mean per delivered parcel times the 5 published parcels.
    meters, grams = _south_saving()
    assert s.km_saved == published_kg(meters, 5, 8) == Decimal("7.0")
    assert s.co2_saved_kg == published_kg(grams.central, 5, 8)
    assert s.co2_saved_kg_low == published_kg(grams.low, 5, 8)
    assert s.co2_saved_kg_high == published_kg(grams.high, 5, 8)
    assert s.co2_saved_kg_low < s.co2_saved_kg < s.co2_saved_kg_high
    # The factor table of the month, with its sources.
    assert month.co2_factors.factors == co2.factors_public()


def test_a_month_is_computed_once_unless_forced(world):
    association, north, _south = world
    first = month_compute(association_id=association.pk, month=MARCH, now=APRIL_10)
    before = list(MonthFigure.objects.filter(published_month=first).values())
    # New history of March after it was published: the published month does not move.
    loans(member(north), 5, starts=at(date(2026, 3, 8)))
    again = month_compute(association_id=association.pk, month=MARCH, now=at(date(2026, 5, 1)))
    assert again.pk == first.pk and again.computed_at == APRIL_10
    assert list(MonthFigure.objects.filter(published_month=again).values()) == before
    # A correction by hand replaces it.
    forced = month_compute(
        association_id=association.pk, month=MARCH, force=True, now=at(date(2026, 5, 1))
    )
    assert PublishedMonth.objects.filter(association=association).count() == 1
    assert forced.figures.get(neighbourhood=north).loans == 15


@pytest.mark.parametrize(
    ("field", "value"),
    [("loans", 4), ("loans", 7), ("objects_shared", 12), ("wanted_answered", 0)],
)
def test_the_database_refuses_a_count_that_the_rules_would_not_publish(world, field, value):
    association, north, _south = world
    month = month_compute(association_id=association.pk, month=MARCH, now=APRIL_10)
    with pytest.raises(IntegrityError), transaction.atomic():
        MonthFigure.objects.filter(published_month=month, neighbourhood=north).update(
            **{field: value}
        )


def test_the_database_refuses_km_without_their_parcels(world):
    association, north, _south = world
    month = month_compute(association_id=association.pk, month=MARCH, now=APRIL_10)
    with pytest.raises(IntegrityError), transaction.atomic():
        MonthFigure.objects.filter(published_month=month, neighbourhood=north).update(
            km_saved=Decimal("3.0")
        )
    assert MonthFigure.objects.get(published_month=month, neighbourhood=north).km_saved is None


def test_the_running_month_and_a_month_to_come_are_refused(world):
    from opendata.errors import MonthNotClosedError

    association, _north, _south = world
    for month in (date(2026, 4, 1), date(2026, 5, 1)):
        with pytest.raises(MonthNotClosedError):
            month_compute(association_id=association.pk, month=month, now=APRIL_10)
    assert not PublishedMonth.objects.exists()


def test_the_first_day_of_a_closed_month_is_its_first_instant(world):
    """On 1 April at 00:00 in Paris, March is closed."""
    association, _north, _south = world
    now = at(date(2026, 4, 1), 0, 0)
    assert isinstance(now, datetime)
    assert month_compute(association_id=association.pk, month=MARCH, now=now).month == MARCH
