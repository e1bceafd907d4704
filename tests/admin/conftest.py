"""Two associations, each with a neighbourhood, a hub, a volunteer and some activity: what one
association's volunteer may see and do in the admin, and what they may not."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.test import Client

from accounts.models import User
from neighbourhoods.models import Association, Membership, Neighbourhood
from neighbourhoods.services import staff_grant
from pooling.models import Hub
from sharing.models import Item, Report
from sharing.services.items import item_create
from sharing.services.trust import report_create

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
    association = Association.objects.create(name=f"{name} {n}")
    neighbourhood = Neighbourhood.objects.create(
        association=association,
        name=f"{name} quartier {n}",
        area=MultiPolygon(Polygon.from_bbox((24.90, 60.15, 24.98, 60.19)), srid=4326),
        join_policy=Neighbourhood.JoinPolicy.APPROVAL,
    )
    hub = Hub.objects.create(
        neighbourhood=neighbourhood, name=f"Hub {name} {n}", location=Point(24.9432, 60.1680)
    )
    staff = User.objects.create_user(f"staff{n}@example.org", PASSWORD, display_name=f"Staff {n}")
    staff_grant(user=staff)
    association.staff.add(staff)
    members = []
    for i, (lon, lat) in enumerate(HOMES[:3]):
        user = User.objects.create_user(f"m{n}-{i}@example.org", PASSWORD, display_name=f"M{n}-{i}")
        user.home = Point(lon, lat, srid=4326)
        user.save(update_fields=["home"])
        Membership.objects.create(user=user, neighbourhood=neighbourhood, status="active")
        members.append(user)
    newcomer = User.objects.create_user(f"new{n}@example.org", PASSWORD, display_name=f"New {n}")
    pending = Membership.objects.create(user=newcomer, neighbourhood=neighbourhood)
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
