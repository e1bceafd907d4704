"""Input and output shapes of the geo API. Coordinates in query strings are ``lat,lon`` (as in
../shared/API.md); in bodies and responses they are GeoJSON positions ``[lon, lat]``."""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from geo.profiles import PROFILES


def check_lon_lat(lon: float, lat: float) -> tuple[float, float]:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise serializers.ValidationError(_("Coordinates must be finite numbers."))
    if not -90.0 <= lat <= 90.0:
        raise serializers.ValidationError(_("Latitude must be between -90 and 90."))
    if not -180.0 <= lon <= 180.0:
        raise serializers.ValidationError(_("Longitude must be between -180 and 180."))
    return lon, lat


@extend_schema_field(
    {"type": "string", "example": "48.8625,2.3600", "pattern": r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$"}
)
class LatLonField(serializers.Field):
    """``"lat,lon"`` in a query string, to a ``(lon, lat)`` pair."""

    default_error_messages = {
        "format": _('Expected "latitude,longitude", for example "48.8625,2.3600".')
    }

    def to_internal_value(self, data: Any) -> tuple[float, float]:
        if not isinstance(data, str) or data.count(",") != 1:
            self.fail("format")
        try:
            lat, lon = (float(part) for part in data.split(","))
        except ValueError:
            self.fail("format")
        return check_lon_lat(lon, lat)

    def to_representation(self, value: tuple[float, float]) -> str:
        return f"{value[1]},{value[0]}"


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "number"},
        "minItems": 2,
        "maxItems": 2,
        "example": [2.36, 48.8625],
    }
)
class PositionField(serializers.Field):
    """A GeoJSON position ``[lon, lat]``."""

    default_error_messages = {"format": _("Expected a position [longitude, latitude].")}

    def to_internal_value(self, data: Any) -> tuple[float, float]:
        if not isinstance(data, list | tuple) or len(data) != 2:
            self.fail("format")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in data):
            self.fail("format")
        return check_lon_lat(float(data[0]), float(data[1]))

    def to_representation(self, value: tuple[float, float]) -> list[float]:
        return [value[0], value[1]]


class RouteQuerySerializer(serializers.Serializer):
    from_ = LatLonField(label="from", help_text="Start, as latitude,longitude.")
    to = LatLonField(help_text="End, as latitude,longitude.")
    profile = serializers.ChoiceField(choices=PROFILES, default="walk")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class LineStringSchema(serializers.Serializer):
    type = serializers.CharField(default="LineString")
    coordinates = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()))


class RouteSerializer(serializers.Serializer):
    profile = serializers.CharField()
    meters = serializers.IntegerField(help_text="Length of the route in meters, door to door.")
    seconds = serializers.IntegerField(help_text="Travel time in seconds at the profile's speed.")
    minutes = serializers.IntegerField(help_text="Travel time rounded up to whole minutes.")
    geometry = serializers.SerializerMethodField()

    @extend_schema_field(LineStringSchema)
    def get_geometry(self, obj: Any) -> dict[str, Any]:
        return json.loads(obj.geometry.json)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {
            "profile": instance.profile,
            "meters": round(instance.meters),
            "seconds": round(instance.seconds),
            "minutes": max(1, math.ceil(instance.seconds / 60)),
            "geometry": self.get_geometry(instance),
        }


class IsochroneQuerySerializer(serializers.Serializer):
    at = LatLonField(help_text="Origin, as latitude,longitude.")
    minutes = serializers.FloatField(min_value=1, max_value=settings.GEO_ISOCHRONE_MAX_MINUTES)
    profile = serializers.ChoiceField(choices=PROFILES, default="walk")


class IsochroneSerializer(serializers.Serializer):
    profile = serializers.CharField()
    minutes = serializers.FloatField()
    geometry = serializers.JSONField(
        help_text="GeoJSON Polygon or MultiPolygon of the reachable area."
    )


class MatrixRequestSerializer(serializers.Serializer):
    points = serializers.ListField(
        child=PositionField(),
        min_length=2,
        max_length=settings.GEO_MATRIX_MAX_POINTS,
        help_text=f"Up to {settings.GEO_MATRIX_MAX_POINTS} GeoJSON positions [lon, lat].",
    )
    profile = serializers.ChoiceField(choices=PROFILES, default="walk")


class MatrixSerializer(serializers.Serializer):
    profile = serializers.CharField()
    seconds = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(allow_null=True)),
        help_text="seconds[i][j] from point i to point j; null where no route exists.",
    )
    meters = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(allow_null=True))
    )
    snapped = serializers.ListField(
        child=serializers.BooleanField(), help_text="false for a point too far from any usable way."
    )


__all__ = ["OpenApiTypes"]
