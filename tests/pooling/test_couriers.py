"""Couriers on their rounds: list, read, start, deliver with a proof, fail (back to the pool),
positions that move ETAs and tell residents the courier is near. Only the round's courier."""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from notifications.models import Event
from pooling.models import Assignment, Batch, Order, RelayPoint, Route, Stop
from pooling.planning.pipeline import batch_plan
from tests.pooling.factories import (
    DAY,
    SPOTS,
    CourierFactory,
    OrderFactory,
    RelayPointFactory,
    ResidentFactory,
    make_staff,
    point,
)

pytestmark = pytest.mark.django_db
HEL = ZoneInfo("Europe/Helsinki")


@pytest.fixture
def plan(neighbourhood, hub):
    courier = CourierFactory(hub=hub, capacity_units=40, capacity_kg=200)
    shop = RelayPointFactory(
        neighbourhood=neighbourhood, location=point(*SPOTS[12]), operator=ResidentFactory()
    )
    home_orders = [
        OrderFactory(resident=ResidentFactory(home=point(*spot)), neighbourhood=neighbourhood)
        for spot in SPOTS[:4]
    ]
    relay_orders = [
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=neighbourhood,
            receive_mode="relay",
            relay_point=shop,
        )
        for spot in SPOTS[13:15]
    ]
    batch = Batch.objects.create(neighbourhood=neighbourhood, hub=hub, day=DAY)
    batch = batch_plan(batch_id=batch.pk)
    route = Route.objects.get(batch=batch)
    return {
        "batch": batch,
        "route": route,
        "courier": courier,
        "shop": shop,
        "home_orders": home_orders,
        "relay_orders": relay_orders,
    }


def url(route, tail=""):
    return f"/api/v1/courier/routes/{route.pk}{tail}"


def stop_of(order):
    return Assignment.objects.get(order=order, released_at__isnull=True).stop


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return SimpleUploadedFile("door.png", buffer.getvalue(), content_type="image/png")


def test_a_courier_lists_and_reads_their_round(client_for, plan):
    route, courier = plan["route"], plan["courier"]
    client = client_for(courier.user)
    listing = client.get("/api/v1/courier/routes")
    assert listing.status_code == 200
    assert [r["id"] for r in listing.json()] == [route.pk]
    assert listing.json()[0]["stops"] == 5
    data = client.get(url(route)).json()
    assert [s["position"] for s in data["stops"]] == [1, 2, 3, 4, 5]
    etas = [datetime.fromisoformat(s["eta"]) for s in data["stops"]]
    assert etas == sorted(etas)
    relay = next(s for s in data["stops"] if s["kind"] == "relay")
    assert relay["name"] == plan["shop"].name
    assert sorted(o["order_id"] for o in relay["orders"]) == sorted(
        o.pk for o in plan["relay_orders"]
    )
    for stop in data["stops"]:
        assert stop["path"]["type"] == "LineString" and len(stop["path"]["coordinates"]) >= 2
        assert stop["orders"] and stop["orders"][0]["parcels"] == [{"size": "m", "weight": "light"}]
    assert data["return_path"]["type"] == "LineString"
    # The first leg starts at the hub and ends at the first stop.
    first = data["stops"][0]
    assert first["path"]["coordinates"][0] == pytest.approx(data["hub"]["location"]["coordinates"])
    assert first["path"]["coordinates"][-1] == pytest.approx(first["location"]["coordinates"])


def test_only_the_rounds_courier_may_touch_it(client_for, plan, hub):
    route = plan["route"]
    other = CourierFactory(hub=hub).user
    staff = make_staff(plan["batch"].neighbourhood)
    stop = route.stops.first()
    for user, status in [(None, 401), (other, 403), (staff, 403), (ResidentFactory(), 403)]:
        client = client_for(user)
        assert client.get(url(route)).status_code == status
        assert client.post(url(route, "/start")).status_code == status
        response = client.post(
            url(route, f"/stops/{stop.pk}/failed"), {"reason": "absent"}, format="json"
        )
        assert response.status_code == status
    assert client_for(staff).get("/api/v1/courier/routes").json()["code"] == "not_a_courier"
    route.refresh_from_db()
    stop.refresh_from_db()
    assert route.status == "planned" and stop.status == "pending"
    assert Batch.objects.get().status == "planned"


