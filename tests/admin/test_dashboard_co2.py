"""The dashboard and a day's page show CO2 saved with its range (the emission factors' sources
differ), draw it as error bars, export it, and list the factors with their sources."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.conf import settings
from django.utils import timezone

from panel import stats
from pooling import co2
from pooling.models import Batch, BatchImpact

pytestmark = pytest.mark.django_db


def _f(mode, bound="central"):
    return settings.POOLING_CO2_FACTORS[mode][bound]["kg_co2e_per_km"]


@pytest.fixture
def planned(ours):
    """A completed day this month: 6 km of cargo bike instead of 20 km of carriers' vans."""
    batch = Batch.objects.create(
        neighbourhood=ours.neighbourhood,
        hub=ours.hub,
        day=timezone.localdate(),
        status=Batch.Status.COMPLETED,
    )
    return BatchImpact.objects.create(
        batch=batch,
        day=batch.day,
        orders=10,
        parcels=10,
        stops=8,
        rounds=1,
        vehicle_meters=6_000,
        co2_grams=round(6_000 * _f("cargo_bike")),
        by_vehicle={"cargo_bike": {"meters": 6_000, "rounds": 1, "stops": 8}},
        per_parcel_meters=40_000,
        per_parcel_trips=10,
        per_parcel_co2_grams=round(40_000 * _f("van")),
        per_carrier_meters=20_000,
        per_carrier_rounds=3,
        per_carrier_stops=10,
        per_carrier_co2_grams=round(20_000 * _f("van")),
    )


def test_the_dashboard_shows_co2_saved_with_its_range_and_the_sources(ours, planned, admin_client):
    low = round((20_000 * _f("van", "low") - 6_000 * _f("cargo_bike", "high")) / 1000, 1)
    high = round((20_000 * _f("van", "high") - 6_000 * _f("cargo_bike", "low")) / 1000, 1)
    central = round((planned.per_carrier_co2_grams - planned.co2_grams) / 1000, 1)
    assert low < central < high

    page = admin_client(ours.staff).get("/admin/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    # The headline, in the staff's French: "6,4 (4,3–10,1) kg CO2e évités".
    total = re.search(r'<li data-total="co2_saved_kg">(.*?)</li>', html, re.S).group(1)
    fr = {v: str(v).replace(".", ",") for v in (low, central, high)}
    assert f"<strong>{fr[central]}</strong>" in total
    assert f'data-low="{low}" data-high="{high}">({fr[low]}–{fr[high]})' in total
    # The chart: an error bar on this month's saved bar.
    month = timezone.localdate().strftime("%Y-%m")
    table = stats.impact_monthly([ours.neighbourhood.pk])
    row = table.rows[table.values("month").index(month)]
    assert (row["co2_saved_kg_low"], row["co2_saved_kg"], row["co2_saved_kg_high"]) == (
        low,
        central,
        high,
    )
    bars = re.findall(
        r'<g class="range" data-series="co2_saved_kg" data-label="[^"]+" '
        r'data-low="([^"]+)" data-high="([^"]+)">',
        html,
    )
    assert (f"{low:g}", f"{high:g}") in bars
    # The sources: every mode and bound, with its reference.
    for factor in co2.factors_public():
        assert f'data-factor="{factor["vehicle"]}" data-bound="central"' in html
        if factor["central"]["ref"]:
            assert factor["central"]["ref"].replace("'", "&#x27;") in html
    assert "publicodes-impact-livraison" in html and "arrêté du 10 avril 2012" in html


def test_the_csv_export_carries_the_range(ours, planned, admin_client):
    exported = admin_client(ours.staff).get("/admin/dashboard/impact.csv").content.decode()
    rows = list(csv.reader(io.StringIO(exported)))
    keys = [key for key, _label in stats.impact_monthly([ours.neighbourhood.pk]).columns]
    last = rows[-1]  # this month
    low, central, high = (
        float(last[keys.index(k)])
        for k in ("co2_saved_kg_low", "co2_saved_kg", "co2_saved_kg_high")
    )
    assert low < central < high


def test_a_days_page_shows_each_co2_figure_with_its_range(ours, planned, admin_client, settings):
    settings.MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    page = admin_client(ours.staff).get(f"/admin/rounds/{planned.batch_id}/")
    assert page.status_code == 200, page.status_code
    html = page.content.decode()
    ranges = co2.impact_co2_of_row(planned)
    cell = re.search(r'<td data-impact="co2_saved_kg">(.*?)</td>', html, re.S).group(1)
    low, high = (
        round(ranges.saved_vs_per_carrier.low / 1000, 2),
        round(ranges.saved_vs_per_carrier.high / 1000, 2),
    )
    assert f'data-low="{low}" data-high="{high}"' in cell
