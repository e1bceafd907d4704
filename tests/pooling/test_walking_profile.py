"""Relay points near a resident and their receiving choice default to the resident's walking
profile; an explicit profile still wins."""

from __future__ import annotations

import pytest

from pooling.models import Order, ReceivingPreference
from tests.geo.steps import ABOVE, BELOW, MINUTES
from tests.pooling.factories import RelayPointFactory, ResidentFactory, point

pytestmark = pytest.mark.django_db


def _near(client, **params):
    response = client.get(
        "/api/v1/relay-points", {"near": f"{BELOW[1]},{BELOW[0]}", "minutes": MINUTES, **params}
    )
    assert response.status_code == 200, response.content
    return [(row["id"], row["seconds"]) for row in response.json()]


def test_relay_points_near_a_wheelchair_user_are_those_a_wheelchair_reaches(
    client_for, street_graph
):
    below = RelayPointFactory(location=point(*BELOW), name="Below")
    above = RelayPointFactory(location=point(*ABOVE), name="Above")
    client = client_for(ResidentFactory(walking_profile="wheelchair"))

    default = _near(client)

    assert default == _near(client, profile="wheelchair")
    assert [pk for pk, _ in default] == [below.pk]
    assert [pk for pk, _ in _near(client, profile="walk")] == [below.pk, above.pk]
    walker = client_for(ResidentFactory())
    assert _near(walker) == _near(walker, profile="walk") != default


def test_receiving_choices_default_to_the_residents_walking_profile(client_for):
    resident = ResidentFactory(walking_profile="slow")
    client = client_for(resident)

    assert client.get("/api/v1/orders/receiving").json()["walk_profile"] == "slow"
    response = client.put(
        "/api/v1/orders/receiving", {"mode": "any", "max_walk_minutes": 7}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["walk_profile"] == "slow"
    assert ReceivingPreference.objects.get(resident=resident).walk_profile == "slow"
    explicit = client.put(
        "/api/v1/orders/receiving",
        {"mode": "any", "max_walk_minutes": 7, "walk_profile": "wheelchair"},
        format="json",
    )
    assert explicit.json()["walk_profile"] == "wheelchair"


def test_an_order_declared_without_a_walk_profile_takes_the_residents(client_for, neighbourhood):
    resident = ResidentFactory(walking_profile="wheelchair")
    response = client_for(resident).post(
        "/api/v1/orders/",
        {
            "merchant_name": "Verkkokauppa",
            "carrier": "Posti",
            "tracking_number": "JJFI43",
            "expected_on": "2026-05-15",
            "parcels": [{"size": "s", "weight": "light"}],
            "receiving": {"mode": "any", "max_walk_minutes": 8},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Order.objects.get(pk=response.json()["id"]).walk_profile == "wheelchair"
