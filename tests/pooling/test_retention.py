"""Retention in pooling: couriers' positions, proof photos and the homes of past rounds go after
their time; what is recent stays; a second run changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from geo.privacy import blurred_point
from pooling.models import Assignment, BatchImpact, Order, Route, Stop
from pooling.services.retention import (
    courier_positions_purge,
    delivery_addresses_erase,
    proof_photos_purge,
)
from tests.pooling.factories import (
    SPOTS,
    BatchFactory,
    CourierFactory,
    OrderFactory,
    RelayPointFactory,
    ResidentFactory,
    point,
)

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def make_route(*, ended: timedelta, courier=None, batch=None) -> Route:
    end = timezone.now() - ended
    return Route.objects.create(
        batch=batch or BatchFactory(),
        courier=courier or CourierFactory(),
        number=1,
        vehicle="cargo_bike",
        profile="bike",
        planned_start=end - timedelta(hours=2),
        planned_end=end,
        meters=4200,
        seconds=3600,
        load_units=3,
        load_kg=5,
        return_meters=900,
        return_path="LINESTRING(24.9432 60.1650, 24.9432 60.1680)",
        status=Route.Status.COMPLETED,
        last_position=point(24.9440, 60.1660),
        last_position_at=end,
    )


def make_stop(route: Route, position: int, *, kind: str, order: Order, **fields) -> Stop:
    at = route.planned_end - timedelta(minutes=30)
    place = (
        {"resident": order.resident, "location": order.resident.home}
        if kind == "home"
        else {"relay_point": fields.pop("relay"), "location": point(*SPOTS[0])}
    )
    stop = Stop.objects.create(
        route=route,
        position=position,
        kind=kind,
        label=fields.pop("label", "Mannerheimintie 3, Helsinki"),
        window_start=at - timedelta(hours=1),
        window_end=at + timedelta(hours=1),
        service_seconds=120,
        eta=at,
        planned_arrival=at,
        meters_from_previous=700,
        seconds_from_previous=300,
        path="LINESTRING(24.9432 60.1680, 24.9432 60.1650)",
        load_units=1,
        load_kg=2,
        **place,
        **fields,
    )
    Assignment.objects.create(
        batch=route.batch,
        order=order,
        stop=stop,
        drop_kind=kind,
        relay_point=place.get("relay_point"),
        outcome=Assignment.Outcome.DELIVERED,
    )
    return stop


def delivered(ago: timedelta) -> Order:
    return OrderFactory(status=Order.Status.DELIVERED, delivered_at=timezone.now() - ago)


def test_courier_positions_go_after_their_time(settings):
    settings.POOLING_COURIER_POSITION_HOURS = 24
    old = make_route(ended=timedelta(hours=25))
    recent = make_route(ended=timedelta(hours=2))
    assert courier_positions_purge() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.last_position is None and old.last_position_at is None
    assert recent.last_position is not None and recent.last_position_at is not None
    assert courier_positions_purge() == 0
    recent.refresh_from_db()
    assert recent.last_position is not None


def test_proof_photos_are_deleted_from_storage_after_their_time(settings, media):
    settings.POOLING_PROOF_PHOTO_DAYS = 30
    relay = RelayPointFactory()
    stops = {}
    for name, ago in (("old", 31 * DAY), ("recent", 29 * DAY)):
        route = make_route(ended=ago)
        stop = make_stop(
            route,
            1,
            kind="relay",
            relay=relay,
            order=delivered(ago),
            status=Stop.Status.DELIVERED,
            proof=Stop.Proof.PHOTO,
            done_at=timezone.now() - ago,
        )
        stop.proof_photo.save(f"{name}.png", ContentFile(b"\x89PNG..."), save=True)
        stops[name] = stop
    old_file = media / stops["old"].proof_photo.name
    recent_file = media / stops["recent"].proof_photo.name
    assert old_file.exists() and recent_file.exists()

    assert proof_photos_purge() == 1
    for stop in stops.values():
        stop.refresh_from_db()
    assert not old_file.exists() and stops["old"].proof_photo.name == ""
    assert stops["old"].proof == "photo" and stops["old"].status == "delivered"
    assert recent_file.exists() and stops["recent"].proof_photo.name.endswith(".png")

    assert proof_photos_purge() == 0
    assert recent_file.exists()


def test_a_proof_photo_whose_file_is_already_gone_is_cleared(settings, media):
    settings.POOLING_PROOF_PHOTO_DAYS = 30
    route = make_route(ended=40 * DAY)
    stop = make_stop(
        route,
        1,
        kind="relay",
        relay=RelayPointFactory(),
        order=delivered(40 * DAY),
        status=Stop.Status.DELIVERED,
        proof=Stop.Proof.PHOTO,
        done_at=timezone.now() - 40 * DAY,
    )
    stop.proof_photo.save("gone.png", ContentFile(b"x"), save=True)
    (media / stop.proof_photo.name).unlink()
    assert proof_photos_purge() == 1
    stop.refresh_from_db()
    assert stop.proof_photo.name == ""


def test_the_homes_of_past_rounds_are_erased_and_the_figures_stay(settings):
    settings.POOLING_ADDRESS_DAYS = 30
    relay = RelayPointFactory()
    # An old round: a home delivered 40 days ago, a relay drop of an order cancelled 35 days ago.
    old = make_route(ended=41 * DAY)
    home_order = delivered(40 * DAY)
    home = make_stop(old, 1, kind="home", order=home_order)
    cancelled = OrderFactory(status=Order.Status.CANCELLED, cancelled_at=timezone.now() - 35 * DAY)
    at_relay = make_stop(old, 2, kind="relay", relay=relay, order=cancelled, label="Kiosk 1")
    impact = BatchImpact.objects.create(
        batch=old.batch,
        day=old.batch.day,
        orders=2,
        parcels=2,
        stops=2,
        rounds=1,
        vehicle_meters=4200,
        co2_grams=55,
        per_parcel_meters=0,
        per_parcel_trips=0,
        per_parcel_co2_grams=0,
        per_carrier_meters=0,
        per_carrier_rounds=0,
        per_carrier_stops=0,
        per_carrier_co2_grams=0,
    )
    # A round as old whose order is still going (failed, back in the pool): kept whole.
    waiting = make_route(ended=41 * DAY)
    pending = make_stop(
        waiting, 1, kind="home", order=OrderFactory(status=Order.Status.PENDING, attempts=1)
    )
    # A recent round.
    recent = make_route(ended=10 * DAY)
    recent_home = make_stop(recent, 1, kind="home", order=delivered(10 * DAY))
    home_location = home.location.clone()

    assert delivery_addresses_erase() == 1

    old.refresh_from_db()
    home.refresh_from_db()
    at_relay.refresh_from_db()
    assert old.addresses_erased_at is not None
    assert old.return_path is None and old.last_position is None
    assert (old.meters, old.seconds, old.return_meters, old.load_units) == (4200, 3600, 900, 3)
    assert home.label == "" and home.path is None
    assert home.location.coords == blurred_point(home_location).coords
    assert home.location.coords != home_location.coords
    assert home.resident_id == home_order.resident_id  # who was delivered: their own history
    assert (home.meters_from_previous, home.seconds_from_previous) == (700, 300)
    # A shop is a public place: it keeps its point and name, the path that led to it goes.
    assert at_relay.label == "Kiosk 1" and at_relay.location.coords == SPOTS[0]
    assert at_relay.path is None
    impact.refresh_from_db()
    assert (impact.orders, impact.vehicle_meters, impact.co2_grams) == (2, 4200, 55)
    for route, stop in ((waiting, pending), (recent, recent_home)):
        route.refresh_from_db()
        stop.refresh_from_db()
        assert route.addresses_erased_at is None and route.return_path is not None
        assert stop.label and stop.path is not None
        assert stop.location.coords == stop.resident.home.coords

    before = list(Stop.objects.order_by("pk").values_list("location", "label", "path"))
    assert delivery_addresses_erase() == 0
    assert list(Stop.objects.order_by("pk").values_list("location", "label", "path")) == before


def test_the_retention_task_runs_the_three_purges(eager_tasks):
    from pooling.tasks import retention_purge_task

    ResidentFactory()
    assert retention_purge_task.delay().get() == {
        "positions": 0,
        "proof_photos": 0,
        "rounds_erased": 0,
    }
