"""Batches for association staff: ask for a plan (a Celery task), follow it, read the impact."""

from __future__ import annotations

import pytest

from pooling import co2
from pooling.models import Batch, BatchImpact, Route
from pooling.services.batches import cutoff_sweep
from tests.pooling.factories import (
    DAY,
    SPOTS,
    CourierFactory,
    NeighbourhoodFactory,
    OrderFactory,
    ResidentFactory,
    make_staff,
    point,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def day_of_orders(neighbourhood, hub):
    CourierFactory(hub=hub, capacity_units=20)
    return [
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=neighbourhood,
            carrier=["Posti", "DHL", "Bring"][i % 3],
        )
        for i, spot in enumerate(SPOTS[:8])
    ]


def test_staff_ask_for_a_plan_and_read_its_rounds_and_impact(
    client_for, neighbourhood, day_of_orders, eager_tasks, django_capture_on_commit_callbacks
):
    staff = make_staff(neighbourhood)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(staff).post(
            "/api/v1/pooling/batches",
            {"neighbourhood": neighbourhood.pk, "day": DAY.isoformat()},
            format="json",
        )
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending"
    batch = Batch.objects.get()
    detail = client_for(staff).get(f"/api/v1/pooling/batches/{batch.pk}").json()
    assert detail["status"] == "planned"
    assert detail["progress"] == {"percent": 100, "stage": "planned"}
    stops = [s for r in detail["routes"] for s in r["stops"]]
    assert len(stops) == 8 and sum(s["parcels"] for s in stops) == 8
    # Staff never see where residents live.
    assert all(s["location"] is None for s in stops if s["kind"] == "home")
    impact = detail["impact"]
    row = BatchImpact.objects.get(batch=batch)
    assert impact["vehicle_km"] == round(row.vehicle_meters / 1000, 2)
    assert impact["stops"] == 8 and impact["parcels"] == 8 and impact["orders"] == 8
    assert impact["rounds"] == Route.objects.filter(batch=batch).count()
    assert impact["per_parcel"]["trips"] == 8
    # One bike round beats a van trip per parcel, and three carriers' own vans.
    assert row.vehicle_meters < row.per_carrier_meters < row.per_parcel_meters
    assert row.co2_grams < row.per_carrier_co2_grams
    assert set(impact["emission_factors"]) == {"van", "cargo_bike", "foot"}
    assert all(f["source"] for f in impact["emission_factors"].values())


def test_only_the_neighbourhoods_staff_may_plan(client_for, neighbourhood, day_of_orders):
    other_staff = make_staff(NeighbourhoodFactory())
    for user, status in [(None, 401), (ResidentFactory(), 403), (other_staff, 403)]:
        response = client_for(user).post(
            "/api/v1/pooling/batches", {"neighbourhood": neighbourhood.pk}, format="json"
        )
        assert response.status_code == status
        if status == 403:
            assert response.json()["code"] == "not_association_staff"
    assert not Batch.objects.exists()


def test_only_staff_read_a_batch(client_for, neighbourhood, day_of_orders):
    batch = Batch.objects.create(
        neighbourhood=neighbourhood, hub=neighbourhood.pooling_hub, day=DAY
    )
    assert client_for(None).get(f"/api/v1/pooling/batches/{batch.pk}").status_code == 401
    assert (
        client_for(ResidentFactory()).get(f"/api/v1/pooling/batches/{batch.pk}").status_code == 403
    )
    staff = make_staff(neighbourhood)
    assert client_for(staff).get(f"/api/v1/pooling/batches/{batch.pk}").status_code == 200
    assert client_for(staff).get("/api/v1/pooling/batches/999999").status_code == 404


def test_asking_twice_replans_the_open_batch(client_for, neighbourhood, day_of_orders):
    staff = make_staff(neighbourhood)
    first = client_for(staff).post(
        "/api/v1/pooling/batches",
        {"neighbourhood": neighbourhood.pk, "day": "2026-05-15"},
        format="json",
    )
    second = client_for(staff).post(
        "/api/v1/pooling/batches",
        {"neighbourhood": neighbourhood.pk, "day": "2026-05-15"},
        format="json",
    )
    assert first.json()["id"] == second.json()["id"]
    assert Batch.objects.get().replan_requested is True


def test_the_cutoff_sweep_opens_the_days_batch_once(neighbourhood, hub, day_of_orders, settings):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    before = datetime(2026, 5, 15, 6, 30, tzinfo=ZoneInfo(settings.TIME_ZONE))
    after = datetime(2026, 5, 15, 7, 30, tzinfo=ZoneInfo(settings.TIME_ZONE))
    assert cutoff_sweep(now=before) == []
    queued = cutoff_sweep(now=after)
    batch = Batch.objects.get()
    assert queued == [batch.pk] and batch.day == DAY and batch.requested_by is None
    assert cutoff_sweep(now=after) == []
    assert Batch.objects.count() == 1


