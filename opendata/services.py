"""Writes of the open data: a closed month computed once into its published figures.

``month_compute`` counts the month with the domains' definitions (``selectors.
month_exact_figures``), applies the disclosure rules (``disclosure``) and keeps only what is
published. A month computed is kept as it is: computing it again returns the stored month
untouched, unless ``force`` (a correction, by hand: ``manage.py opendata_month --force``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.errors import NotFoundError
from neighbourhoods.models import Association
from opendata.disclosure import protect_count, protect_magnitude
from opendata.errors import MonthNotClosedError
from opendata.models import Co2FactorTable, MonthFigure, PublishedMonth
from opendata.selectors import (
    ExactFigures,
    month_exact_figures,
    month_is_closed,
    month_last_closed,
    month_next,
)
from pooling.co2 import factors_public


def co2_factor_table_current() -> Co2FactorTable:
    """Today's CO2 factor table, kept once per version (a digest of its content)."""
    factors = factors_public()
    digest = hashlib.sha256(
        json.dumps(factors, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    table, _created = Co2FactorTable.objects.get_or_create(
        version=digest[:12], defaults={"factors": factors}
    )
    return table


def _published(month: PublishedMonth, exact: ExactFigures) -> MonthFigure:
    parcels = protect_count(exact.parcels_pooled)
    co2 = exact.co2_grams_saved

    def derived(value: float) -> Decimal | None:
        return protect_magnitude(value, count=exact.parcels_pooled, published=parcels)

    return MonthFigure(
        published_month=month,
        neighbourhood_id=exact.neighbourhood_id,
        neighbourhood_name=exact.neighbourhood_name,
        loans=protect_count(exact.loans),
        objects_shared=protect_count(exact.objects_shared),
        wanted_answered=protect_count(exact.wanted_answered),
        parcels_pooled=parcels,
        km_saved=derived(exact.meters_saved / 1000),
        co2_saved_kg=derived(co2.central / 1000),
        co2_saved_kg_low=derived(co2.low / 1000),
        co2_saved_kg_high=derived(co2.high / 1000),
    )


@transaction.atomic
def month_compute(
    *, association_id: int, month: date, force: bool = False, now: datetime | None = None
) -> PublishedMonth:
    """The association's published figures of ``month`` (its first day), computed now if they
    were not (or again, replacing them, with ``force``). Refuses a month that is not over."""
    now = now or timezone.now()
    if month.day != 1 or not month_is_closed(month, timezone.localdate(now)):
        raise MonthNotClosedError()
    # Two runs for one association wait for each other: the month is computed once.
    association = Association.objects.select_for_update().filter(pk=association_id).first()
    if association is None:
        raise NotFoundError()
    existing = PublishedMonth.objects.filter(association=association, month=month).first()
    if existing is not None:
        if not force:
            return existing
        existing.delete()
    published = PublishedMonth.objects.create(
        association=association,
        month=month,
        co2_factors=co2_factor_table_current(),
        computed_at=now,
    )
    MonthFigure.objects.bulk_create(
        [_published(published, exact) for exact in month_exact_figures(association, month)]
    )
    return published


def months_due(association: Association, *, today: date) -> list[date]:
    """The closed months of ``association`` with no figures yet: from the month it was created,
    at most ``OPENDATA_BACKFILL_MONTHS`` back, to the last closed month."""
    last = month_last_closed(today)
    first = timezone.localtime(association.created_at).date().replace(day=1)
    floor = last
    for _n in range(max(settings.OPENDATA_BACKFILL_MONTHS, 1) - 1):
        floor = month_last_closed(floor)
    month = max(first, floor)
    done = set(
        PublishedMonth.objects.filter(association=association).values_list("month", flat=True)
    )
    due = []
    while month <= last:
        if month not in done:
            due.append(month)
        month = month_next(month)
    return due


def months_compute_due(*, now: datetime | None = None) -> int:
    """Every association's closed months not computed yet (the monthly job), each in its own
    transaction; returns how many were computed."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    computed = 0
    for association in Association.objects.order_by("pk"):
        for month in months_due(association, today=today):
            month_compute(association_id=association.pk, month=month, now=now)
            computed += 1
    return computed
