"""The resident's walking profile is the default of every search by travel time made for them;
an explicit ``profile`` still wins."""

from __future__ import annotations

import pytest

from geo.selectors import route_between
from sharing.models import WantedNotice, WantedRequest
from tests.geo.steps import ABOVE, BELOW, MINUTES, walking_route_takes_steps

pytestmark = pytest.mark.usefixtures("street_graph")

URL = "/api/v1/items/nearby"


def test_the_place_has_steps_a_wheelchair_goes_round():
    assert walking_route_takes_steps(BELOW, ABOVE)
    walk = route_between(start=BELOW, end=ABOVE, profile="walk")
    wheel = route_between(start=BELOW, end=ABOVE, profile="wheelchair")
    assert walk.seconds < MINUTES * 60 < wheel.seconds
    # Not the speed: the walking route at a wheelchair's speed is within the budget.
    assert walk.meters / (3.5 / 3.6) < MINUTES * 60


@pytest.fixture
def items_below_and_above(make_resident, make_item):
    below = make_item(owner=make_resident(BELOW), title="Perceuse du bas")
    above = make_item(owner=make_resident(ABOVE), title="Perceuse du haut")
    return below, above


def _ids(client, **params):
    response = client.get(URL, {"minutes": MINUTES, **params})
    assert response.status_code == 200, response.content
    return [(row["id"], row["travel_minutes"]) for row in response.json()["results"]]


def test_a_wheelchair_users_search_uses_their_profile(
    make_resident, items_below_and_above, client_for
):
    below, above = items_below_and_above
    me = make_resident(BELOW)
    me.walking_profile = "wheelchair"
    me.save(update_fields=["walking_profile"])
    client = client_for(me)

    default = _ids(client)
    assert default == _ids(client, profile="wheelchair")
    assert [pk for pk, _ in default] == [below.pk]
    # An explicit profile wins: walking, the steps lead up to the other drill.
    assert [pk for pk, _ in _ids(client, profile="walk")] == [below.pk, above.pk]


def test_a_walkers_search_is_the_walking_one(make_resident, items_below_and_above, client_for):
    client = client_for(make_resident(BELOW))
    assert _ids(client) == _ids(client, profile="walk")
    assert len(_ids(client)) == 2


def test_a_changed_preference_changes_the_default(make_resident, items_below_and_above, client_for):
    me = make_resident(BELOW)
    client = client_for(me)
    walking = _ids(client)
    patched = client.patch("/api/v1/me", {"walking_profile": "wheelchair"}, format="json")
    assert patched.status_code == 200
    # The next request reads the person afresh (as a token's request does).
    me.refresh_from_db()
    client = client_for(me)
    assert _ids(client) == _ids(client, profile="wheelchair") != walking


def _wanted(client, period, **extra):
    return client.post(
        "/api/v1/wanted/",
        {
            "title": "Perceuse",
            "starts_at": period[0].isoformat(),
            "ends_at": period[1].isoformat(),
            "minutes": MINUTES,
            **extra,
        },
        format="json",
    )


@pytest.mark.parametrize(
    ("extra", "profile", "reaches_above"),
    [({}, "wheelchair", False), ({"profile": "walk"}, "walk", True)],
)
def test_a_wanted_request_reaches_neighbours_with_the_requesters_profile(
    make_resident, items_below_and_above, client_for, period, extra, profile, reaches_above
):
    below, above = items_below_and_above
    me = make_resident(BELOW)
    me.walking_profile = "wheelchair"
    me.save(update_fields=["walking_profile"])

    response = _wanted(client_for(me), period, **extra)

    assert response.status_code == 201, response.content
    wanted = WantedRequest.objects.get(pk=response.json()["id"])
    assert wanted.profile == profile
    told = set(WantedNotice.objects.filter(wanted=wanted).values_list("item_id", flat=True))
    assert told == ({below.pk, above.pk} if reaches_above else {below.pk})


def test_a_walkers_wanted_request_walks(make_resident, items_below_and_above, client_for, period):
    response = _wanted(client_for(make_resident(BELOW)), period)
    assert response.status_code == 201, response.content
    assert WantedRequest.objects.get(pk=response.json()["id"]).profile == "walk"


def test_an_invalid_profile_is_still_refused(make_resident, client_for):
    response = client_for(make_resident(BELOW)).get(URL, {"profile": "car"})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["profile"]
