"""Two associations, each with a neighbourhood, a hub, a volunteer and some activity: what one
association's volunteer may see and do in the admin, and what they may not."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from accounts.models import User
from neighbourhoods.models import Association, Membership, Neighbourhood
from neighbourhoods.services import staff_grant
from pooling.models import Hub
from sharing.models import Item, Report
from sharing.services.items import item_create
from sharing.services.trust import report_create
from tests.accounts.factories import UserFactory
from tests.neighbourhoods.factories import (
    AssociationFactory,
    MembershipFactory,
    NeighbourhoodFactory,
)
from tests.pooling.factories import HubFactory

PASSWORD = "a-long-passphrase-42"
_seq = itertools.count(1)
HOMES = [(24.9384, 60.1699), (24.9460, 60.1675), (24.9410, 60.1710), (24.9440, 60.1690)]


@dataclass
class Side:
    association: Association
    neighbourhood: Neighbourhood
    hub: Hub
    staff: User
    members: list[User]
    pending: Membership
    item: Item
    report: Report


def make_side(name: str) -> Side:
    n = next(_seq)
    staff = staff_grant(
        user=UserFactory(
            email=f"staff{n}@example.org",
            password=PASSWORD,
            display_name=f"Staff {n}",
            language="fr",
        )
    )
    association = AssociationFactory(name=f"{name} {n}", staff=[staff])
    neighbourhood = NeighbourhoodFactory(
        association=association,
        name=f"{name} quartier {n}",
        central=True,
        join_policy=Neighbourhood.JoinPolicy.APPROVAL,
    )
    hub = HubFactory(neighbourhood=neighbourhood, name=f"Hub {name} {n}")
    members = [
        MembershipFactory(
            neighbourhood=neighbourhood,
            user__email=f"m{n}-{i}@example.org",
            user__password=PASSWORD,
            user__display_name=f"M{n}-{i}",
            user__language="fr",
            user__home=Point(lon, lat, srid=4326),
        ).user
        for i, (lon, lat) in enumerate(HOMES[:3])
    ]
    pending = MembershipFactory(
        neighbourhood=neighbourhood,
        status=Membership.Status.PENDING,
        user__email=f"new{n}@example.org",
        user__password=PASSWORD,
        user__display_name=f"New {n}",
        user__language="fr",
    )
    item = item_create(owner=members[0], title=f"Perceuse {name}", category="diy")
    report = report_create(
        reporter=members[1], target="item", item_id=item.pk, reason="Annonce douteuse"
    )
    return Side(association, neighbourhood, hub, staff, members, pending, item, report)


@pytest.fixture
def ours(db, street_graph) -> Side:
    return make_side("Nord")


@pytest.fixture
def theirs(db, street_graph) -> Side:
    return make_side("Sud")


@pytest.fixture
def admin_client():
    def make(user: User) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="fr")
        client.force_login(user)
        return client

    return make
