"""Restating the stored CO2 of planned batches after the factor table changed.

A ``BatchImpact`` keeps the distances of its plan per vehicle and of its baselines; its CO2 grams
(central figures) were computed with the central factors of the day it was planned. When the
factors change (``POOLING_CO2_FACTORS``, docs/pooling.md), every stored figure is computed again
from the distances, so that a month sums figures of one method and each figure sits inside the
range the dashboard and the APIs derive from the same distances.
"""

from __future__ import annotations

from django.db import transaction

from pooling import co2
from pooling.models import BatchImpact

FIELDS = ["by_vehicle", "co2_grams", "per_carrier_co2_grams", "per_parcel_co2_grams"]


def impact_co2_restate(*, chunk: int = 500) -> int:
    """Restate every stored ``BatchImpact``'s CO2 with today's central factors; returns how many
    rows changed. One transaction per chunk of rows, in primary-key order."""
    changed = 0
    last = 0
    while True:
        with transaction.atomic():
            rows = list(
                BatchImpact.objects.select_for_update().filter(pk__gt=last).order_by("pk")[:chunk]
            )
            if not rows:
                return changed
            dirty = []
            for row in rows:
                figures = co2.restated(row)
                if any(getattr(row, f) != figures[f] for f in FIELDS):
                    for f in FIELDS:
                        setattr(row, f, figures[f])
                    dirty.append(row)
            BatchImpact.objects.bulk_update(dirty, FIELDS)
            changed += len(dirty)
            last = rows[-1].pk
