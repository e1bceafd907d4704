"""The dashboard's numbers, always for a scope of neighbourhoods (``scoping.Scope``).

Every figure is a database aggregate over the rows of the scope, with the definitions the open
data share (``sharing.selectors_activity``, ``pooling.selectors.COUNTED_BATCHES``): loans and items
through their lender's or owner's membership, wanted requests through the requester's, orders,
rounds and impact through the batch's neighbourhood. Meters and grams inside; km and kg here, at the edge.

Each function reads from the database alias ``using``: the dashboard's views ask for the read
replica when there is one fit for it (``backend.replicas.on_replica``), as docs/scaling.md says.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import (
    Count,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from panel.scoping import Scope, members_of
from pooling import co2
from pooling.models import BatchImpact
from pooling.selectors import COUNTED_BATCHES, impact_meter_sums
from sharing.models import Item, Loan, WantedRequest
from sharing.selectors_activity import HANDED_OVER, first_offer_at, loans_handed_over
from sharing.taxonomy import CATEGORIES

WEEKS = 12
MONTHS = 12


@dataclass
class Table:
    slug: str
    title: Any
    columns: list[tuple[str, Any]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def values(self, key: str) -> list[Any]:
        return [row[key] for row in self.rows]


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _weeks(today: date) -> list[date]:
    last = _week_start(today)
    return [last - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]


def _months(today: date) -> list[date]:
    first = today.replace(day=1)
    months = [first]
    while len(months) < MONTHS:
        previous = (months[0] - timedelta(days=1)).replace(day=1)
        months.insert(0, previous)
    return months


def _as_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _scoped(queryset: QuerySet[Any], scope: Scope, user_field: str) -> QuerySet[Any]:
    if scope is None:
        return queryset
    return queryset.filter(members_of(scope, user_field=user_field))


# --- lending -------------------------------------------------------------------------------------


def loans_weekly(
    scope: Scope, *, today: date | None = None, using: str = DEFAULT_DB_ALIAS
) -> Table:
    """Loans handed over per week (by the week they started), with the distinct lenders and
    borrowers of those loans."""
    weeks = _weeks(today or timezone.localdate())
    since = timezone.make_aware(datetime.combine(weeks[0], datetime.min.time()))
    loans = (
        _scoped(loans_handed_over(using=using), scope, "lender_id")
        .filter(starts_at__gte=since)
        .annotate(week=TruncWeek("starts_at"))
        .values("week")
        .annotate(
            loans=Count("pk"),
            lenders=Count("lender_id", distinct=True),
            borrowers=Count("borrower_id", distinct=True),
        )
    )
    by_week = {_as_date(row["week"]): row for row in loans}
    rows = []
    for week in weeks:
        row = by_week.get(week, {})
        rows.append(
            {
                "week": week.isoformat(),
                "loans": row.get("loans", 0),
                "lenders": row.get("lenders", 0),
                "borrowers": row.get("borrowers", 0),
            }
        )
    return Table(
        slug="loans",
        title=_("Loans per week"),
        columns=[
            ("week", _("Week of")),
            ("loans", _("Loans handed over")),
            ("lenders", _("Active lenders")),
            ("borrowers", _("Active borrowers")),
        ],
        rows=rows,
    )


def items_by_category(scope: Scope, *, using: str = DEFAULT_DB_ALIAS) -> Table:
    """Items that can be borrowed now, per category."""
    counts = dict(
        _scoped(Item.objects.using(using), scope, "owner_id")
        .filter(status=Item.Status.ACTIVE)
        .values("category")
        .annotate(n=Count("pk"))
        .values_list("category", "n")
    )
    rows = [
        {"category": key, "label": str(label), "items": counts.get(key, 0)}
        for key, label in CATEGORIES.items()
        if counts.get(key, 0)
    ]
    rows.sort(key=lambda row: (-row["items"], row["label"]))
    return Table(
        slug="items",
        title=_("Items by category"),
        columns=[("label", _("Category")), ("items", _("Items available"))],
        rows=rows,
    )


def wanted_weekly(
    scope: Scope, *, today: date | None = None, using: str = DEFAULT_DB_ALIAS
) -> Table:
    """Wanted requests per week (by the week they were posted), how many got an offer, and the
    median time to the first offer."""
    weeks = _weeks(today or timezone.localdate())
    since = timezone.make_aware(datetime.combine(weeks[0], datetime.min.time()))
    wanted = (
        _scoped(WantedRequest.objects.using(using), scope, "requester_id")
        .filter(created_at__gte=since)
        .annotate(week=TruncWeek("created_at"), first_offer=first_offer_at())
        .values_list("week", "created_at", "first_offer")
    )
    posted: dict[date, int] = {}
    delays: dict[date, list[float]] = {}
    for week, created_at, first_offer in wanted:
        key = _as_date(week)
        posted[key] = posted.get(key, 0) + 1
        if first_offer is not None:
            delays.setdefault(key, []).append((first_offer - created_at).total_seconds() / 3600)
    rows = []
    for week in weeks:
        answered = delays.get(week, [])
        rows.append(
            {
                "week": week.isoformat(),
                "requests": posted.get(week, 0),
                "answered": len(answered),
                "median_hours": round(statistics.median(answered), 1) if answered else "",
            }
        )
    return Table(
        slug="wanted",
        title=_("Wanted requests answered"),
        columns=[
            ("week", _("Week of")),
            ("requests", _("Requests posted")),
            ("answered", _("Answered by an offer")),
            ("median_hours", _("Median hours to the first offer")),
        ],
        rows=rows,
    )


# --- pooling -------------------------------------------------------------------------------------


def impact_monthly(
    scope: Scope, *, today: date | None = None, using: str = DEFAULT_DB_ALIAS
) -> Table:
    """Per month: batches, orders pooled, rounds, vehicle-km and CO2 of the plans against the two
    baselines (each carrier's own van round; one trip per parcel), and what was saved."""
    months = _months(today or timezone.localdate())
    impacts = BatchImpact.objects.using(using).filter(
        batch__status__in=COUNTED_BATCHES, day__gte=months[0]
    )
    if scope is not None:
        impacts = impacts.filter(batch__neighbourhood_id__in=scope)
    fields = (
        "orders",
        "parcels",
        "rounds",
        "vehicle_meters",
        "co2_grams",
        "per_carrier_meters",
        "per_carrier_co2_grams",
        "per_parcel_meters",
        "per_parcel_co2_grams",
    )
    sums = {
        _as_date(row["month"]): row
        for row in impacts.annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(**impact_meter_sums(), batches=Count("pk"), **{f: Sum(f) for f in fields})
    }
    rows = []
    for month in months:
        row = sums.get(month, {})
        v = {f: int(row.get(f) or 0) for f in fields}
        ranges = co2.impact_co2_of_sums(row)
        rows.append(
            {
                "month": month.strftime("%Y-%m"),
                "batches": row.get("batches", 0),
                "orders": v["orders"],
                "parcels": v["parcels"],
                "rounds": v["rounds"],
                "km": round(v["vehicle_meters"] / 1000, 1),
                "per_carrier_km": round(v["per_carrier_meters"] / 1000, 1),
                "per_parcel_km": round(v["per_parcel_meters"] / 1000, 1),
                "km_saved": round((v["per_carrier_meters"] - v["vehicle_meters"]) / 1000, 1),
                "co2_kg": round(v["co2_grams"] / 1000, 1),
                "co2_kg_low": _kg(ranges.pooled.low),
                "co2_kg_high": _kg(ranges.pooled.high),
                "per_carrier_co2_kg": round(v["per_carrier_co2_grams"] / 1000, 1),
                "per_carrier_co2_kg_low": _kg(ranges.per_carrier.low),
                "per_carrier_co2_kg_high": _kg(ranges.per_carrier.high),
                "per_parcel_co2_kg": round(v["per_parcel_co2_grams"] / 1000, 1),
                "co2_saved_kg": round((v["per_carrier_co2_grams"] - v["co2_grams"]) / 1000, 1),
                "co2_saved_kg_low": _kg(ranges.saved_vs_per_carrier.low),
                "co2_saved_kg_high": _kg(ranges.saved_vs_per_carrier.high),
            }
        )
    return Table(
        slug="impact",
        title=_("Orders pooled, rounds, km and CO2 per month"),
        columns=[
            ("month", _("Month")),
            ("batches", _("Days planned")),
            ("orders", _("Orders pooled")),
            ("parcels", _("Parcels")),
            ("rounds", _("Rounds")),
            ("km", _("km driven (pooled rounds)")),
            ("per_carrier_km", _("km, each carrier alone")),
            ("per_parcel_km", _("km, one trip per parcel")),
            ("km_saved", _("km saved")),
            ("co2_kg", _("kg CO2e (pooled rounds)")),
            ("co2_kg_low", _("low estimate")),
            ("co2_kg_high", _("high estimate")),
            ("per_carrier_co2_kg", _("kg CO2e, each carrier alone")),
            ("per_carrier_co2_kg_low", _("low estimate")),
            ("per_carrier_co2_kg_high", _("high estimate")),
            ("per_parcel_co2_kg", _("kg CO2e, one trip per parcel")),
            ("co2_saved_kg", _("kg CO2e saved")),
            ("co2_saved_kg_low", _("low estimate")),
            ("co2_saved_kg_high", _("high estimate")),
        ],
        rows=rows,
    )


def totals(scope: Scope, *, using: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    """The headline figures above the charts."""
    impacts = BatchImpact.objects.using(using).filter(batch__status__in=COUNTED_BATCHES)
    if scope is not None:
        impacts = impacts.filter(batch__neighbourhood_id__in=scope)
    sums = impacts.aggregate(
        **impact_meter_sums(),
        orders=Sum("orders"),
        vehicle=Sum("vehicle_meters"),
        baseline=Sum("per_carrier_meters"),
        co2=Sum("co2_grams"),
        co2_baseline=Sum("per_carrier_co2_grams"),
        co2_grams=Sum("co2_grams"),
        per_carrier_co2_grams=Sum("per_carrier_co2_grams"),
        per_parcel_co2_grams=Sum("per_parcel_co2_grams"),
    )
    saved = co2.impact_co2_of_sums(sums).saved_vs_per_carrier
    loans = _scoped(Loan.objects.using(using), scope, "lender_id")
    return {
        "items": _scoped(Item.objects.using(using), scope, "owner_id")
        .filter(status=Item.Status.ACTIVE)
        .count(),
        "loans": loans.filter(status__in=HANDED_OVER).count(),
        "disputes": loans.filter(status=Loan.Status.DISPUTED).count(),
        "orders_pooled": int(sums["orders"] or 0),
        "km_saved": round(((sums["baseline"] or 0) - (sums["vehicle"] or 0)) / 1000, 1),
        "co2_saved_kg": round(((sums["co2_baseline"] or 0) - (sums["co2"] or 0)) / 1000, 1),
        "co2_saved_kg_low": _kg(saved.low),
        "co2_saved_kg_high": _kg(saved.high),
        "open_reports": _open_reports(scope, using=using),
    }


def _kg(grams: int) -> float:
    return round(grams / 1000, 1)


def _open_reports(scope: Scope, *, using: str = DEFAULT_DB_ALIAS) -> int:
    from sharing.models import Report

    reports = Report.objects.using(using).filter(status=Report.Status.OPEN)
    if scope is not None:
        reports = reports.filter(neighbourhood_id__in=scope)
    return reports.count()


def dashboard_tables(
    scope: Scope, *, today: date | None = None, using: str = DEFAULT_DB_ALIAS
) -> dict[str, Table]:
    tables = [
        loans_weekly(scope, today=today, using=using),
        items_by_category(scope, using=using),
        wanted_weekly(scope, today=today, using=using),
        impact_monthly(scope, today=today, using=using),
    ]
    return {table.slug: table for table in tables}


__all__ = ["COUNTED_BATCHES", "HANDED_OVER", "Q", "Table", "dashboard_tables", "totals"]
