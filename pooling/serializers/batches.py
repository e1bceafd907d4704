"""Batches for the association's staff: asked for, followed (progress, rounds, stops; homes are
never located), and their impact against the baselines, per batch and per month."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import StrictFieldsMixin
from geo.privacy import blurred_point
from pooling import co2
from pooling.models import DropKind, VehicleKind
from pooling.serializers.units import kg, km


class BatchCreateInputSerializer(StrictFieldsMixin, serializers.Serializer):
    neighbourhood = serializers.IntegerField()
    day = serializers.DateField(required=False, help_text="Defaults to today (local time).")


class ImpactQuerySerializer(serializers.Serializer):
    neighbourhood = serializers.IntegerField()
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)


class ImpactSerializer(serializers.Serializer):
    """Figures of a plan, and of the two baselines on the same street graph."""

    def to_representation(self, impact: Any) -> dict[str, Any]:
        factors = settings.POOLING_EMISSION_FACTORS
        ranges = co2.impact_co2_of_row(impact)
        return {
            "orders": impact.orders,
            "parcels": impact.parcels,
            "stops": impact.stops,
            "rounds": impact.rounds,
            "vehicle_km": km(impact.vehicle_meters),
            "co2_kg": kg(impact.co2_grams),
            **_low_high("co2_kg", ranges.pooled),
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
                **_low_high("co2_kg", ranges.per_parcel),
            },
            "per_carrier": {
                "km": km(impact.per_carrier_meters),
                "rounds": impact.per_carrier_rounds,
                "stops": impact.per_carrier_stops,
                "co2_kg": kg(impact.per_carrier_co2_grams),
                **_low_high("co2_kg", ranges.per_carrier),
            },
            "saved_vs_per_carrier": {
                "km": km(impact.per_carrier_meters - impact.vehicle_meters),
                "co2_kg": kg(impact.per_carrier_co2_grams - impact.co2_grams),
                **_low_high("co2_kg", ranges.saved_vs_per_carrier),
            },
            "saved_vs_per_parcel": {
                "km": km(impact.per_parcel_meters - impact.vehicle_meters),
                "co2_kg": kg(impact.per_parcel_co2_grams - impact.co2_grams),
                **_low_high("co2_kg", ranges.saved_vs_per_parcel),
            },
            "baseline_vehicle": impact.baseline_vehicle,
            "emission_factors": {
                name: {"kg_co2e_per_km": f["kg_co2e_per_km"], "source": f["source"]}
                for name, f in sorted(factors.items())
            },
            "co2_factors": co2.factors_public(),
        }


def _low_high(name: str, value: co2.Co2Range) -> dict[str, float]:
    """The range of a CO2e figure next to it: ``<name>_low`` and ``<name>_high`` in kg."""
    return {f"{name}_low": kg(value.low), f"{name}_high": kg(value.high)}


IMPACT_SCHEMA = {
    "type": "object",
    "properties": {
        "orders": {"type": "integer"},
        "parcels": {"type": "integer"},
        "stops": {"type": "integer"},
        "rounds": {"type": "integer"},
        "vehicle_km": {"type": "number"},
        "co2_kg": {"type": "number"},
        "co2_kg_low": {
            "type": "number",
            "description": "The lowest kg CO2e the factors' sources allow (docs/pooling.md).",
        },
        "co2_kg_high": {"type": "number", "description": "The highest."},
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
        "co2_factors": {
            "type": "array",
            "description": "Per mode: central, low and high kg CO2e per vehicle-km, each with its "
            "source, reference, scope and year (docs/pooling.md, CO2 factors).",
            "items": {"type": "object"},
        },
    },
}


class BatchStopSerializer(serializers.Serializer):
    """A stop as staff see it: a home is never located for them, and a neighbour host's (a home
    too) only at the centre of its blur cell."""

    id = serializers.IntegerField()
    position = serializers.IntegerField()
    kind = serializers.CharField()
    relay_point = serializers.IntegerField(source="relay_point_id", allow_null=True)
    location = serializers.SerializerMethodField()
    eta = serializers.DateTimeField()
    parcels = serializers.IntegerField()
    status = serializers.CharField()

    @extend_schema_field(
        {"type": "object", "nullable": True, "description": "Relays; hosts blurred; homes never."}
    )
    def get_location(self, obj: Any) -> dict[str, Any] | None:
        if obj.kind == DropKind.HOME:
            return None
        place = blurred_point(obj.location) if obj.kind == DropKind.HOST else obj.location
        return {"type": "Point", "coordinates": [place.x, place.y]}


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
        return obj.courier.user.public_name

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
    shortfall = serializers.SerializerMethodField()
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

    @extend_schema_field(
        {
            "type": "object",
            "description": "When the fleet was too small for the day (empty otherwise): stops "
            "and orders left out for that reason, courier-hours and couriers missing "
            "(an estimate).",
            "properties": {
                "stops": {"type": "integer"},
                "orders": {"type": "integer"},
                "courier_hours_missing": {"type": "number"},
                "couriers_missing": {"type": "integer"},
            },
        }
    )
    def get_shortfall(self, obj: Any) -> dict[str, Any]:
        return dict(getattr(obj, "shortfall", None) or {})

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
            **_low_high("co2_kg", row["co2"].pooled),
            **_low_high("per_parcel_co2_kg", row["co2"].per_parcel),
            **_low_high("per_carrier_co2_kg", row["co2"].per_carrier),
            **_low_high("co2_saved_kg", row["co2"].saved_vs_per_carrier),
        }


class EmissionFactorSerializer(serializers.Serializer):
    # Declared in get_fields(): a class attribute named "source" would shadow Field.source.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "vehicle": serializers.ChoiceField(choices=VehicleKind.choices),
            "kg_co2e_per_km": serializers.FloatField(help_text="kg CO2e per vehicle-km."),
            "source": serializers.CharField(
                help_text="Where the factor comes from (docs/pooling.md)."
            ),
        }


class Co2ScopeSerializer(serializers.Serializer):
    energy = serializers.CharField(
        help_text="tank_to_wheel (combustion), well_to_wheel (with the fuel's or electricity's "
        "production), none, or 'as declared' for an operator's own figure."
    )
    manufacturing = serializers.BooleanField(
        allow_null=True, help_text="Vehicle construction, maintenance, end of life (battery)."
    )
    infrastructure = serializers.BooleanField(allow_null=True, help_text="Roads: never counted.")


class Co2FactorValueSerializer(serializers.Serializer):
    # Declared in get_fields(): a class attribute named "source" would shadow Field.source.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "kg_co2e_per_km": serializers.FloatField(help_text="kg CO2e per vehicle-km."),
            "source": serializers.CharField(help_text="What the figure is, and whose."),
            "ref": serializers.CharField(
                help_text="The ADEME element, legal text, or repository@commit:path it was read in."
            ),
            "url": serializers.CharField(),
            "scope": Co2ScopeSerializer(),
            "year": serializers.IntegerField(allow_null=True),
            "verified": serializers.BooleanField(
                help_text="False: a judgement or an unconfirmed reading (docs/pooling.md)."
            ),
        }


class Co2FactorSerializer(serializers.Serializer):
    """One mode of the factor table (``POOLING_CO2_FACTORS``, docs/pooling.md)."""

    # Declared in get_fields(): a class attribute named "label" would shadow Field.label.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "vehicle": serializers.CharField(help_text="van, car, cargo_bike, foot."),
            "label": serializers.CharField(),
            "unit": serializers.CharField(),
            "central": Co2FactorValueSerializer(),
            "low": Co2FactorValueSerializer(),
            "high": Co2FactorValueSerializer(),
        }


class PoolingImpactSerializer(serializers.Serializer):
    """What the person's pooled parcels saved (``GET /api/v1/me/impact``)."""

    orders_delivered = serializers.IntegerField(
        help_text="Your orders delivered through a pooled round."
    )
    parcels_delivered = serializers.IntegerField(help_text="Their parcels.")
    km_saved = serializers.FloatField(
        help_text=(
            "Your share of the vehicle-km saved: each batch's saving (the carriers' own van "
            "rounds, minus the pooled rounds) shared equally per parcel the batch served; "
            "negative if the pooled rounds drove more."
        )
    )
    co2_kg_saved = serializers.FloatField(
        help_text="Your share of the kg CO2e saved, shared as km_saved, with emission_factors."
    )
    co2_kg_saved_low = serializers.FloatField(
        help_text="The lowest co2_kg_saved the factors' sources allow (docs/pooling.md)."
    )
    co2_kg_saved_high = serializers.FloatField(help_text="The highest.")
    baseline = serializers.ChoiceField(
        choices=["per_carrier"],
        help_text="What the saving is measured against: each carrier's own optimised van rounds.",
    )
    emission_factors = EmissionFactorSerializer(
        many=True, help_text="The factors the CO2 figures use, with their sources."
    )
    co2_factors = Co2FactorSerializer(
        many=True,
        help_text="The factor table: per mode, central, low and high values with their sources.",
    )

    def to_representation(self, figures: Any) -> dict[str, Any]:
        factors = settings.POOLING_EMISSION_FACTORS
        return super().to_representation(
            {
                **figures,
                "km_saved": km(figures["meters_saved"]),
                "co2_kg_saved": kg(figures["co2_grams_saved"]),
                "co2_kg_saved_low": kg(figures["co2_grams_saved_low"]),
                "co2_kg_saved_high": kg(figures["co2_grams_saved_high"]),
                "baseline": "per_carrier",
                "emission_factors": [
                    {"vehicle": name, **factors[name]} for name in sorted(factors)
                ],
                "co2_factors": co2.factors_public(),
            }
        )
