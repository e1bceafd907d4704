"""Two associations (tests/admin/conftest.py's ``make_side``): ours, whose volunteer registers an
assisted member and acts for them, and theirs, whose volunteer may not. Geocoders are a local
server (``geocoders``): the real geopy client sends every request."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import User
from assistance.services import assisted_member_register
from tests.accounts.geocoder_server import FakeGeocoders, ban_feature
from tests.admin.conftest import Side, make_side

ADDRESS = "12 rue des Lilas 75011 Paris"
# Where the test geocoder puts it: central Helsinki (the test street graph), near ours' lenders.
HOME = (24.9400, 60.1695)
LABEL = "12 Rue des Lilas 75011 Paris"


@dataclass
class World:
    ours: Side
    theirs: Side
    member: User


def register(side: Side, geocoders: FakeGeocoders, **overrides) -> User:
    geocoders.ban.results[ADDRESS] = ban_feature(lon=HOME[0], lat=HOME[1], label=LABEL)
    fields = {
        "volunteer": side.staff,
        "neighbourhood_id": side.neighbourhood.pk,
        "display_name": "Madeleine R.",
        "phone": "01 23 45 67 89",
        "home_address": ADDRESS,
        "walking_profile": "slow",
        "consent_given": True,
        "consent_method": "oral",
        **overrides,
    }
    return assisted_member_register(**fields).user


@pytest.fixture
def world(db, street_graph, geocoders) -> World:
    ours, theirs = make_side("Nord"), make_side("Sud")
    return World(ours=ours, theirs=theirs, member=register(ours, geocoders))
