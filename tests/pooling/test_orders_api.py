"""Residents' orders: declare, list, choose how to receive, cancel; relay points nearby."""

from __future__ import annotations

import pytest

from geo.selectors import route_between
from pooling.models import Order, ReceivingPreference, RelayPoint
from tests.pooling.factories import (
    SPOTS,
    OrderFactory,
    RelayPointFactory,
    ResidentFactory,
    point,
)

pytestmark = pytest.mark.django_db

DECLARE = {
    "merchant_name": "Verkkokauppa",
    "carrier": "Posti",
    "tracking_number": "JJFI42",
    "expected_on": "2026-05-15",
    "parcels": [{"size": "s", "weight": "light"}],
}


def test_a_resident_declares_an_order_in_their_neighbourhood(client_for, neighbourhood):
    resident = ResidentFactory(home=point(*SPOTS[3]))
    response = client_for(resident).post(
        "/api/v1/orders/",
        {
            **DECLARE,
            "receiving": {"mode": "any", "max_walk_minutes": 8, "walk_profile": "wheelchair"},
            "windows": [
                {"starts_at": "2026-05-15T17:00:00+03:00", "ends_at": "2026-05-15T19:00:00+03:00"}
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    order = Order.objects.get()
    assert data["id"] == order.pk and data["status"] == "pending"
    assert data["receive_mode"] == "any" and data["max_walk_minutes"] == 8
    assert data["walk_profile"] == "wheelchair" and data["in_pooling_area"] is True
    assert data["windows"] == [
        {"starts_at": "2026-05-15T17:00:00+03:00", "ends_at": "2026-05-15T19:00:00+03:00"}
    ]
    assert data["delivery"] is None and data["delivery_code"] == order.delivery_code
    assert order.neighbourhood == neighbourhood and order.max_walk_seconds == 480


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"parcels": []}, "parcels"),
        ({"parcels": [{"size": "xxl", "weight": "light"}]}, "parcels"),
        ({"carrier": ""}, "carrier"),
        ({"receiving": {"mode": "teleport"}}, "receiving"),
        ({"receiving": {"mode": "relay", "max_walk_minutes": 90}}, "receiving"),
        (
            {"windows": [{"starts_at": "2026-05-15T19:00:00Z", "ends_at": "2026-05-15T17:00:00Z"}]},
            "windows",
        ),
    ],
)
def test_bad_declarations_store_nothing(client_for, neighbourhood, change, field):
    response = client_for(ResidentFactory()).post(
        "/api/v1/orders/", {**DECLARE, **change}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Order.objects.exists()


def test_a_host_cannot_be_chosen_as_a_relay(client_for, neighbourhood):
    host = RelayPointFactory(kind=RelayPoint.Kind.NEIGHBOUR_HOST, operator=ResidentFactory())
    response = client_for(ResidentFactory()).post(
        "/api/v1/orders/",
        {**DECLARE, "receiving": {"mode": "relay", "relay_point": host.pk}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "relay_not_allowed"
    assert not Order.objects.exists()


def test_orders_are_private_to_their_resident(client_for, neighbourhood):
    mine = OrderFactory(neighbourhood=neighbourhood)
    other = ResidentFactory()
    assert client_for(None).get("/api/v1/orders/").status_code == 401
    assert client_for(other).get("/api/v1/orders/").json()["results"] == []
    assert client_for(other).get(f"/api/v1/orders/{mine.pk}").status_code == 404
    response = client_for(other).post(f"/api/v1/orders/{mine.pk}/cancel")
    assert response.status_code == 404
    mine.refresh_from_db()
    assert mine.status == Order.Status.PENDING
    listing = client_for(mine.resident).get("/api/v1/orders/").json()
    assert [o["id"] for o in listing["results"]] == [mine.pk]


def test_the_list_costs_a_fixed_number_of_queries(
    client_for, neighbourhood, django_assert_max_num_queries
):
    resident = ResidentFactory()
    for _ in range(6):
        OrderFactory(resident=resident, neighbourhood=neighbourhood)
    with django_assert_max_num_queries(7):
        response = client_for(resident).get("/api/v1/orders/")
    assert len(response.json()["results"]) == 6


def test_a_resident_changes_how_to_receive_and_cancels(client_for, neighbourhood):
    order = OrderFactory(neighbourhood=neighbourhood)
    shop = RelayPointFactory(neighbourhood=neighbourhood)
    client = client_for(order.resident)
    response = client.patch(
        f"/api/v1/orders/{order.pk}",
        {"receiving": {"mode": "relay", "relay_point": shop.pk, "max_walk_minutes": 12}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["relay_point"]["id"] == shop.pk
    order.refresh_from_db()
    assert (order.receive_mode, order.relay_point, order.max_walk_seconds) == ("relay", shop, 720)
    assert client.post(f"/api/v1/orders/{order.pk}/cancel").json()["status"] == "cancelled"
    again = client.post(f"/api/v1/orders/{order.pk}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "order_closed"


def test_the_default_receiving_choice_applies_to_announced_orders(client_for):
    resident = ResidentFactory()
    response = client_for(resident).put(
        "/api/v1/orders/receiving",
        {
            "mode": "any",
            "max_walk_minutes": 7,
            "walk_profile": "slow",
            "home_windows": [{"weekday": 4, "start": "17:30", "end": "20:00"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "mode": "any",
        "relay_point": None,
        "max_walk_minutes": 7,
        "walk_profile": "slow",
        "home_windows": [{"weekday": 4, "start": "17:30", "end": "20:00"}],
        # None given: none kept (tests/pooling/test_courier_offline.py sets some).
        "delivery_details": {
            "door_code": "",
            "floor": "",
            "building": "",
            "instructions": "",
            "phone": "",
        },
    }
    pref = ReceivingPreference.objects.get(resident=resident)
    assert pref.max_walk_seconds == 420
    assert client_for(resident).get("/api/v1/orders/receiving").json()["mode"] == "any"


def test_relay_points_near_a_place_within_a_walking_time(client_for, street_graph):
    near = RelayPointFactory(location=point(*SPOTS[4]), name="Near")
    far = RelayPointFactory(location=point(*SPOTS[19]), name="Far")
    RelayPointFactory(location=point(*SPOTS[4]), is_active=False)
    origin = SPOTS[3]
    response = client_for(ResidentFactory()).get(
        "/api/v1/relay-points", {"near": f"{origin[1]},{origin[0]}", "minutes": 6}
    )
    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [near.pk]
    walk = route_between(start=origin, end=SPOTS[4], profile="walk").seconds
    assert rows[0]["seconds"] == round(walk)
    assert rows[0]["location"] == {"type": "Point", "coordinates": list(SPOTS[4])}
    assert far.pk not in [r["id"] for r in rows]
    bad = client_for(ResidentFactory()).get("/api/v1/relay-points", {"near": "nowhere"})
    assert bad.status_code == 400 and "near" in bad.json()["fields"]
