"""Input and output shapes of the neighbourhoods API (explicit fields only)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from neighbourhoods.models import Neighbourhood


class NeighbourhoodQuerySerializer(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)


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
