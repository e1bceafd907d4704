"""Relay points and neighbour hosts: found near a place, and their deliveries to come for their
operator."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.serializers import GeoJSONPointField
from geo.serializers import LatLonField
from pooling.models import RelayPoint, WalkProfile
from pooling.serializers.units import minutes_up


class RelayQuerySerializer(serializers.Serializer):
    near = LatLonField(help_text="latitude,longitude")
    minutes = serializers.FloatField(min_value=1, max_value=60, default=10)
    profile = serializers.ChoiceField(choices=WalkProfile.choices, default=WalkProfile.WALK)


class RelayPointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RelayPoint.Kind.choices)
    name = serializers.CharField()
    address_label = serializers.CharField()
    location = GeoJSONPointField()
    opens_at = serializers.TimeField(format="%H:%M")
    closes_at = serializers.TimeField(format="%H:%M")


class RelayNearbySerializer(RelayPointSerializer):
    seconds = serializers.SerializerMethodField()
    minutes = serializers.SerializerMethodField()

    def get_seconds(self, obj: Any) -> int:
        return round(obj.travel_seconds)

    def get_minutes(self, obj: Any) -> int:
        return max(1, minutes_up(obj.travel_seconds))


class RelayDeliverySerializer(serializers.Serializer):
    stop = serializers.IntegerField(source="id")
    eta = serializers.DateTimeField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    parcels = serializers.IntegerField()


class RelayDeliveriesSerializer(serializers.Serializer):
    relay_point = RelayPointSerializer()
    handover_code = serializers.CharField(help_text="Show it to the courier when they deliver.")
    deliveries = RelayDeliverySerializer(many=True)
