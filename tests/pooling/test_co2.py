"""The CO2 factor table (one place, in settings) and what is derived from it: ranges of a plan, of
its baselines and of the saving; restating stored figures after a change of factors."""

from __future__ import annotations

import importlib
import io

import pytest
from django.conf import settings
from django.core.management import call_command

from backend.settings import pooling as pooling_settings
from pooling import co2
from pooling.models import BatchImpact, VehicleKind
from pooling.services.impact import impact_co2_restate
from tests.pooling.factories import BatchFactory

BOUNDS = ("central", "low", "high")


def test_every_mode_has_a_central_low_and_high_in_order_each_with_source_and_scope():
    table = settings.POOLING_CO2_FACTORS
    assert {"van", "car", "cargo_bike", "foot"} <= set(table)
    for mode, row in table.items():
        assert row["label"] and row["unit"] == "kg CO2e / vehicle-km"
        values = [row[b]["kg_co2e_per_km"] for b in BOUNDS]
        assert 0 <= values[1] <= values[0] <= values[2], mode
        for bound in BOUNDS:
            value = row[bound]
            assert value["source"], (mode, bound)
            assert value["scope"]["energy"] in {"tank_to_wheel", "well_to_wheel", "none"}
            assert isinstance(value["scope"]["manufacturing"], bool)
            assert value["scope"]["infrastructure"] is False
            assert value["year"] is None or 2000 < value["year"] < 2100
            # A figure read in a source names where; a judgement says it is one.
            assert value["ref"] or not value["verified"], (mode, bound)


def test_every_vehicle_of_a_plan_has_factors_and_the_planning_reads_the_central_ones():
    for vehicle in VehicleKind.values:
        assert vehicle in settings.POOLING_CO2_FACTORS
        assert (
            settings.POOLING_EMISSION_FACTORS[vehicle]["kg_co2e_per_km"]
            == settings.POOLING_CO2_FACTORS[vehicle]["central"]["kg_co2e_per_km"]
            == co2.factor(vehicle)
        )


def test_the_van_is_no_longer_fuel_only_and_its_range_spans_the_sources():
    van = settings.POOLING_CO2_FACTORS["van"]
    assert van["central"]["scope"]["manufacturing"] is True
    # The old fuel-only figure (3.17 kg/L x 9 L/100 km) lies inside the range.
    assert van["low"]["kg_co2e_per_km"] < 0.2853 < van["high"]["kg_co2e_per_km"]
    assert "0.160 L/km" in van["high"]["source"]


