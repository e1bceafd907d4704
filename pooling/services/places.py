"""Merchants, hubs, couriers and relay points: set up by the association (admin, seed data)."""

from __future__ import annotations

import secrets
from datetime import time

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction

from accounts.models import User
from geo.privacy import blurred_point
from geo.snapping import snap_fields
from neighbourhoods.models import Neighbourhood
from pooling.models import Courier, Hub, Merchant, RelayPoint
from pooling.webhooks import MerchantCredentials, api_key_hash, credentials_new


def merchant_create(*, name: str, default_carrier: str = "") -> MerchantCredentials:
    """A merchant with a new API key and signing secret, returned once (only the key's hash is
    stored)."""
    api_key, prefix, secret = credentials_new()
    with transaction.atomic():
        merchant = Merchant.objects.create(
            name=name,
            api_key_prefix=prefix,
            api_key_hash=api_key_hash(api_key),
            signing_secret=secret,
            default_carrier=default_carrier,
        )
    return MerchantCredentials(merchant=merchant, api_key=api_key, signing_secret=secret)


def hub_create(
    *,
    neighbourhood: Neighbourhood,
    name: str,
    lon: float,
    lat: float,
    address_label: str = "",
    cutoff_time: time = time(7, 0),
    loading_seconds: int = 300,
) -> Hub:
    with transaction.atomic():
        return Hub.objects.create(
            neighbourhood=neighbourhood,
            name=name,
            location=Point(lon, lat, srid=settings.GEO_SRID),
            address_label=address_label,
            cutoff_time=cutoff_time,
            loading_seconds=loading_seconds,
        )


def courier_create(
    *,
    user: User,
    hub: Hub,
    vehicle: str,
    shift_start: time,
    shift_end: time,
    capacity_units: int | None = None,
    capacity_kg: int | None = None,
) -> Courier:
    defaults = settings.POOLING_DEFAULT_CAPACITY[vehicle]
    with transaction.atomic():
        return Courier.objects.create(
            user=user,
            hub=hub,
            vehicle=vehicle,
            capacity_units=capacity_units or defaults["units"],
            capacity_kg=capacity_kg or defaults["kg"],
            shift_start=shift_start,
            shift_end=shift_end,
        )


def public_location_for(*, kind: str, location: Point) -> Point:
    """What others see of a relay point's place: the place itself, or for a neighbour host (a
    home) the centre of its blur cell."""
    if kind == RelayPoint.Kind.NEIGHBOUR_HOST:
        return blurred_point(location)
    return location


def relay_point_create(
    *,
    kind: str,
    name: str,
    lon: float,
    lat: float,
    neighbourhood: Neighbourhood | None = None,
    operator: User | None = None,
    capacity_per_day: int = 20,
    opens_at: time = time(9, 0),
    closes_at: time = time(19, 0),
    address_label: str = "",
) -> RelayPoint:
    location = Point(lon, lat, srid=settings.GEO_SRID)
    with transaction.atomic():
        return RelayPoint.objects.create(
            kind=kind,
            name=name,
            location=location,
            public_location=public_location_for(kind=kind, location=location),
            neighbourhood=neighbourhood,
            operator=operator,
            capacity_per_day=capacity_per_day,
            opens_at=opens_at,
            closes_at=closes_at,
            address_label=address_label,
            handover_code=f"{secrets.randbelow(1_000_000):06d}",
        )


@transaction.atomic
def relay_point_update(*, relay: RelayPoint) -> RelayPoint:
    """Saves a relay point changed by the association (the panel's form), keeping what others see
    of its place in step: a host's place is always its operator's home."""
    operator = relay.operator
    if relay.kind == RelayPoint.Kind.NEIGHBOUR_HOST and operator is not None and operator.home:
        relay.location = operator.home
    relay.public_location = public_location_for(kind=relay.kind, location=relay.location)
    relay.save()
    return relay


def relays_follow_home(*, operator: User) -> int:
    """Inside the transaction that moves a resident's home: the relay points they host move with
    it (a host without a home any more stops hosting). Returns how many changed."""
    hosted = RelayPoint.objects.filter(kind=RelayPoint.Kind.NEIGHBOUR_HOST, operator=operator)
    if operator.home is None:
        return hosted.update(is_active=False)
    public = public_location_for(kind=RelayPoint.Kind.NEIGHBOUR_HOST, location=operator.home)
    return hosted.update(location=operator.home, public_location=public, **snap_fields(public))
