"""Factories of the pooling tests (factory_boy), on the Helsinki test street graph."""

from __future__ import annotations

import itertools
import secrets
from datetime import date, time

import factory
from django.conf import settings
from django.contrib.gis.geos import Point

from accounts.models import User
from neighbourhoods.models import Neighbourhood
from pooling.models import Batch, Courier, Hub, Order, Parcel, RelayPoint
from pooling.services.places import public_location_for
from tests.accounts.factories import UserFactory
from tests.neighbourhoods.factories import NeighbourhoodFactory

# Points on the street graph of the test extract (central Helsinki): each snaps within 30 m and
# every pair is connected both ways for walking, wheelchair and bike (some nearby points are not:
# one-way knots on the bike graph).
SPOTS = [
    (24.9432, 60.1650),
    (24.9458, 60.1650),
    (24.9484, 60.1650),
    (24.9406, 60.1670),
    (24.9432, 60.1670),
    (24.9458, 60.1670),
    (24.9510, 60.1670),
    (24.9432, 60.1690),
    (24.9470, 60.1660),
    (24.9495, 60.1680),
    (24.9510, 60.1690),
    (24.9380, 60.1710),
    (24.9432, 60.1710),
    (24.9510, 60.1710),
    (24.9380, 60.1730),
    (24.9432, 60.1730),
    (24.9484, 60.1730),
    (24.9380, 60.1750),
    (24.9445, 60.1740),
    (24.9380, 60.1770),
    (24.9484, 60.1770),
    (24.9510, 60.1770),
    (24.9400, 60.1690),
    (24.9500, 60.1740),
    (24.9420, 60.1760),
]
HUB = (24.9432, 60.1680)
# A Friday: the day the tests plan.
DAY = date(2026, 5, 15)
_spot = itertools.count()


def point(lon: float, lat: float) -> Point:
    return Point(lon, lat, srid=settings.GEO_SRID)


class HubFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hub

    name = factory.Sequence(lambda n: f"Hub {n}")
    neighbourhood = factory.SubFactory(NeighbourhoodFactory)
    location = factory.LazyFunction(lambda: point(*HUB))
    cutoff_time = time(7, 0)
    loading_seconds = 300


class ResidentFactory(UserFactory):
    home = factory.LazyFunction(lambda: point(*SPOTS[next(_spot) % len(SPOTS)]))
    home_address = factory.Sequence(lambda n: f"Mannerheimintie {n}, Helsinki")


class CourierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Courier

    user = factory.SubFactory(UserFactory)
    hub = factory.SubFactory(HubFactory)
    vehicle = "cargo_bike"
    capacity_units = 12
    capacity_kg = 60
    shift_start = time(9, 0)
    shift_end = time(17, 0)


class RelayPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RelayPoint

    kind = RelayPoint.Kind.SHOP
    name = factory.Sequence(lambda n: f"Kiosk {n}")
    address_label = factory.Sequence(lambda n: f"Aleksanterinkatu {n}")
    location = factory.LazyFunction(lambda: point(*SPOTS[0]))
    public_location = factory.LazyAttribute(
        lambda relay: public_location_for(kind=relay.kind, location=relay.location)
    )
    capacity_per_day = 30
    opens_at = time(8, 0)
    closes_at = time(20, 0)
    handover_code = factory.LazyFunction(lambda: f"{secrets.randbelow(1_000_000):06d}")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order
        skip_postgeneration_save = True

    resident = factory.SubFactory(ResidentFactory)
    source = Order.Source.RESIDENT
    merchant_name = "Librairie"
    carrier = "Posti"
    tracking_number = factory.Sequence(lambda n: f"JJFI{n:010d}")
    expected_on = DAY
    neighbourhood = None
    receive_mode = "home"
    delivery_code = factory.LazyFunction(lambda: f"{secrets.randbelow(1_000_000):06d}")

    @factory.post_generation
    def parcels(self, create, extracted, **kwargs):
        if not create:
            return
        for size, weight in extracted or [("m", "light")]:
            Parcel.objects.create(order=self, size=size, weight=weight)


class BatchFactory(factory.django.DjangoModelFactory):
    """The day's pending batch of a hub's neighbourhood."""

    class Meta:
        model = Batch

    hub = factory.SubFactory(HubFactory)
    neighbourhood = factory.SelfAttribute("hub.neighbourhood")
    day = DAY


def make_staff(neighbourhood: Neighbourhood) -> User:
    user = UserFactory()
    neighbourhood.association.staff.add(user)
    return user
