"""Parcels delivered through pooled rounds, and their share of what pooling saved: the one rule
behind a person's impact (``GET /me/impact``, ``pooling.selectors.impact_of_resident``) and a
neighbourhood's month in the association's open data (opendata/).

An order was delivered through a pooled round when its active assignment ended delivered
(``DELIVERED``); it was delivered at ``Order.delivered_at`` (set with that outcome, at the door
or when the resident took it at the relay point).

A batch saves the carriers' own rounds (baseline (b), ``per_carrier_*`` of its ``BatchImpact``)
minus its pooled rounds, in meters and CO2e grams. The saving is shared per parcel over the
parcels the plan served (``BatchImpact.parcels``): an order of 2 parcels in a batch of 40 gets
2/40 of it, once delivered. The parts of parcels that failed or were released go to nobody, so a
figure never moves with somebody else's delivery. A batch whose pooled rounds drove more than the
carriers would have gives a negative part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from pooling import co2
from pooling.models import Assignment, Parcel

# An order delivered through a pooled round: its assignment (still its own) ended delivered.
DELIVERED = Q(outcome=Assignment.Outcome.DELIVERED, released_at__isnull=True)

# What each delivered order brings, in this order (``DeliveredShare.add``).
_ROW = (
    "order_parcels",
    "batch__impact__parcels",
    "batch__impact__per_carrier_meters",
    "batch__impact__vehicle_meters",
    "batch__impact__per_carrier_co2_grams",
    "batch__impact__co2_grams",
    "batch__impact__by_vehicle",
    "batch__impact__baseline_vehicle",
)


@dataclass
class DeliveredShare:
    """Delivered orders and parcels, and their shares of their batches' savings."""

    orders: int = 0
    parcels: int = 0
    meters_saved: float = 0.0
    grams_saved: float = 0.0
    # The shares of each mode's meters, baseline and plan: the range of the CO2 saved comes from
    # these with the factors' ranges, as for a batch (pooling.co2).
    baseline_meters: dict[str, float] = field(default_factory=dict)
    plan_meters: dict[str, float] = field(default_factory=dict)

    def add(self, row: Iterable[Any]) -> None:
        own, planned, carrier_m, pooled_m, carrier_g, pooled_g, by_vehicle, baseline = row
        self.orders += 1
        self.parcels += own or 0
        if not planned:  # a batch planned before impacts were stored has no figures to share
            return
        share = (own or 0) / planned
        self.meters_saved += share * (carrier_m - pooled_m)
        self.grams_saved += share * (carrier_g - pooled_g)
        self.baseline_meters[baseline] = self.baseline_meters.get(baseline, 0.0) + share * carrier_m
        for mode, m in co2.plan_meters(by_vehicle or {}).items():
            self.plan_meters[mode] = self.plan_meters.get(mode, 0.0) + share * m

    def co2_saved(self) -> co2.Co2Range:
        """CO2e grams saved: the stored central figures' shares, the range from the distances."""
        return co2.with_central(
            co2.co2_saved(self.baseline_meters, self.plan_meters), round(self.grams_saved)
        )


def delivered_assignments(*, using: str = DEFAULT_DB_ALIAS) -> QuerySet[Assignment]:
    """Assignments of orders delivered through a pooled round, each with its order's parcels."""
    parcels = (
        Parcel.objects.filter(order=OuterRef("order_id"))
        .order_by()
        .values("order")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Assignment.objects.using(using).filter(DELIVERED).annotate(order_parcels=Subquery(parcels))
    )


def delivered_share(assignments: QuerySet[Assignment]) -> DeliveredShare:
    """The share of the delivered ``assignments`` (from ``delivered_assignments``): one query."""
    share = DeliveredShare()
    for row in assignments.values_list(*_ROW):
        share.add(row)
    return share


def delivered_by_neighbourhood(
    *,
    neighbourhood_ids: list[int],
    since: datetime,
    until: datetime,
    using: str = DEFAULT_DB_ALIAS,
) -> dict[int, DeliveredShare]:
    """For each of ``neighbourhood_ids`` (the neighbourhood of the batch that delivered), the
    orders delivered in ``[since, until)`` through a pooled round and their share of the
    savings; one query."""
    out = {n: DeliveredShare() for n in neighbourhood_ids}
    rows = (
        delivered_assignments(using=using)
        .filter(
            batch__neighbourhood_id__in=neighbourhood_ids,
            order__delivered_at__gte=since,
            order__delivered_at__lt=until,
        )
        .values_list("batch__neighbourhood_id", *_ROW)
    )
    for neighbourhood_id, *row in rows:
        out[neighbourhood_id].add(row)
    return out