def test_a_planning_run_lost_with_its_worker_is_queued_again(
    neighbourhood, hub, day_of_orders, eager_tasks, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from pooling.models import Assignment
    from pooling.planning.pipeline import batch_claim

    batch = Batch.objects.create(neighbourhood=neighbourhood, hub=hub, day=DAY)
    version = batch_claim(batch_id=batch.pk)  # a run starts, then its worker and message vanish
    now = timezone.now()
    Batch.objects.filter(pk=batch.pk).update(progress_at=now - timedelta(minutes=3))
    assert batch.pk not in cutoff_sweep(now=now)  # still within the run's time
    Batch.objects.filter(pk=batch.pk).update(progress_at=now - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert batch.pk in cutoff_sweep(now=now)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PLANNED and batch.version == version + 1
    held = Assignment.objects.filter(released_at__isnull=True)
    assert held.count() == len(set(held.values_list("order_id", flat=True)))


def test_impact_is_summed_per_month_for_staff(client_for, neighbourhood, day_of_orders):
    from pooling.planning.pipeline import batch_plan

    staff = make_staff(neighbourhood)
    batch = Batch.objects.create(
        neighbourhood=neighbourhood, hub=neighbourhood.pooling_hub, day=DAY
    )
    batch_plan(batch_id=batch.pk)
    row = BatchImpact.objects.get()
    ranges = co2.impact_co2_of_row(row)
    response = client_for(staff).get("/api/v1/pooling/impact", {"neighbourhood": neighbourhood.pk})
    assert response.status_code == 200
    # One batch: the month's ranges are the batch's, from its meters per mode.
    assert response.json() == [
        {
            "month": "2026-05",
            "batches": 1,
            "orders": 8,
            "parcels": 8,
            "stops": 8,
            "rounds": row.rounds,
            "vehicle_km": round(row.vehicle_meters / 1000, 2),
            "co2_kg": round(row.co2_grams / 1000, 2),
            "per_parcel_km": round(row.per_parcel_meters / 1000, 2),
            "per_parcel_co2_kg": round(row.per_parcel_co2_grams / 1000, 2),
            "per_carrier_km": round(row.per_carrier_meters / 1000, 2),
            "per_carrier_co2_kg": round(row.per_carrier_co2_grams / 1000, 2),
            "co2_saved_kg": round((row.per_carrier_co2_grams - row.co2_grams) / 1000, 2),
            "co2_kg_low": round(ranges.pooled.low / 1000, 2),
            "co2_kg_high": round(ranges.pooled.high / 1000, 2),
            "per_parcel_co2_kg_low": round(ranges.per_parcel.low / 1000, 2),
            "per_parcel_co2_kg_high": round(ranges.per_parcel.high / 1000, 2),
            "per_carrier_co2_kg_low": round(ranges.per_carrier.low / 1000, 2),
            "per_carrier_co2_kg_high": round(ranges.per_carrier.high / 1000, 2),
            "co2_saved_kg_low": round(ranges.saved_vs_per_carrier.low / 1000, 2),
            "co2_saved_kg_high": round(ranges.saved_vs_per_carrier.high / 1000, 2),
        }
    ]
    month = response.json()[0]
    assert month["co2_saved_kg_low"] <= month["co2_saved_kg"] <= month["co2_saved_kg_high"]
    assert month["co2_saved_kg_low"] < month["co2_saved_kg_high"]
    denied = client_for(ResidentFactory()).get(
        "/api/v1/pooling/impact", {"neighbourhood": neighbourhood.pk}
    )
    assert denied.status_code == 403


def test_the_batch_impact_carries_ranges_and_the_factors_sources(
    client_for, neighbourhood, day_of_orders
):
    from pooling.planning.pipeline import batch_plan

    staff = make_staff(neighbourhood)
    batch = Batch.objects.create(
        neighbourhood=neighbourhood, hub=neighbourhood.pooling_hub, day=DAY
    )
    batch_plan(batch_id=batch.pk)
    impact = client_for(staff).get(f"/api/v1/pooling/batches/{batch.pk}").json()["impact"]
    for figures in (
        impact,
        impact["per_carrier"],
        impact["per_parcel"],
        impact["saved_vs_per_carrier"],
        impact["saved_vs_per_parcel"],
    ):
        assert figures["co2_kg_low"] <= figures["co2_kg"] <= figures["co2_kg_high"], figures
    assert impact["saved_vs_per_carrier"]["co2_kg_low"] < impact["per_carrier"]["co2_kg_high"]
    factors = {f["vehicle"]: f for f in impact["co2_factors"]}
    assert set(factors) == {"van", "car", "cargo_bike", "foot"}
    van = factors["van"]
    assert van["low"]["kg_co2e_per_km"] <= van["central"]["kg_co2e_per_km"]
    assert van["central"]["kg_co2e_per_km"] <= van["high"]["kg_co2e_per_km"]
    assert van["central"]["source"] and van["central"]["ref"] and van["central"]["scope"]
    # The old answer is still there.
    assert set(impact["emission_factors"]) == {"van", "cargo_bike", "foot"}


def test_the_factor_table_is_readable_by_anyone_signed_in(client_for):
    response = client_for(ResidentFactory()).get("/api/v1/pooling/co2-factors")
    assert response.status_code == 200
    assert response.json() == co2.factors_public()
    assert client_for(None).get("/api/v1/pooling/co2-factors").status_code == 401
