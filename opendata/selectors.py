"""Reads of the open data: calendar months, a month's exact figures (before any disclosure
control, for ``services.month_compute`` only), and what is published.

A month is a calendar month in ``TIME_ZONE``. It is *closed* once its last day is over: only
closed months are ever computed, never the running one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Max, Min, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.errors import DomainError
from neighbourhoods.models import Association
from opendata.errors import OpenDataNotPublishedError
from opendata.models import Co2FactorTable, MonthFigure, PublishedMonth
from pooling.co2 import Co2Range
from pooling.deliveries import delivered_by_neighbourhood
from sharing.selectors_activity import lending_by_neighbourhood

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# --- calendar months ------------------------------------------------------------------------------


def month_parse(value: str) -> date:
    """``"2026-03"`` -> the first day of that month; anything else is refused."""
    match = _PERIOD.match(value.strip())
    if match is None or int(match.group(1)) < 2000:
        raise DomainError(
            _("A month is written YYYY-MM, for instance 2026-03."), code="invalid_month"
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_next(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """``[since, until)``: the month's first instant and the next month's, in TIME_ZONE."""
    tz = timezone.get_default_timezone()
    since = datetime.combine(month, time.min, tzinfo=tz)
    until = datetime.combine(month_next(month), time.min, tzinfo=tz)
    return since, until


def month_last_closed(today: date | None = None) -> date:
    """The month before the running one (``today`` in TIME_ZONE)."""
    today = today or timezone.localdate()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_is_closed(month: date, today: date | None = None) -> bool:
    return month <= month_last_closed(today)


# --- a month's exact figures -------------------------------------------------------------------


@dataclass(frozen=True)
class ExactFigures:
    """One neighbourhood's month as counted, before disclosure control: never published as is."""

    neighbourhood_id: int
    neighbourhood_name: str
    loans: int
    objects_shared: int
    wanted_answered: int
    parcels_pooled: int
    # Saved by those parcels (their share of their batches' savings, pooling.deliveries).
    meters_saved: float
    co2_grams_saved: Co2Range


def month_exact_figures(
    association: Association, month: date, *, using: str = DEFAULT_DB_ALIAS
) -> list[ExactFigures]:
    """Each neighbourhood of ``association`` that existed before the month ended, with its
    month's figures as the domains define them (``sharing.selectors_activity``,
    ``pooling.deliveries``). Four queries plus one, whatever the number of neighbourhoods."""
    since, until = month_bounds(month)
    neighbourhoods = list(
        association.neighbourhoods.using(using)
        .filter(created_at__lt=until)
        .order_by("pk")
        .values_list("pk", "name")
    )
    ids = [pk for pk, _name in neighbourhoods]
    lending = lending_by_neighbourhood(neighbourhood_ids=ids, since=since, until=until, using=using)
    delivered = delivered_by_neighbourhood(
        neighbourhood_ids=ids, since=since, until=until, using=using
    )
    return [
        ExactFigures(
            neighbourhood_id=pk,
            neighbourhood_name=name,
            loans=lending[pk].loans,
            objects_shared=lending[pk].objects_shared,
            wanted_answered=lending[pk].wanted_answered,
            parcels_pooled=delivered[pk].parcels,
            meters_saved=delivered[pk].meters_saved,
            co2_grams_saved=delivered[pk].co2_saved(),
        )
        for pk, name in neighbourhoods
    ]


# --- what is published -----------------------------------------------------------------------------


def publishing_associations() -> QuerySet[Association]:
    """The associations that chose to publish, by name."""
    return Association.objects.filter(open_data_publish=True).order_by("name")


@dataclass(frozen=True)
class Dataset:
    """An association's published figures: its months (oldest first) with their rows (by
    neighbourhood id) and the factor tables they were computed with."""

    association: Association
    months: list[PublishedMonth]
    factor_tables: list[Co2FactorTable]

    @property
    def figures(self) -> list[tuple[PublishedMonth, MonthFigure]]:
        return [(month, row) for month in self.months for row in month.figures.all()]

    @property
    def modified(self) -> datetime | None:
        return max((m.computed_at for m in self.months), default=None)


def dataset_of(slug: str) -> Dataset:
    """The published figures of the association ``slug``; refused (404) for an association that
    does not publish, as for one that does not exist. Three queries."""
    association = publishing_associations().filter(slug=slug).first()
    if association is None:
        raise OpenDataNotPublishedError()
    months = list(
        PublishedMonth.objects.filter(association=association)
        .select_related("co2_factors")
        .prefetch_related(
            Prefetch("figures", queryset=MonthFigure.objects.order_by("neighbourhood_id"))
        )
        .order_by("month")
    )
    tables = {m.co2_factors.version: m.co2_factors for m in months}
    return Dataset(
        association=association,
        months=months,
        factor_tables=[tables[v] for v in sorted(tables)],
    )


@dataclass(frozen=True)
class CatalogueEntry:
    association: Association
    first_month: date | None
    last_month: date | None
    modified: datetime | None
    factor_tables: list[Co2FactorTable]


def catalogue() -> list[CatalogueEntry]:
    """Every publishing association with the span of its published months and the factor tables
    they were computed with; four queries."""
    associations = list(publishing_associations())
    months = PublishedMonth.objects.filter(association__in=associations).order_by()
    spans = {
        row["association_id"]: row
        for row in months.values("association_id").annotate(
            first=Min("month"), last=Max("month"), modified=Max("computed_at")
        )
    }
    used = set(months.values_list("association_id", "co2_factors_id").distinct())
    tables = Co2FactorTable.objects.in_bulk({table for _a, table in used})
    return [
        CatalogueEntry(
            association=a,
            first_month=spans.get(a.pk, {}).get("first"),
            last_month=spans.get(a.pk, {}).get("last"),
            modified=spans.get(a.pk, {}).get("modified"),
            factor_tables=sorted(
                (tables[t] for assoc, t in used if assoc == a.pk), key=lambda t: t.version
            ),
        )
        for a in associations
    ]
