"""Couriers' rounds: the day's list, a round with its stops and parcels, a stop delivered (with a
proof) or failed, and live positions with the ETAs they move."""

from __future__ import annotations

import json
import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import GeoJSONPointField, StrictFieldsMixin
from geo.serializers import LineStringSchema, PositionField
from pooling.models import DropKind, Stop
from pooling.serializers.orders import ParcelSerializer
from pooling.serializers.units import km

CODE = re.compile(r"^\d{6}$")


@extend_schema_field(LineStringSchema)
class LineGeoJSONField(serializers.Field):
    def to_representation(self, value: Any) -> dict[str, Any] | None:
        return json.loads(value.json) if value is not None else None


class StopDeliveredInputSerializer(StrictFieldsMixin, serializers.Serializer):
    code = serializers.RegexField(CODE, required=False, help_text="The recipient's six digits.")
    photo = serializers.FileField(required=False, help_text="JPEG, PNG or WebP, 5 MB at most.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("code") and not attrs.get("photo"):
            raise serializers.ValidationError(
                {"code": [_("Give the recipient's code or a photo.")]}
            )
        return attrs


class StopFailedInputSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.ChoiceField(choices=Stop.FailReason.choices)
    photo = serializers.FileField(required=False)


class PositionInputSerializer(StrictFieldsMixin, serializers.Serializer):
    position = PositionField(help_text="[longitude, latitude]")
    at = serializers.DateTimeField(required=False, help_text="When it was measured; now if absent.")


class CourierRouteSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id")
    day = serializers.DateField(source="batch.day")
    number = serializers.IntegerField()
    vehicle = serializers.CharField()
    status = serializers.CharField()
    planned_start = serializers.DateTimeField()
    planned_end = serializers.DateTimeField()
    km = serializers.SerializerMethodField()
    stops = serializers.IntegerField(source="stop_count")

    def get_km(self, obj: Any) -> float:
        return km(obj.meters)


class StopParcelGroupSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    parcels = ParcelSerializer(many=True)


class CourierStopSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DropKind.choices)
    name = serializers.SerializerMethodField(help_text="The resident's or the relay's name.")
    label = serializers.CharField(help_text="Address.")  # type: ignore[assignment]
    location = GeoJSONPointField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    eta = serializers.DateTimeField()
    service_seconds = serializers.IntegerField()
    meters_from_previous = serializers.IntegerField()
    status = serializers.CharField()
    orders = serializers.SerializerMethodField()
    path = LineGeoJSONField(help_text="The way from the previous stop (or the hub).")

    def get_name(self, obj: Any) -> str:
        if obj.relay_point is not None:
            return obj.relay_point.name
        return obj.resident.public_name if obj.resident is not None else ""

    @extend_schema_field(StopParcelGroupSerializer(many=True))
    def get_orders(self, obj: Any) -> list[dict[str, Any]]:
        return [
            {
                "order_id": a.order_id,
                "carrier": a.order.carrier,
                "tracking_number": a.order.tracking_number,
                "parcels": ParcelSerializer(a.order.parcels.all(), many=True).data,
            }
            for a in getattr(obj, "active", [])
        ]


class CourierRouteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id")
    number = serializers.IntegerField()
    vehicle = serializers.CharField()
    profile = serializers.CharField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    planned_start = serializers.DateTimeField()
    planned_end = serializers.DateTimeField()
    km = serializers.SerializerMethodField()
    load_units = serializers.IntegerField()
    load_kg = serializers.IntegerField()
    hub = serializers.SerializerMethodField()
    stops = CourierStopSerializer(many=True, source="stops.all")
    return_path = LineGeoJSONField()

    def get_km(self, obj: Any) -> float:
        return km(obj.meters)

    @extend_schema_field({"type": "object"})
    def get_hub(self, obj: Any) -> dict[str, Any]:
        hub = obj.batch.hub
        return {
            "name": hub.name,
            "address_label": hub.address_label,
            "location": {"type": "Point", "coordinates": [hub.location.x, hub.location.y]},
        }


class StopResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    proof = serializers.CharField()
    fail_reason = serializers.CharField()
    done_at = serializers.DateTimeField()


class PositionResultSerializer(serializers.Serializer):
    route = serializers.IntegerField(source="route_id", allow_null=True)
    etas = serializers.SerializerMethodField()
    nearby_stops = serializers.ListField(child=serializers.IntegerField(), source="nearby_stop_ids")

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_etas(self, obj: Any) -> dict[str, str]:
        field = serializers.DateTimeField()
        return {str(k): field.to_representation(v) for k, v in obj.etas.items()}
