"""A month's history written as it would have happened: loans that started, wanted requests
answered, parcels delivered through pooled rounds, on given days (TIME_ZONE). The rows are bare
(factories): the services only write the present."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from neighbourhoods.models import Association, Neighbourhood
from pooling.models import Assignment, Batch, BatchImpact, Hub
from sharing.models import Item, Loan
from tests.neighbourhoods.factories import MembershipFactory, NeighbourhoodFactory
from tests.pooling.factories import HubFactory, OrderFactory
from tests.sharing.factories import (
    ItemFactory,
    LoanFactory,
    OfferFactory,
    WantedRequestFactory,
)

LONG_AGO = datetime(2025, 1, 1, tzinfo=timezone.get_default_timezone())


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` in TIME_ZONE."""
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def factor(mode: str, bound: str = "central") -> float:
    return float(settings.POOLING_CO2_FACTORS[mode][bound]["kg_co2e_per_km"])


def published_kg(grams: float, published: int, count: int) -> Decimal:
    """What ``opendata.disclosure.protect_magnitude`` publishes for ``grams`` (or meters)."""
    return (Decimal(grams / 1000) * published / count).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def neighbourhood(association: Association, name: str, created: datetime = LONG_AGO):
    """A neighbourhood of ``association`` that exists since ``created``."""
    made = NeighbourhoodFactory(association=association, name=name)
    Neighbourhood.objects.filter(pk=made.pk).update(created_at=created)
    made.refresh_from_db()
    return made


def member(*neighbourhoods: Neighbourhood, joined: datetime = LONG_AGO) -> User:
    """An active member of each of ``neighbourhoods``, with a home."""
    first = MembershipFactory(neighbourhood=neighbourhoods[0], user__with_home=True)
    for other in neighbourhoods[1:]:
        MembershipFactory(neighbourhood=other, user=first.user)
    first.user.memberships.update(created_at=joined)
    return first.user


def loans(
    lender: User,
    count: int,
    *,
    starts: datetime,
    status: str = Loan.Status.CLOSED,
    days: int = 2,
    item: Item | None = None,
) -> list[Loan]:
    """``count`` loans of ``lender`` starting at ``starts``: each of its own item, or all of
    ``item`` one after another (``days`` apart)."""
    made = []
    for n in range(count):
        if item is None:
            made.append(
                LoanFactory(
                    item=ItemFactory(owner=lender), starts_at=starts, days=days, status=status
                )
            )
        else:
            made.append(
                LoanFactory(
                    item=item,
                    starts_at=starts + timedelta(days=n * (days + 1)),
                    days=days,
                    status=status,
                )
            )
    return made


def wanted_answered(requester: User, count: int, *, first_offer: datetime) -> None:
    """``count`` wanted requests of ``requester``, each first answered at ``first_offer``."""
    for _n in range(count):
        wanted = WantedRequestFactory(
            requester=requester, created_at=first_offer - timedelta(hours=3)
        )
        OfferFactory(wanted=wanted, item__owner__with_home=True, created_at=first_offer)


def hub_of(place: Neighbourhood) -> Hub:
    return Hub.objects.filter(neighbourhood=place).first() or HubFactory(neighbourhood=place)


def pooled_day(
    place: Neighbourhood,
    *,
    day: date,
    planned_parcels: int,
    carrier_meters: int,
    pooled_meters: int,
) -> Batch:
    """A completed delivery day of ``place``: ``pooled_meters`` of cargo bike instead of
    ``carrier_meters`` of the carriers' vans, for ``planned_parcels`` parcels."""
    batch = Batch.objects.create(
        neighbourhood=place, hub=hub_of(place), day=day, status=Batch.Status.COMPLETED
    )
    BatchImpact.objects.create(
        batch=batch,
        day=day,
        orders=planned_parcels,
        parcels=planned_parcels,
        stops=planned_parcels,
        rounds=1,
        vehicle_meters=pooled_meters,
        co2_grams=round(pooled_meters * factor("cargo_bike")),
        by_vehicle={"cargo_bike": {"meters": pooled_meters, "rounds": 1}},
        per_parcel_meters=carrier_meters * 2,
        per_parcel_trips=planned_parcels,
        per_parcel_co2_grams=round(carrier_meters * 2 * factor("van")),
        per_carrier_meters=carrier_meters,
        per_carrier_rounds=2,
        per_carrier_stops=planned_parcels,
        per_carrier_co2_grams=round(carrier_meters * factor("van")),
    )
    return batch


def delivered(
    batch: Batch, resident: User, *, parcels: int, at_time: datetime, outcome: str = "delivered"
) -> None:
    """An order of ``resident`` with ``parcels`` parcels, delivered by ``batch`` at ``at_time``
    (or failed, with ``outcome="failed"``)."""
    order = OrderFactory(
        resident=resident,
        neighbourhood=batch.neighbourhood,
        status="delivered" if outcome == "delivered" else "pending",
        delivered_at=at_time if outcome == "delivered" else None,
        parcels=[("m", "light")] * parcels,
    )
    Assignment.objects.create(
        batch=batch,
        order=order,
        outcome=outcome,
        released_at=None if outcome == "delivered" else at_time,
    )
