"""What sits at a home follows it: a resident's items (at the blur cell of their home) and the
relay point they host, in the transaction that moves the home, whichever way the home is given."""

from __future__ import annotations

import pytest

from accounts.homes import profile_update
from geo.privacy import blurred_point
from neighbourhoods.services import membership_join
from pooling.models import RelayPoint
from pooling.services.places import relay_point_create
from sharing.models import Item
from sharing.services.items import item_create
from tests.accounts.geocoder_server import nominatim_place
from tests.neighbourhoods.factories import NeighbourhoodFactory
from tests.pooling.factories import SPOTS, ResidentFactory, point

pytestmark = pytest.mark.usefixtures("street_graph")

URL = "/api/v1/me"
OLD, NEW = SPOTS[3], SPOTS[21]


@pytest.fixture
def resident(db):
    resident = ResidentFactory(home=point(*OLD))
    neighbourhood = NeighbourhoodFactory()
    membership_join(user=resident, neighbourhood=neighbourhood)
    for title in ("Perceuse", "Échelle"):
        item_create(owner=resident, title=title, category="tools")
    relay_point_create(
        kind=RelayPoint.Kind.NEIGHBOUR_HOST,
        name="Chez moi",
        lon=OLD[0],
        lat=OLD[1],
        neighbourhood=neighbourhood,
        operator=resident,
    )
    return resident


def _places(resident):
    items = {(i.location.x, i.location.y) for i in Item.objects.filter(owner=resident)}
    relay = RelayPoint.objects.get(operator=resident)
    return items, relay


def test_moving_home_moves_the_items_and_the_hosted_relay(client_for, resident):
    response = client_for(resident).patch(
        URL, {"home": {"type": "Point", "coordinates": list(NEW)}}, format="json"
    )
    assert response.status_code == 200, response.content
    items, relay = _places(resident)
    cell = blurred_point(point(*NEW))
    assert items == {(cell.x, cell.y)}
    assert (relay.location.x, relay.location.y) == NEW
    assert (relay.public_location.x, relay.public_location.y) == (cell.x, cell.y)
    assert relay.is_active


def test_a_geocoded_home_moves_them_too(client_for, resident, geocoders):
    geocoders.nominatim.results["Uusi koti 1"] = nominatim_place(
        lon=NEW[0], lat=NEW[1], display_name="Uusi koti 1, Helsinki"
    )
    response = client_for(resident).patch(URL, {"home_address": "Uusi koti 1"}, format="json")
    assert response.status_code == 200, response.content
    items, relay = _places(resident)
    cell = blurred_point(point(*NEW))
    assert items == {(cell.x, cell.y)}
    assert (relay.location.x, relay.location.y) == NEW


def test_removing_the_home_stops_hosting_and_leaves_the_items(client_for, resident):
    response = client_for(resident).patch(URL, {"home": None}, format="json")
    assert response.status_code == 200
    items, relay = _places(resident)
    cell = blurred_point(point(*OLD))
    assert items == {(cell.x, cell.y)}
    assert not relay.is_active


def test_a_failure_while_following_moves_nothing(resident, monkeypatch):
    def broken(*, operator):
        raise RuntimeError("the relay could not follow")

    monkeypatch.setattr("accounts.homes.relays_follow_home", broken)
    with pytest.raises(RuntimeError):
        profile_update(user=resident, home=point(*NEW))
    resident.refresh_from_db()
    assert (resident.home.x, resident.home.y) == OLD
    items, relay = _places(resident)
    cell = blurred_point(point(*OLD))
    assert items == {(cell.x, cell.y)}
    assert (relay.location.x, relay.location.y) == OLD
