"""Input and output shapes of the neighbourhoods API (explicit fields only)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from geo.serializers import LatLonField
from neighbourhoods.models import Neighbourhood


class NeighbourhoodQuerySerializer(serializers.Serializer):
    at = LatLonField(
        required=False,
        help_text='The place, "latitude,longitude" (the API\'s convention for query strings).',
    )
    lat = serializers.FloatField(
        min_value=-90, max_value=90, required=False, help_text="Older form of at: with lon."
    )
    lon = serializers.FloatField(
        min_value=-180, max_value=180, required=False, help_text="Older form of at: with lat."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "at" in attrs:
            lon, lat = attrs["at"]
        elif "lat" in attrs and "lon" in attrs:
            lon, lat = attrs["lon"], attrs["lat"]
        else:
            message = _('Give the place as at="latitude,longitude".')
            raise serializers.ValidationError({"at": [message]})
        return {"lon": lon, "lat": lat}


class NeighbourhoodSerializer(serializers.ModelSerializer):
    association = serializers.CharField(source="association.name")
    membership = serializers.SerializerMethodField()

    class Meta:
        model = Neighbourhood
        fields = ["id", "name", "association", "join_policy", "membership"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_membership(self, obj: Neighbourhood) -> str | None:
        statuses = self.context.get("memberships", {})
        return statuses.get(obj.pk)


class JoinSerializer(serializers.Serializer):
    ask_me_too = serializers.BooleanField(default=False)


class MembershipSerializer(serializers.Serializer):
    neighbourhood = serializers.IntegerField(source="neighbourhood_id")
    status = serializers.CharField()
    ask_me_too = serializers.BooleanField()
