"""Orders: announced by merchants, declared by residents, with their parcels, the times the
resident is in and how they receive; the resident's default choice; an order as its resident sees
it, with its delivery once planned."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import StrictFieldsMixin
from pooling.models import DropKind, ParcelSize, ParcelWeight, ReceiveMode, WalkProfile
from pooling.serializers.relays import RelayPointSerializer, RelayPublicSerializer
from pooling.serializers.units import HourMinuteField, minutes_up

MAX_PARCELS = 20
MAX_WINDOWS = 7
PHONE = re.compile(r"^\+?[0-9][0-9 .()\-]{5,30}$")


class DeliveryDetailsSerializer(StrictFieldsMixin, serializers.Serializer):
    """What a courier needs at the door of a French building. Shown to the courier of the round
    only while the round is under way; to nobody else."""

    door_code = serializers.CharField(
        max_length=32, required=False, default="", allow_blank=True, help_text="Digicode."
    )
    floor = serializers.CharField(max_length=16, required=False, default="", allow_blank=True)
    building = serializers.CharField(
        max_length=60,
        required=False,
        default="",
        allow_blank=True,
        help_text="Building, staircase (bâtiment B, escalier 2).",
    )
    instructions = serializers.CharField(
        max_length=500, required=False, default="", allow_blank=True
    )
    phone = serializers.RegexField(
        PHONE,
        max_length=32,
        required=False,
        default="",
        allow_blank=True,
        help_text="A number the courier may call during the round (+33 6 12 34 56 78).",
    )


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
    walk_profile = serializers.ChoiceField(
        choices=WalkProfile.choices,
        required=False,
        help_text="Defaults to your walking profile (walking_profile of GET /api/v1/me).",
    )


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
    delivery_details = DeliveryDetailsSerializer(
        required=False, help_text="Defaults to those of your receiving preference."
    )


class OrderUpdateInputSerializer(StrictFieldsMixin, serializers.Serializer):
    receiving = ReceivingInputSerializer(required=False)
    windows = WindowSerializer(many=True, required=False, max_length=MAX_WINDOWS)  # type: ignore[call-arg]
    delivery_details = DeliveryDetailsSerializer(required=False)


class WeeklyWindowSerializer(StrictFieldsMixin, serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 is Monday.")
    start = HourMinuteField()
    end = HourMinuteField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": [_("A window ends after it starts.")]})
        return attrs


class PreferenceInputSerializer(ReceivingInputSerializer):
    home_windows = WeeklyWindowSerializer(many=True, default=list, max_length=21)  # type: ignore[call-arg]
    delivery_details = DeliveryDetailsSerializer(
        required=False,
        help_text="The default details of your home's door, copied to your next orders "
        "(absent: kept as they are).",
    )


class DeliveryDetailsOutSerializer(serializers.Serializer):
    door_code = serializers.CharField()
    floor = serializers.CharField()
    building = serializers.CharField()
    instructions = serializers.CharField()
    phone = serializers.CharField()


class PreferenceSerializer(serializers.Serializer):
    mode = serializers.CharField()
    relay_point = serializers.IntegerField(source="relay_point_id", allow_null=True)
    max_walk_minutes = serializers.SerializerMethodField()
    walk_profile = serializers.CharField()
    home_windows = serializers.JSONField()
    delivery_details = DeliveryDetailsOutSerializer(source="*")

    def get_max_walk_minutes(self, obj: Any) -> int:
        return round(obj.max_walk_seconds / 60)


def weekly_as_json(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def hhmm(value: time) -> str:
        return value.strftime("%H:%M")

    return [
        {"weekday": e["weekday"], "start": hhmm(e["start"]), "end": hhmm(e["end"])} for e in entries
    ]


class ParcelSerializer(serializers.Serializer):
    size = serializers.CharField()
    weight = serializers.CharField()


class WindowOutSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


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
    # The relay point the resident chose; the exact place comes with the delivery, once the
    # parcel is planned to wait there.
    relay_point = RelayPublicSerializer(allow_null=True)
    max_walk_minutes = serializers.SerializerMethodField()
    walk_profile = serializers.CharField()
    windows = WindowOutSerializer(many=True, source="windows.all")
    parcels = ParcelSerializer(many=True, source="parcels.all")
    delivery_code = serializers.CharField(help_text="Show it to the courier at home delivery.")
    delivery_details = DeliveryDetailsOutSerializer(source="*")
    pickup_code = serializers.SerializerMethodField(
        help_text="While the parcel waits at a relay point or a neighbour host's "
        "(status awaiting_pickup): show it there to take it."
    )
    delivery = serializers.SerializerMethodField()
    attempts = serializers.IntegerField()
    in_pooling_area = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_max_walk_minutes(self, obj: Any) -> int:
        return round(obj.max_walk_seconds / 60)

    def get_pickup_code(self, obj: Any) -> str | None:
        return obj.pickup_code if obj.status == "awaiting_pickup" else None

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
