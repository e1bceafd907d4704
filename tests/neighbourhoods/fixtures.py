"""Fixtures of the neighbourhoods, for every test (registered by tests/conftest.py): an association,
its neighbourhood over central Helsinki, and residents who are its members."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from django.contrib.gis.geos import Point

from accounts.models import User
from neighbourhoods.models import Association, Neighbourhood
from tests.accounts.factories import UserFactory
from tests.neighbourhoods.factories import (
    AssociationFactory,
    MembershipFactory,
    NeighbourhoodFactory,
)

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
PASSWORD = "pw-long-enough-1"


@pytest.fixture
def association(db) -> Association:
    return AssociationFactory()


@pytest.fixture
def neighbourhood(association) -> Neighbourhood:
    return NeighbourhoodFactory(association=association, name="Kamppi", central=True)


@pytest.fixture
def make_resident(neighbourhood) -> Callable[..., User]:
    """``make_resident(home=None, *, status="active", name=None, where=None)``: a French-speaking
    resident living at ``home`` (else the next of HOMES), member of ``where`` (else
    ``neighbourhood``) with ``status``."""
    numbers = itertools.count(1)

    def make(
        home: tuple[float, float] | None = None,
        *,
        status: str = "active",
        name: str | None = None,
        where: Neighbourhood | None = None,
    ) -> User:
        n = next(numbers)
        lon, lat = home or HOMES[n % len(HOMES)]
        user = UserFactory(
            email=f"res{n}@example.org",
            display_name=name or f"Res {n}",
            password=PASSWORD,
            language=User.Language.FRENCH,
            home=Point(lon, lat, srid=4326),
        )
        MembershipFactory(user=user, neighbourhood=where or neighbourhood, status=status)
        return user

    return make
