"""Input and output shapes of the pooling API. Explicit fields everywhere; meters and seconds
inside, kilometres, kilograms and minutes only here, at the edge."""

from __future__ import annotations

import json
import math
import re
from datetime import time, timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import GeoJSONPointField, StrictFieldsMixin
from geo.serializers import LatLonField, LineStringSchema, PositionField
from pooling.models import (
    DropKind,
    ParcelSize,
    ParcelWeight,
    ReceiveMode,
    RelayPoint,
    Stop,
    VehicleKind,
    WalkProfile,
)

MAX_PARCELS = 20
MAX_WINDOWS = 7
CODE = re.compile(r"^\d{6}$")


def km(meters: float | None) -> float:
    return round((meters or 0) / 1000.0, 2)


def kg(grams: float | None) -> float:
    return round((grams or 0) / 1000.0, 2)


def minutes_up(seconds: float) -> int:
    return max(0, math.ceil(seconds / 60))


@extend_schema_field(LineStringSchema)
class LineGeoJSONField(serializers.Field):
    def to_representation(self, value: Any) -> dict[str, Any] | None:
        return json.loads(value.json) if value is not None else None


# --- inputs ---------------------------------------------------------------------------------------


class ParcelInputSerializer(StrictFieldsMixin, serializers.Serializer):
    size = serializers.ChoiceField(choices=ParcelSize.choices)
    weight = serializers.ChoiceField(choices=ParcelWeight.choices)


class MerchantOrderInputSerializer(StrictFieldsMixin, serializers.Serializer):
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    resident_email = serializers.EmailField(help_text="The customer's Voisinage account email.")
    carrier = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
    tracking_number = serializers.CharField(
        max_length=80, required=False, default="", allow_blank=True
    )
    expected_on = serializers.DateField(help_text="The day the parcel reaches the hub.")
    parcels = ParcelInputSerializer(many=True, min_length=1, max_length=MAX_PARCELS)  # type: ignore[call-arg]


class MerchantOrderOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField(source="merchant_reference")
    status = serializers.CharField()
    expected_on = serializers.DateField()
    created_at = serializers.DateTimeField()


class ReceivingInputSerializer(StrictFieldsMixin, serializers.Serializer):
    mode = serializers.ChoiceField(choices=ReceiveMode.choices)
    relay_point = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="A specific relay point or host."
    )
    max_walk_minutes = serializers.IntegerField(min_value=0, max_value=60, default=10)
    walk_profile = serializers.ChoiceField(choices=WalkProfile.choices, default=WalkProfile.WALK)


