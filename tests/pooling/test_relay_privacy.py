"""A neighbour host's relay point is a home: who sees it, where, and how precisely.

- anyone signed in sees shops, lockers and post offices where they are;
- a host only to the active members of its neighbourhood, at the centre of the blur cell of the
  home, without an address, with a walking time in whole minutes counted to that centre;
- the exact place only to the host, a resident whose parcel is planned to wait there, and the
  courier delivering it; the association's staff see the blur cell, as for any home.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from geo.privacy import blur_cell, blurred_point
from neighbourhoods.services import membership_join
from pooling.models import DropKind, Order, ReceivingPreference, RelayPoint
from pooling.serializers import BatchStopSerializer
from pooling.services.places import relay_point_create, relays_follow_home
from tests.neighbourhoods.factories import NeighbourhoodFactory
from tests.pooling.factories import SPOTS, OrderFactory, ResidentFactory, point

NEAR = f"{SPOTS[4][1]},{SPOTS[4][0]}"  # lat,lon of a spot near the homes below


def _host(neighbourhood, spot=SPOTS[12]):
    operator = ResidentFactory(home=point(*spot))
    return relay_point_create(
        kind=RelayPoint.Kind.NEIGHBOUR_HOST,
        name=f"Chez {operator.public_name}",
        lon=spot[0],
        lat=spot[1],
        neighbourhood=neighbourhood,
        operator=operator,
        address_label="12 Kalevankatu (the host's door)",
    )


def _shop(neighbourhood):
    return relay_point_create(
        kind=RelayPoint.Kind.SHOP,
        name="R-kioski",
        lon=SPOTS[8][0],
        lat=SPOTS[8][1],
        neighbourhood=neighbourhood,
        address_label="Aleksanterinkatu 1",
    )


def _near(client, **params):
    response = client.get("/api/v1/relay-points", {"near": NEAR, "minutes": 30, **params})
    assert response.status_code == 200, response.content
    return {row["id"]: row for row in response.json()}


def _member(neighbourhood):
    resident = ResidentFactory()
    membership_join(user=resident, neighbourhood=neighbourhood)
    return resident


def test_a_fresh_account_sees_shops_and_no_host(client_for, neighbourhood):
    host, shop = _host(neighbourhood), _shop(neighbourhood)
    stranger = ResidentFactory(home=None)
    rows = _near(client_for(stranger))
    assert set(rows) == {shop.pk}
    assert rows[shop.pk]["location"]["coordinates"] == [shop.location.x, shop.location.y]
    assert rows[shop.pk]["address_label"] == "Aleksanterinkatu 1"
    body = client_for(stranger).get("/api/v1/relay-points", {"near": NEAR, "minutes": 30})
    assert host.operator.public_name not in body.content.decode()
    assert "Kalevankatu" not in body.content.decode()


def test_members_of_another_neighbourhood_do_not_see_the_host(client_for, neighbourhood):
    host = _host(neighbourhood)
    elsewhere = _member(NeighbourhoodFactory())
    assert host.pk not in _near(client_for(elsewhere))


def test_members_see_the_host_blurred_without_address_and_in_coarse_minutes(
    client_for, neighbourhood, settings
):
    host = _host(neighbourhood)
    row = _near(client_for(_member(neighbourhood)))[host.pk]
    cell = blurred_point(host.operator.home)
    assert row["location"]["coordinates"] == [cell.x, cell.y]
    assert [cell.x, cell.y] != [host.location.x, host.location.y]
    assert row["address_label"] == ""
    assert row["name"] == f"Chez {host.operator.public_name}"
    assert row["minutes"] >= settings.SHARING_MINUTES_FLOOR
    assert row["seconds"] == 60 * row["minutes"]


def test_repeated_queries_learn_nothing_finer_than_the_cell(client_for, neighbourhood):
    """From many origins, a host answers exactly as any other home of the same cell would."""
    host = _host(neighbourhood)
    member = _member(neighbourhood)
    origins = [f"{lat},{lon}" for lon, lat in SPOTS[:10]]
    before = [_near(client_for(member), near=o).get(host.pk) for o in origins]
    home = host.operator.home
    # Another door of the same blur cell: every answer must stay the same.
    moved = point(home.x + 0.0002, home.y + 0.0001)
    assert blur_cell(moved.x, moved.y) == blur_cell(home.x, home.y)
    host.operator.home = moved
    host.operator.save(update_fields=["home"])
    relays_follow_home(operator=host.operator)
    host.refresh_from_db()
    assert (host.location.x, host.location.y) == (moved.x, moved.y)
    after = [_near(client_for(member), near=o).get(host.pk) for o in origins]
    assert after == before
    assert any(row is not None for row in after)


def test_a_host_of_another_neighbourhood_cannot_be_chosen(client_for, neighbourhood):
    host = _host(NeighbourhoodFactory())
    resident = _member(neighbourhood)
    response = client_for(resident).put(
        "/api/v1/orders/receiving", {"mode": "host", "relay_point": host.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "relay_not_allowed"
    assert not ReceivingPreference.objects.filter(resident=resident).exists()
    mine = _host(neighbourhood, spot=SPOTS[13])
    response = client_for(resident).put(
        "/api/v1/orders/receiving", {"mode": "host", "relay_point": mine.pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["relay_point"] == mine.pk


def test_a_chosen_host_is_shown_blurred_on_the_order_until_the_parcel_is_planned_there(
    client_for, neighbourhood
):
    host = _host(neighbourhood)
    order = OrderFactory(
        neighbourhood=neighbourhood,
        resident=_member(neighbourhood),
        receive_mode="host",
        relay_point=host,
    )
    body = client_for(order.resident).get(f"/api/v1/orders/{order.pk}").json()
    cell = blurred_point(host.location)
    assert body["relay_point"]["location"]["coordinates"] == [cell.x, cell.y]
    assert body["relay_point"]["address_label"] == ""
    assert body["delivery"] is None
    assert Order.objects.get(pk=order.pk).relay_point_id == host.pk


def test_staff_see_a_host_stop_at_its_blur_cell_and_a_home_stop_nowhere(neighbourhood):
    host = _host(neighbourhood)
    base = {"id": 1, "position": 1, "eta": datetime(2026, 5, 15, 10), "parcels": 1}
    base["status"] = "pending"
    as_host = SimpleNamespace(
        **base, kind=DropKind.HOST, relay_point_id=host.pk, location=host.location
    )
    as_home = SimpleNamespace(
        **base, kind=DropKind.HOME, relay_point_id=None, location=host.location
    )
    cell = blurred_point(host.location)
    assert BatchStopSerializer(as_host).data["location"]["coordinates"] == [cell.x, cell.y]
    assert BatchStopSerializer(as_home).data["location"] is None


@pytest.mark.parametrize("home", ["moved", "removed"])
def test_a_host_moving_home_moves_the_relay_point_or_stops_hosting(neighbourhood, home):
    host = _host(neighbourhood)
    operator = host.operator
    operator.home = point(*SPOTS[20]) if home == "moved" else None
    operator.save(update_fields=["home"])
    assert relays_follow_home(operator=operator) == 1
    host.refresh_from_db()
    if home == "moved":
        assert (host.location.x, host.location.y) == SPOTS[20]
        cell = blurred_point(point(*SPOTS[20]))
        assert (host.public_location.x, host.public_location.y) == (cell.x, cell.y)
        assert host.is_active
    else:
        assert (host.location.x, host.location.y) == SPOTS[12]
        assert not host.is_active
