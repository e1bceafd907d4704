"""Compute the stored CO2 of every planned batch again from its distances, with the factors of
today (after changing ``POOLING_CO2_*`` or the table in settings; docs/pooling.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from pooling.services.impact import impact_co2_restate


class Command(BaseCommand):
    help = "Restate the stored CO2 of planned batches with today's emission factors."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = impact_co2_restate()
        self.stdout.write(f"{changed} batch impact(s) restated")
