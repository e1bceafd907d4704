"""Relay points and neighbour hosts: found near a place, and their deliveries to come for their
operator."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import GeoJSONPointField
from geo.privacy import coarse_minutes
from geo.serializers import LatLonField
from pooling.models import RelayPoint, WalkProfile
from pooling.serializers.units import HourMinuteField, minutes_up


class RelayQuerySerializer(serializers.Serializer):
    near = LatLonField(help_text="latitude,longitude")
    minutes = serializers.FloatField(min_value=1, max_value=60, default=10)
    profile = serializers.ChoiceField(choices=WalkProfile.choices, required=False)


class RelayBaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RelayPoint.Kind.choices)
    name = serializers.CharField()
    opens_at = HourMinuteField()
    closes_at = HourMinuteField()


class RelayPointSerializer(RelayBaseSerializer):
    """A relay point where it is: for its operator, the courier delivering it and a resident whose
    parcel is planned to wait there."""

    address_label = serializers.CharField()
    location = GeoJSONPointField()


def _is_home(obj: Any) -> bool:
    return bool(obj.kind == RelayPoint.Kind.NEIGHBOUR_HOST)


class RelayPublicSerializer(RelayBaseSerializer):
    """A relay point as anyone but its operator, the courier delivering it and a resident whose
    parcel waits there sees it: a neighbour host's home is shown as the centre of its blur cell,
    without its address."""

    location = serializers.SerializerMethodField()
    address_label = serializers.SerializerMethodField()

    @extend_schema_field(GeoJSONPointField())
    def get_location(self, obj: Any) -> dict[str, Any]:
        place = obj.public_location
        return {"type": "Point", "coordinates": [place.x, place.y]}

    def get_address_label(self, obj: Any) -> str:
        return "" if _is_home(obj) else str(obj.address_label)


class RelayNearbySerializer(RelayPublicSerializer):
    """A walking time to a host is counted to the centre of its blur cell, in whole minutes with
    the same floor as items (``geo.privacy.coarse_minutes``)."""

    seconds = serializers.SerializerMethodField()
    minutes = serializers.SerializerMethodField()

    def get_seconds(self, obj: Any) -> int:
        if _is_home(obj):
            return 60 * self.get_minutes(obj)
        return round(obj.travel_seconds)

    def get_minutes(self, obj: Any) -> int:
        if _is_home(obj):
            return coarse_minutes(obj.travel_seconds)[0]
        return max(1, minutes_up(obj.travel_seconds))


class RelayDeliverySerializer(serializers.Serializer):
    stop = serializers.IntegerField(source="id")
    eta = serializers.DateTimeField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    parcels = serializers.IntegerField()


class RelayWaitingSerializer(serializers.Serializer):
    """A parcel left here that waits for its resident (who shows their pickup code)."""

    order = serializers.IntegerField(source="pk")
    resident_name = serializers.CharField(source="resident.public_name")
    merchant_name = serializers.CharField()
    parcels = serializers.IntegerField(source="parcel_count")
    arrived_at = serializers.DateTimeField(allow_null=True)


class RelayDeliveriesSerializer(serializers.Serializer):
    relay_point = RelayPointSerializer()
    handover_code = serializers.CharField(help_text="Show it to the courier when they deliver.")
    deliveries = RelayDeliverySerializer(many=True)
    awaiting_pickup = RelayWaitingSerializer(
        many=True,
        help_text="Parcels left here for their residents: hand one over with POST "
        "/api/v1/relay-points/{id}/pickups and the resident's pickup code.",
    )
