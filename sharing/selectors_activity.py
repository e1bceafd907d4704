"""Lending counted per neighbourhood and period: the one definition of each figure that the
panel's dashboard (panel/stats.py) and the association's open data (opendata/) show.

- A loan *happened* when the item changed hands (``HANDED_OVER``); it *started* at the start of
  its agreed period (``lower(period)``).
- An object was *shared* in a period when a loan that happened held it during the period (its
  agreed period overlaps it): each object once, however many loans it had.
- A wanted request was *answered* when its first offer came (``first_offer_at``), whatever became
  of the offer.

Rows belong to a neighbourhood through their person's membership (the lender's, the requester's),
by ``neighbourhoods.selectors.members_of``'s rule: a person in two neighbourhoods counts in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import DateTimeField, F, Func, OuterRef, QuerySet, Subquery
from psycopg.types.range import Range

from neighbourhoods.selectors import count_per_member_neighbourhood
from sharing.models import Loan, Offer, WantedRequest

# Loans that happened: the item changed hands.
HANDED_OVER = (
    Loan.Status.ACTIVE,
    Loan.Status.RETURNED,
    Loan.Status.CLOSED,
    Loan.Status.DISPUTED,
)


class LowerBound(Func):
    """``lower(range)``: where a range starts."""

    function = "lower"
    output_field = DateTimeField()


def loans_handed_over(*, using: str = DEFAULT_DB_ALIAS) -> QuerySet[Any]:
    """Loans that happened, each with ``starts_at``, the start of its agreed period."""
    return (
        Loan.objects.using(using)
        .filter(status__in=HANDED_OVER)
        .annotate(starts_at=LowerBound(F("period")))
    )


def first_offer_at() -> Subquery:
    """When a wanted request (the outer row) got its first offer: null while it has none."""
    return Subquery(
        Offer.objects.filter(wanted=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
    )


@dataclass(frozen=True)
class LendingFigures:
    loans: int = 0
    objects_shared: int = 0
    wanted_answered: int = 0


def lending_by_neighbourhood(
    *,
    neighbourhood_ids: list[int],
    since: datetime,
    until: datetime,
    using: str = DEFAULT_DB_ALIAS,
) -> dict[int, LendingFigures]:
    """For each of ``neighbourhood_ids``, over ``[since, until)``: the loans that started, the
    objects shared and the wanted requests answered (the module's docstring defines each). Three
    queries, whatever the number of neighbourhoods."""
    handed_over = loans_handed_over(using=using)
    loans = count_per_member_neighbourhood(
        handed_over.filter(starts_at__gte=since, starts_at__lt=until),
        person="lender",
        neighbourhood_ids=neighbourhood_ids,
    )
    objects = count_per_member_neighbourhood(
        handed_over.filter(period__overlap=Range(since, until, "[)")),
        person="lender",
        neighbourhood_ids=neighbourhood_ids,
        distinct="item_id",
    )
    wanted = count_per_member_neighbourhood(
        WantedRequest.objects.using(using)
        .annotate(first_offer=first_offer_at())
        .filter(first_offer__gte=since, first_offer__lt=until),
        person="requester",
        neighbourhood_ids=neighbourhood_ids,
    )
    return {
        n: LendingFigures(
            loans=loans.get(n, 0),
            objects_shared=objects.get(n, 0),
            wanted_answered=wanted.get(n, 0),
        )
        for n in neighbourhood_ids
    }