class WindowSerializer(StrictFieldsMixin, serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": [_("A window ends after it starts.")]})
        if attrs["ends_at"] - attrs["starts_at"] > timedelta(hours=14):
            raise serializers.ValidationError({"ends_at": [_("A window lasts 14 hours at most.")]})
        return attrs


class OrderDeclareInputSerializer(StrictFieldsMixin, serializers.Serializer):
    merchant_name = serializers.CharField(
        max_length=120, required=False, default="", allow_blank=True
    )
    carrier = serializers.CharField(max_length=60)
    tracking_number = serializers.CharField(max_length=80)
    expected_on = serializers.DateField()
    parcels = ParcelInputSerializer(many=True, min_length=1, max_length=MAX_PARCELS)  # type: ignore[call-arg]
    receiving = ReceivingInputSerializer(required=False)
    windows = WindowSerializer(many=True, required=False, max_length=MAX_WINDOWS, default=list)  # type: ignore[call-arg]


class OrderUpdateInputSerializer(StrictFieldsMixin, serializers.Serializer):
    receiving = ReceivingInputSerializer(required=False)
    windows = WindowSerializer(many=True, required=False, max_length=MAX_WINDOWS)  # type: ignore[call-arg]


class WeeklyWindowSerializer(StrictFieldsMixin, serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 is Monday.")
    start = serializers.TimeField(format="%H:%M")
    end = serializers.TimeField(format="%H:%M")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": [_("A window ends after it starts.")]})
        return attrs


class PreferenceInputSerializer(ReceivingInputSerializer):
    home_windows = WeeklyWindowSerializer(many=True, default=list, max_length=21)  # type: ignore[call-arg]


class PreferenceSerializer(serializers.Serializer):
    mode = serializers.CharField()
    relay_point = serializers.IntegerField(source="relay_point_id", allow_null=True)
    max_walk_minutes = serializers.SerializerMethodField()
    walk_profile = serializers.CharField()
    home_windows = serializers.JSONField()

    def get_max_walk_minutes(self, obj: Any) -> int:
        return round(obj.max_walk_seconds / 60)


def weekly_as_json(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def hhmm(value: time) -> str:
        return value.strftime("%H:%M")

    return [
        {"weekday": e["weekday"], "start": hhmm(e["start"]), "end": hhmm(e["end"])} for e in entries
    ]


class RelayQuerySerializer(serializers.Serializer):
    near = LatLonField(help_text="latitude,longitude")
    minutes = serializers.FloatField(min_value=1, max_value=60, default=10)
    profile = serializers.ChoiceField(choices=WalkProfile.choices, default=WalkProfile.WALK)


class BatchCreateInputSerializer(StrictFieldsMixin, serializers.Serializer):
    neighbourhood = serializers.IntegerField()
    day = serializers.DateField(required=False, help_text="Defaults to today (local time).")


class ImpactQuerySerializer(serializers.Serializer):
    neighbourhood = serializers.IntegerField()
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)


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


# --- outputs --------------------------------------------------------------------------------------


class ParcelSerializer(serializers.Serializer):
    size = serializers.CharField()
    weight = serializers.CharField()


class WindowOutSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


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


class DeliverySerializer(serializers.Serializer):
    """Where and when an order is delivered, once it is on a plan."""

    batch_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DropKind.choices)
    relay_point = RelayPointSerializer(allow_null=True)
    walk_minutes = serializers.IntegerField(allow_null=True)
    window_start = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField(allow_null=True)
    eta = serializers.DateTimeField(allow_null=True)
    stop_status = serializers.CharField(allow_null=True)


class OrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.source
    merchant_name = serializers.CharField()
    merchant_reference = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    expected_on = serializers.DateField()
    status = serializers.CharField()
    receive_mode = serializers.ChoiceField(choices=ReceiveMode.choices)
    relay_point = RelayPointSerializer(allow_null=True)
    max_walk_minutes = serializers.SerializerMethodField()
    walk_profile = serializers.CharField()
    windows = WindowOutSerializer(many=True, source="windows.all")
    parcels = ParcelSerializer(many=True, source="parcels.all")
    delivery_code = serializers.CharField(help_text="Show it to the courier at home delivery.")
    delivery = serializers.SerializerMethodField()
    attempts = serializers.IntegerField()
    in_pooling_area = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_max_walk_minutes(self, obj: Any) -> int:
        return round(obj.max_walk_seconds / 60)

    def get_in_pooling_area(self, obj: Any) -> bool:
        return obj.neighbourhood_id is not None

    @extend_schema_field(DeliverySerializer(allow_null=True))
    def get_delivery(self, obj: Any) -> dict[str, Any] | None:
        active = getattr(obj, "active", None)
        if not active or not active[0].drop_kind:
            return None
        a = active[0]
        stop = a.stop
        return DeliverySerializer(
            {
                "batch_id": a.batch_id,
                "kind": a.drop_kind,
                "relay_point": a.relay_point,
                "walk_minutes": minutes_up(a.walk_seconds) if a.walk_seconds is not None else None,
                "window_start": a.planned_window_start,
                "window_end": a.planned_window_end,
                "eta": stop.eta if stop else None,
                "stop_status": stop.status if stop else None,
            }
        ).data


class ImpactSerializer(serializers.Serializer):
    """Figures of a plan, and of the two baselines on the same street graph."""

    def to_representation(self, impact: Any) -> dict[str, Any]:
        factors = settings.POOLING_EMISSION_FACTORS
        return {
            "orders": impact.orders,
            "parcels": impact.parcels,
            "stops": impact.stops,
            "rounds": impact.rounds,
            "vehicle_km": km(impact.vehicle_meters),
            "co2_kg": kg(impact.co2_grams),
            "by_vehicle": {
                vehicle: {
                    "km": km(row["meters"]),
                    "rounds": row["rounds"],
                    "stops": row["stops"],
                    "co2_kg": kg(row["co2_grams"]),
                }
                for vehicle, row in sorted(impact.by_vehicle.items())
            },
            "per_parcel": {
                "km": km(impact.per_parcel_meters),
                "trips": impact.per_parcel_trips,
                "co2_kg": kg(impact.per_parcel_co2_grams),
            },
            "per_carrier": {
                "km": km(impact.per_carrier_meters),
                "rounds": impact.per_carrier_rounds,
                "stops": impact.per_carrier_stops,
                "co2_kg": kg(impact.per_carrier_co2_grams),
            },
            "saved_vs_per_carrier": {
                "km": km(impact.per_carrier_meters - impact.vehicle_meters),
                "co2_kg": kg(impact.per_carrier_co2_grams - impact.co2_grams),
            },
            "saved_vs_per_parcel": {
                "km": km(impact.per_parcel_meters - impact.vehicle_meters),
                "co2_kg": kg(impact.per_parcel_co2_grams - impact.co2_grams),
            },
            "baseline_vehicle": impact.baseline_vehicle,
            "emission_factors": {
                name: {"kg_co2e_per_km": f["kg_co2e_per_km"], "source": f["source"]}
                for name, f in sorted(factors.items())
            },
        }


IMPACT_SCHEMA = {
    "type": "object",
    "properties": {
        "orders": {"type": "integer"},
        "parcels": {"type": "integer"},
        "stops": {"type": "integer"},
        "rounds": {"type": "integer"},
        "vehicle_km": {"type": "number"},
        "co2_kg": {"type": "number"},
        "by_vehicle": {"type": "object", "additionalProperties": {"type": "object"}},
        "per_parcel": {"type": "object", "description": "Baseline (a): one trip per parcel."},
        "per_carrier": {
            "type": "object",
            "description": "Baseline (b): each carrier in its own optimised round.",
        },
        "saved_vs_per_carrier": {"type": "object"},
        "saved_vs_per_parcel": {"type": "object"},
        "baseline_vehicle": {"type": "string"},
        "emission_factors": {"type": "object"},
    },
}


class BatchStopSerializer(serializers.Serializer):
    """A stop as staff see it: a home is never located for them."""

    id = serializers.IntegerField()
    position = serializers.IntegerField()
    kind = serializers.CharField()
    relay_point = serializers.IntegerField(source="relay_point_id", allow_null=True)
    location = serializers.SerializerMethodField()
    eta = serializers.DateTimeField()
    parcels = serializers.IntegerField()
    status = serializers.CharField()

    @extend_schema_field({"type": "object", "nullable": True, "description": "Relays only."})
    def get_location(self, obj: Any) -> dict[str, Any] | None:
        if obj.kind == DropKind.HOME:
            return None
        return {"type": "Point", "coordinates": [obj.location.x, obj.location.y]}


class BatchRouteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    courier = serializers.IntegerField(source="courier_id")
    courier_name = serializers.SerializerMethodField()
    number = serializers.IntegerField()
    vehicle = serializers.ChoiceField(choices=VehicleKind.choices)
    status = serializers.CharField()
    planned_start = serializers.DateTimeField()
    planned_end = serializers.DateTimeField()
    km = serializers.SerializerMethodField()
    load_units = serializers.IntegerField()
    load_kg = serializers.IntegerField()
    stops = BatchStopSerializer(many=True, source="stops.all")

    def get_courier_name(self, obj: Any) -> str:
        return str(obj.courier.user)

    def get_km(self, obj: Any) -> float:
        return km(obj.meters)


class BatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    neighbourhood = serializers.IntegerField(source="neighbourhood_id")
    hub = serializers.IntegerField(source="hub_id")
    day = serializers.DateField()
    status = serializers.CharField()
    progress = serializers.SerializerMethodField()
    version = serializers.IntegerField()
    error_code = serializers.CharField()
    left_out = serializers.JSONField()
    planned_at = serializers.DateTimeField(allow_null=True)
    routes = serializers.SerializerMethodField()
    impact = serializers.SerializerMethodField()

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"percent": {"type": "integer"}, "stage": {"type": "string"}},
        }
    )
    def get_progress(self, obj: Any) -> dict[str, Any]:
        return {"percent": obj.progress_percent, "stage": obj.progress_stage}

    @extend_schema_field(BatchRouteSerializer(many=True))
    def get_routes(self, obj: Any) -> list[dict[str, Any]]:
        routes = obj.routes.all() if getattr(obj, "pk", None) else []
        return BatchRouteSerializer(routes, many=True).data  # type: ignore[return-value]

    @extend_schema_field({**IMPACT_SCHEMA, "nullable": True})
    def get_impact(self, obj: Any) -> dict[str, Any] | None:
        row = getattr(obj, "impact_row", None)
        return ImpactSerializer(row).data if row is not None else None


class MonthImpactSerializer(serializers.Serializer):
    def to_representation(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "month": row["month"].strftime("%Y-%m"),
            "batches": row["batches"],
            "orders": row["orders"],
            "parcels": row["parcels"],
            "stops": row["stops"],
            "rounds": row["rounds"],
            "vehicle_km": km(row["vehicle_meters"]),
            "co2_kg": kg(row["co2_grams"]),
            "per_parcel_km": km(row["per_parcel_meters"]),
            "per_parcel_co2_kg": kg(row["per_parcel_co2_grams"]),
            "per_carrier_km": km(row["per_carrier_meters"]),
            "per_carrier_co2_kg": kg(row["per_carrier_co2_grams"]),
            "co2_saved_kg": kg(row["per_carrier_co2_grams"] - row["co2_grams"]),
        }


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
        return str(obj.resident) if obj.resident is not None else ""

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
