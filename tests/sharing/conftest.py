from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from neighbourhoods.models import Association, Membership, Neighbourhood
from sharing.services.items import item_create

_seq = itertools.count(1)
# Homes in central Helsinki, on the test street graph.
HOMES = [
    (24.9384, 60.1699),
    (24.9460, 60.1675),
    (24.9410, 60.1710),
    (24.9350, 60.1665),
    (24.9440, 60.1690),
    (24.9500, 60.1700),
    (24.9320, 60.1690),
    (24.9425, 60.1650),
]


@pytest.fixture
def association(db):
    return Association.objects.create(name=f"Asso {next(_seq)}")


@pytest.fixture
def neighbourhood(association):
    area = MultiPolygon(Polygon.from_bbox((24.90, 60.15, 24.98, 60.19)), srid=4326)
    return Neighbourhood.objects.create(association=association, name="Kamppi", area=area)


@pytest.fixture
def make_resident(neighbourhood):
    def make(home=None, *, status="active", name=None, where=None):
        n = next(_seq)
        lon, lat = home or HOMES[n % len(HOMES)]
        user = User.objects.create_user(
            f"res{n}@example.org", "pw-long-enough-1", display_name=name or f"Res {n}"
        )
        user.home = Point(lon, lat, srid=4326)
        user.save(update_fields=["home"])
        Membership.objects.create(user=user, neighbourhood=where or neighbourhood, status=status)
        return user

    return make


@pytest.fixture
def make_item(make_resident):
    def make(owner=None, title="Perceuse à percussion", category="diy", **kw):
        owner = owner or make_resident()
        return item_create(owner=owner, title=title, category=category, **kw)

    return make


@pytest.fixture
def client_for():
    def make(user):
        client = APIClient()
        client.credentials(HTTP_ACCEPT_LANGUAGE="en")
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def period():
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    return start, start + timedelta(days=2)