def test_starting_a_round_dispatches_the_batch_and_sends_etas(client_for, plan):
    route, courier = plan["route"], plan["courier"]
    response = client_for(courier.user).post(url(route, "/start"))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "started"
    assert Batch.objects.get().status == Batch.Status.DISPATCHED
    orders = plan["home_orders"] + plan["relay_orders"]
    assert set(Order.objects.values_list("status", flat=True)) == {"out_for_delivery"}
    eta_events = Event.objects.filter(type="order.eta")
    assert sorted(e.recipient_id for e in eta_events) == sorted(o.resident_id for o in orders)
    again = client_for(courier.user).post(url(route, "/start"))
    assert again.status_code == 409 and again.json()["code"] == "route_state"
    # Out for delivery: the resident can no longer cancel.
    order = orders[0]
    refused = client_for(order.resident).post(f"/api/v1/orders/{order.pk}/cancel")
    assert refused.status_code == 409 and refused.json()["code"] == "order_out_for_delivery"


def test_delivered_with_the_recipients_code(client_for, plan):
    route, courier = plan["route"], plan["courier"]
    client = client_for(courier.user)
    order = plan["home_orders"][0]
    stop = stop_of(order)
    early = client.post(
        url(route, f"/stops/{stop.pk}/delivered"), {"code": order.delivery_code}, format="json"
    )
    assert early.status_code == 409  # the round has not started
    client.post(url(route, "/start"))
    wrong = "000000" if order.delivery_code != "000000" else "111111"
    refused = client.post(url(route, f"/stops/{stop.pk}/delivered"), {"code": wrong}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "bad_proof_code"
    stop.refresh_from_db()
    assert stop.status == "pending"
    no_proof = client.post(url(route, f"/stops/{stop.pk}/delivered"), {}, format="json")
    assert no_proof.status_code == 400
    ok = client.post(
        url(route, f"/stops/{stop.pk}/delivered"), {"code": order.delivery_code}, format="json"
    )
    assert (
        ok.status_code == 200
        and ok.json()["status"] == "delivered"
        and ok.json()["proof"] == "code"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED and order.delivered_at is not None
    event = Event.objects.get(type="order.delivered")
    assert event.recipient_id == order.resident_id
    assert event.data["order_id"] == order.pk and event.data["place"] == "home"
    twice = client.post(
        url(route, f"/stops/{stop.pk}/delivered"), {"code": order.delivery_code}, format="json"
    )
    assert twice.status_code == 409 and twice.json()["code"] == "stop_already_done"


def test_a_relay_takes_its_handover_code_or_a_photo(client_for, plan):
    route, courier, shop = plan["route"], plan["courier"], plan["shop"]
    client = client_for(courier.user)
    client.post(url(route, "/start"))
    stop = stop_of(plan["relay_orders"][0])
    resident_code = plan["relay_orders"][0].delivery_code
    if resident_code != shop.handover_code:
        refused = client.post(
            url(route, f"/stops/{stop.pk}/delivered"), {"code": resident_code}, format="json"
        )
        assert refused.status_code == 400
    bad = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    refused = client.post(
        url(route, f"/stops/{stop.pk}/delivered"), {"photo": bad}, format="multipart"
    )
    assert refused.status_code == 400 and refused.json()["code"] == "bad_photo"
    ok = client.post(
        url(route, f"/stops/{stop.pk}/delivered"), {"photo": png()}, format="multipart"
    )
    assert ok.status_code == 200 and ok.json()["proof"] == "photo"
    stop.refresh_from_db()
    assert stop.proof_photo.name.endswith(".png")
    # Left at the relay: each waits for its resident, who picks it up with their code
    # (tests/pooling/test_courier_offline.py, the pickup).
    assert set(
        Order.objects.filter(pk__in=[o.pk for o in plan["relay_orders"]]).values_list(
            "status", flat=True
        )
    ) == {"awaiting_pickup"}
    operator_view = client_for(shop.operator).get(f"/api/v1/relay-points/{shop.pk}/deliveries")
    assert operator_view.status_code == 200 and operator_view.json()["deliveries"] == []
    assert (
        client_for(courier.user).get(f"/api/v1/relay-points/{shop.pk}/deliveries").status_code
        == 403
    )


def test_a_photo_too_large_is_refused(client_for, plan, settings):
    settings.POOLING_PROOF_PHOTO_MAX_BYTES = 10
    route, courier = plan["route"], plan["courier"]
    client = client_for(courier.user)
    client.post(url(route, "/start"))
    stop = stop_of(plan["home_orders"][0])
    refused = client.post(
        url(route, f"/stops/{stop.pk}/delivered"), {"photo": png()}, format="multipart"
    )
    assert refused.status_code == 400
    stop.refresh_from_db()
    assert stop.status == "pending" and not stop.proof_photo


def test_a_failed_drop_returns_to_the_pool_and_the_next_batch_takes_it(client_for, plan, hub):
    route, courier = plan["route"], plan["courier"]
    client = client_for(courier.user)
    client.post(url(route, "/start"))
    order = plan["home_orders"][1]
    stop = stop_of(order)
    response = client.post(
        url(route, f"/stops/{stop.pk}/failed"), {"reason": "absent"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "failed"
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.attempts == 1
    failed = Assignment.objects.get(order=order)
    assert failed.outcome == "failed" and failed.released_at is not None
    event = Event.objects.get(type="order.failed")
    assert event.data == {
        "order_id": order.pk,
        "merchant_name": order.merchant_name,
        "reason": "absent",
        "next_step": "retry",
    }
    # Back in the pool: tomorrow's batch claims and plans it.
    tomorrow = Batch.objects.create(
        neighbourhood=hub.neighbourhood, hub=hub, day=DAY + timedelta(days=1)
    )
    batch_plan(batch_id=tomorrow.pk)
    again = Assignment.objects.get(order=order, released_at__isnull=True)
    assert again.batch == tomorrow and again.stop is not None
    # The other stops of today's round were not touched.
    assert Stop.objects.filter(route=route, status="pending").count() == 4


def test_after_the_last_attempt_the_parcel_goes_back_to_the_sender(client_for, plan, settings):
    settings.POOLING_MAX_ATTEMPTS = 1
    route, courier = plan["route"], plan["courier"]
    client = client_for(courier.user)
    client.post(url(route, "/start"))
    order = plan["home_orders"][2]
    client.post(
        url(route, f"/stops/{stop_of(order).pk}/failed"), {"reason": "refused"}, format="json"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.RETURNED
    assert Event.objects.get(type="order.failed").data["next_step"] == "return"


def test_a_round_completes_when_every_stop_is_done(client_for, plan):
    route, courier = plan["route"], plan["courier"]
    client = client_for(courier.user)
    client.post(url(route, "/start"))
    for stop in route.stops.all():
        client.post(url(route, f"/stops/{stop.pk}/failed"), {"reason": "no_access"}, format="json")
    route.refresh_from_db()
    assert route.status == "completed"
    assert Batch.objects.get().status == "completed"


def test_positions_move_etas_and_tell_residents_the_courier_is_near(client_for, plan):
    route, courier = plan["route"], plan["courier"]
    client = client_for(courier.user)
    client.post(url(route, "/start"))
    Event.objects.all().delete()
    stops = list(route.stops.order_by("position"))
    home_stop = next(s for s in stops if s.kind == "home")
    near = (home_stop.location.x + 0.0008, home_stop.location.y)  # about 45 m east
    when = datetime.combine(DAY, time(11, 0), tzinfo=HEL)
    response = client.post(
        "/api/v1/courier/position",
        {"position": list(near), "at": when.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["route"] == route.pk and home_stop.pk in body["nearby_stops"]
    etas = {int(k): datetime.fromisoformat(v) for k, v in body["etas"].items()}
    assert set(etas) == {s.pk for s in stops}
    assert min(etas.values()) >= when
    for stop in Stop.objects.filter(route=route):
        assert stop.eta == etas[stop.pk]
    nearby = Event.objects.filter(type="order.courier_nearby")
    resident = Assignment.objects.filter(stop=home_stop).get().order.resident_id
    assert [e.recipient_id for e in nearby] == [resident]
    assert nearby.get().data["route_id"] == route.pk
    assert Event.objects.filter(type="order.eta").exists()
    # Said once: the same position again tells nobody anything new.
    Event.objects.all().delete()
    client.post(
        "/api/v1/courier/position", {"position": list(near), "at": when.isoformat()}, format="json"
    )
    assert not Event.objects.filter(type="order.courier_nearby").exists()
    assert not Event.objects.filter(type="order.eta").exists()


def test_a_position_from_someone_who_is_not_a_courier_is_refused(client_for, plan):
    response = client_for(ResidentFactory()).post(
        "/api/v1/courier/position", {"position": list(SPOTS[0])}, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "not_a_courier"


def test_hosts_are_told_which_parcels_come(plan):
    event = Event.objects.get(type="relay.parcels_to_receive")
    assert event.recipient_id == plan["shop"].operator_id
    assert event.data["parcels"] == 2 and event.data["batch_id"] == plan["batch"].pk
    planned = Event.objects.filter(type="order.planned")
    orders = plan["home_orders"] + plan["relay_orders"]
    assert sorted(e.recipient_id for e in planned) == sorted(o.resident_id for o in orders)
    modes = {e.data["order_id"]: e.data["delivery_mode"] for e in planned}
    assert {modes[o.pk] for o in plan["relay_orders"]} == {"relay"}
    assert RelayPoint.objects.count() == 1