def _reload(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return importlib.reload(pooling_settings)


def test_the_environment_overrides_a_central_value_and_the_range_widens_to_hold_it(monkeypatch):
    try:
        table = _reload(monkeypatch, POOLING_CO2_VAN_KG_PER_KM="0.9").POOLING_CO2_FACTORS
        van = table["van"]
        assert van["central"]["kg_co2e_per_km"] == 0.9
        assert "POOLING_CO2_VAN_KG_PER_KM" in van["central"]["source"]
        assert van["central"]["verified"] is False
        assert van["high"]["kg_co2e_per_km"] == 0.9  # widened
        assert van["low"]["kg_co2e_per_km"] == 0.2262
        monkeypatch.delenv("POOLING_CO2_VAN_KG_PER_KM")
        table = _reload(
            monkeypatch,
            POOLING_VAN_L_PER_100KM="12",
            POOLING_CO2_CARGO_BIKE_KG_PER_KM_HIGH="0.05",
        ).POOLING_CO2_FACTORS
        assert table["van"]["central"]["kg_co2e_per_km"] == round(3.17 * 12 / 100, 4)
        assert table["van"]["central"]["scope"]["manufacturing"] is False
        assert table["cargo_bike"]["high"]["kg_co2e_per_km"] == 0.05
    finally:
        for name in (
            "POOLING_CO2_VAN_KG_PER_KM",
            "POOLING_VAN_L_PER_100KM",
            "POOLING_CO2_CARGO_BIKE_KG_PER_KM_HIGH",
        ):
            monkeypatch.delenv(name, raising=False)
        importlib.reload(pooling_settings)


def _f(mode, bound="central"):
    return settings.POOLING_CO2_FACTORS[mode][bound]["kg_co2e_per_km"]


def test_a_distance_has_its_central_low_and_high_co2():
    value = co2.co2_of({"van": 10_000, "cargo_bike": 5_000, "foot": 2_000})
    assert value == co2.Co2Range(
        central=round(10_000 * _f("van") + 5_000 * _f("cargo_bike")),
        low=round(10_000 * _f("van", "low") + 5_000 * _f("cargo_bike", "low")),
        high=round(10_000 * _f("van", "high") + 5_000 * _f("cargo_bike", "high")),
    )


def test_a_saving_takes_one_factor_per_mode_for_the_baseline_and_the_plan():
    # 10 km of carriers' vans replaced by 1 km of van and 8 km of cargo bike.
    saved = co2.co2_saved({"van": 10_000}, {"van": 1_000, "cargo_bike": 8_000})
    assert saved.low == round(9_000 * _f("van", "low") - 8_000 * _f("cargo_bike", "high"))
    assert saved.high == round(9_000 * _f("van", "high") - 8_000 * _f("cargo_bike", "low"))
    assert saved.low <= saved.central <= saved.high
    # Narrower than subtracting independent ranges, which lets the same van differ.
    naive = co2.co2_of({"van": 10_000}) - co2.co2_of({"van": 1_000, "cargo_bike": 8_000})
    assert naive.low < saved.low and saved.high < naive.high


def test_a_plan_driving_more_than_the_baseline_has_a_negative_saving_range():
    saved = co2.co2_saved({"van": 1_000}, {"van": 3_000})
    assert saved.high < 0 and saved.low == round(-2_000 * _f("van", "high"))


@pytest.mark.django_db
def test_a_batch_impact_keeps_its_central_figures_and_derives_ranges_from_its_distances():
    batch = BatchFactory()
    impact = BatchImpact.objects.create(
        batch=batch,
        day=batch.day,
        orders=4,
        parcels=4,
        stops=4,
        rounds=1,
        vehicle_meters=6_000,
        co2_grams=round(6_000 * _f("cargo_bike")),
        by_vehicle={"cargo_bike": {"meters": 6_000, "rounds": 1, "stops": 4}},
        per_parcel_meters=30_000,
        per_parcel_trips=4,
        per_parcel_co2_grams=round(30_000 * _f("van")),
        per_carrier_meters=15_000,
        per_carrier_rounds=2,
        per_carrier_stops=4,
        per_carrier_co2_grams=round(15_000 * _f("van")),
    )
    ranges = co2.impact_co2_of_row(impact)
    assert ranges.pooled.central == impact.co2_grams
    assert ranges.per_carrier == co2.co2_of({"van": 15_000})
    assert ranges.saved_vs_per_carrier.central == impact.per_carrier_co2_grams - impact.co2_grams
    assert ranges.saved_vs_per_carrier.low == round(
        15_000 * _f("van", "low") - 6_000 * _f("cargo_bike", "high")
    )
    assert ranges.saved_vs_per_parcel.high == round(
        30_000 * _f("van", "high") - 6_000 * _f("cargo_bike", "low")
    )


@pytest.mark.django_db
def test_stored_figures_are_restated_after_the_factors_change(settings):
    batch = BatchFactory()
    impact = BatchImpact.objects.create(
        batch=batch,
        day=batch.day,
        orders=1,
        parcels=1,
        stops=1,
        rounds=1,
        vehicle_meters=5_000,
        co2_grams=65,  # 0.013 kg/km, the old cargo-bike factor
        by_vehicle={"cargo_bike": {"meters": 5_000, "rounds": 1, "stops": 1, "co2_grams": 65}},
        per_parcel_meters=8_000,
        per_parcel_trips=1,
        per_parcel_co2_grams=2_282,  # 0.2853 kg/km, the old van factor
        per_carrier_meters=8_000,
        per_carrier_rounds=1,
        per_carrier_stops=1,
        per_carrier_co2_grams=2_282,
    )
    # Stored with other factors: the range widens to hold the stored figure.
    stale = co2.impact_co2_of_row(impact)
    assert stale.per_carrier.low <= 2_282 <= stale.per_carrier.high

    call_command("pooling_co2_restate", stdout=io.StringIO())
    impact.refresh_from_db()
    assert impact.per_carrier_co2_grams == round(8_000 * _f("van"))
    assert (
        impact.co2_grams
        == impact.by_vehicle["cargo_bike"]["co2_grams"]
        == round(5_000 * _f("cargo_bike"))
    )
    assert impact_co2_restate() == 0  # nothing left to restate
