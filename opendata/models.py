"""What the associations publish as open data: each closed month's figures per neighbourhood,
computed once (``opendata.services.month_compute``) and kept as published, so that a published
month never changes afterwards (docs/opendata.md).

Only the published values are kept: counts already suppressed or rounded
(``opendata.disclosure``), km and CO2 already derived from them. No row names a person; the exact
counts are never stored. The invariants of the disclosure rules are database constraints: a
count is secret (null) or a multiple of 5 from 5 up; km and CO2 are published with the parcels
they come from, or not at all.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Mod
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from neighbourhoods.models import Association, Neighbourhood
from opendata.disclosure import BASE, THRESHOLD

COUNTS = ("loans", "objects_shared", "wanted_answered", "parcels_pooled")
MAGNITUDES = ("km_saved", "co2_saved_kg", "co2_saved_kg_low", "co2_saved_kg_high")


class Co2FactorTable(models.Model):
    """One version of the CO2 factor table (``POOLING_CO2_FACTORS``) as some published months
    were computed with it: the factors and their sources, as ``pooling.co2.factors_public``
    gives them. ``version`` is a digest of that content: the same table, the same version."""

    version = models.CharField(max_length=12, unique=True)
    factors = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.version


class PublishedMonth(models.Model):
    """A closed month of an association, computed: its figures are the rows of ``figures``."""

    association = models.ForeignKey(
        Association,
        on_delete=models.PROTECT,
        related_name="open_data_months",
        verbose_name=_("association"),
    )
    # The first day of the calendar month (TIME_ZONE).
    month = models.DateField(_("month"))
    co2_factors = models.ForeignKey(
        Co2FactorTable, on_delete=models.PROTECT, related_name="+", verbose_name=_("CO2 factors")
    )
    computed_at = models.DateTimeField(_("computed on"))

    class Meta:
        verbose_name = _("published month")
        verbose_name_plural = _("published months")
        constraints = [
            models.UniqueConstraint(
                fields=["association", "month"], name="opendata_month_once_per_association"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="opendata_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.association_id} {self.month:%Y-%m}"


def _published_count(name: str) -> Q:
    return Q(**{f"{name}__isnull": True}) | (
        Q(**{f"{name}__gte": THRESHOLD}) & Q(Exact(Mod(F(name), BASE), 0))
    )


class MonthFigure(models.Model):
    """One neighbourhood's figures for one published month, as published (null: secret)."""

    published_month = models.ForeignKey(
        PublishedMonth, on_delete=models.CASCADE, related_name="figures"
    )
    # A neighbourhood with published figures is kept: its history is public.
    neighbourhood = models.ForeignKey(
        Neighbourhood, on_delete=models.PROTECT, related_name="+", verbose_name=_("neighbourhood")
    )
    # Its name when the month was computed: a later renaming does not change a published month.
    neighbourhood_name = models.CharField(max_length=120)
    loans = models.PositiveIntegerField(null=True)
    objects_shared = models.PositiveIntegerField(null=True)
    wanted_answered = models.PositiveIntegerField(null=True)
    parcels_pooled = models.PositiveIntegerField(null=True)
    km_saved = models.DecimalField(max_digits=12, decimal_places=1, null=True)
    co2_saved_kg = models.DecimalField(max_digits=12, decimal_places=1, null=True)
    co2_saved_kg_low = models.DecimalField(max_digits=12, decimal_places=1, null=True)
    co2_saved_kg_high = models.DecimalField(max_digits=12, decimal_places=1, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["published_month", "neighbourhood"],
                name="opendata_figure_once_per_neighbourhood",
            ),
            *(
                models.CheckConstraint(
                    condition=_published_count(name), name=f"opendata_figure_{name}_published"
                )
                for name in COUNTS
            ),
            # km and CO2 come from the parcels: published with them, secret with them.
            models.CheckConstraint(
                condition=Q(
                    parcels_pooled__isnull=True,
                    **{f"{m}__isnull": True for m in MAGNITUDES},
                )
                | Q(
                    parcels_pooled__isnull=False,
                    **{f"{m}__isnull": False for m in MAGNITUDES},
                ),
                name="opendata_figure_magnitudes_with_parcels",
            ),
            models.CheckConstraint(
                condition=Q(parcels_pooled__isnull=True)
                | Q(
                    co2_saved_kg_low__lte=F("co2_saved_kg"),
                    co2_saved_kg__lte=F("co2_saved_kg_high"),
                ),
                name="opendata_figure_co2_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.published_month} {self.neighbourhood_name}"
