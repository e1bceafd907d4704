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
from pooling.models import DropKind, Route, Stop
from pooling.serializers.orders import DeliveryDetailsOutSerializer, ParcelSerializer
from pooling.serializers.units import HourMinuteField, km

CODE = re.compile(r"^\d{6}$")


@extend_schema_field(LineStringSchema)
class LineGeoJSONField(serializers.Field):
    def to_representation(self, value: Any) -> dict[str, Any] | None:
        return json.loads(value.json) if value is not None else None


CLIENT_AT_HELP = (
    "When the courier did it, by their phone's clock (ISO 8601 with an offset): an action queued "
    "offline and sent later is applied at this time, once and in order. Absent: now."
)


def client_at_field() -> serializers.DateTimeField:
    return serializers.DateTimeField(required=False, help_text=CLIENT_AT_HELP)


class NotesField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_length=500,
            required=False,
            default="",
            allow_blank=True,
            help_text="The courier's notes (left with the caretaker, parcel damp...).",
            **kwargs,
        )


class RouteStartInputSerializer(StrictFieldsMixin, serializers.Serializer):
    client_at = client_at_field()


class StopDeliveredInputSerializer(StrictFieldsMixin, serializers.Serializer):
    code = serializers.RegexField(CODE, required=False, help_text="The recipient's six digits.")
    photo = serializers.FileField(
        required=False, help_text="JPEG, PNG or WebP, 5 MB at most (stored without EXIF)."
    )
    signature = serializers.FileField(
        required=False,
        help_text="The recipient's signature: a PNG, or an SVG of paths and shapes only.",
    )
    notes = NotesField()
    client_at = client_at_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("code") and not attrs.get("photo") and not attrs.get("signature"):
            raise serializers.ValidationError(
                {"code": [_("Give the recipient's code, a photo or a signature.")]}
            )
        return attrs


class StopFailedInputSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.ChoiceField(choices=Stop.FailReason.choices)
    photo = serializers.FileField(required=False)
    notes = NotesField()
    client_at = client_at_field()


class PositionInputSerializer(StrictFieldsMixin, serializers.Serializer):
    position = PositionField(help_text="[longitude, latitude]")
    at = serializers.DateTimeField(required=False, help_text="When it was measured; now if absent.")
    client_at = serializers.DateTimeField(required=False, help_text="The same as at.")


class DutyInputSerializer(StrictFieldsMixin, serializers.Serializer):
    on_duty = serializers.BooleanField()
    client_at = client_at_field()


class DutySerializer(serializers.Serializer):
    on_duty = serializers.BooleanField()
    since = serializers.DateTimeField(source="on_duty_since", allow_null=True)


class DutyResultSerializer(DutySerializer):
    applied = serializers.BooleanField(
        help_text="False: sent again, or older than your latest change (nothing changed)."
    )


class RelayInfoSerializer(serializers.Serializer):
    opens_at = HourMinuteField()
    closes_at = HourMinuteField()
    instructions = serializers.CharField()


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
    done_at = serializers.DateTimeField(allow_null=True)
    proof = serializers.CharField()
    details = serializers.SerializerMethodField(
        help_text="A home's door code, floor, building, instructions and phone: only while the "
        "round is started (null before and after)."
    )
    relay = serializers.SerializerMethodField(
        help_text="A relay point's or host's opening hours and instructions."
    )
    orders = serializers.SerializerMethodField()
    path = LineGeoJSONField(help_text="The way from the previous stop (or the hub).")

    @extend_schema_field(DeliveryDetailsOutSerializer(allow_null=True))
    def get_details(self, obj: Any) -> dict[str, str] | None:
        if obj.kind != DropKind.HOME or obj.route.status != Route.Status.STARTED:
            return None
        return dict(DeliveryDetailsOutSerializer(obj).data)

    @extend_schema_field(RelayInfoSerializer(allow_null=True))
    def get_relay(self, obj: Any) -> dict[str, Any] | None:
        if obj.relay_point is None:
            return None
        return dict(RelayInfoSerializer(obj.relay_point).data)

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
    proof_notes = serializers.CharField()
    fail_reason = serializers.CharField()
    done_at = serializers.DateTimeField()
    applied = serializers.SerializerMethodField(
        help_text="False: older, by client_at, than the stop's last action (nothing changed)."
    )

    def get_applied(self, obj: Any) -> bool:
        return bool(self.context.get("applied", True))


class PickupInputSerializer(StrictFieldsMixin, serializers.Serializer):
    order = serializers.IntegerField(min_value=1)
    code = serializers.RegexField(CODE, help_text="The resident's pickup code (six digits).")
    client_at = client_at_field()


class PickupResultSerializer(serializers.Serializer):
    order = serializers.IntegerField(source="pk")
    status = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    applied = serializers.SerializerMethodField()

    def get_applied(self, obj: Any) -> bool:
        return bool(self.context.get("applied", True))


class PositionResultSerializer(serializers.Serializer):
    route = serializers.IntegerField(source="route_id", allow_null=True)
    applied = serializers.BooleanField(
        help_text="False: older than the latest position kept (nothing changed)."
    )
    etas = serializers.SerializerMethodField()
    nearby_stops = serializers.ListField(child=serializers.IntegerField(), source="nearby_stop_ids")

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_etas(self, obj: Any) -> dict[str, str]:
        field = serializers.DateTimeField()
        return {str(k): field.to_representation(v) for k, v in obj.etas.items()}
