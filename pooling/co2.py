"""CO2 of distances driven, ridden or walked, with the factor table of ``POOLING_CO2_FACTORS``:
a central figure and the range its sources allow (docs/pooling.md, "CO2 factors").

Distances are the record (``BatchImpact`` keeps the meters of the plan per vehicle and of the
baselines); grams are derived from them. kg CO2e per km is g per m.

The range of a saving (a baseline minus the plan) is not the baseline's range minus the plan's:
the same factor applies to a van of the baseline and a van of the plan. The saving is linear in the
factors, sum over modes of (baseline meters - plan meters) x factor, so its lowest value takes, for
each mode, the low factor where the baseline drove more and the high factor where the plan did,
and its highest value the opposite. Every combination of factors within their ranges gives a
saving within these bounds, and both bounds are reached.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

Meters = Mapping[str, float]


@dataclass(frozen=True)
class Co2Range:
    """CO2e grams: the central figure and the lowest and highest the factors' sources allow."""

    central: int
    low: int
    high: int

    def __sub__(self, other: Co2Range) -> Co2Range:
        """The naive difference of independent ranges (a saving across unrelated factors)."""
        return Co2Range(self.central - other.central, self.low - other.high, self.high - other.low)

    def scaled(self, share: float) -> Co2Range:
        return Co2Range(
            round(self.central * share), round(self.low * share), round(self.high * share)
        )


def modes() -> list[str]:
    return sorted(settings.POOLING_CO2_FACTORS)


def factor(mode: str, bound: str = "central") -> float:
    """kg CO2e per vehicle-km of ``mode`` (``bound``: central, low or high)."""
    return float(settings.POOLING_CO2_FACTORS[mode][bound]["kg_co2e_per_km"])


def co2_of(meters: Meters) -> Co2Range:
    """CO2e of distances per mode."""
    return Co2Range(
        *(
            round(sum(m * factor(mode, bound) for mode, m in meters.items() if m))
            for bound in ("central", "low", "high")
        )
    )


def co2_saved(baseline: Meters, plan: Meters) -> Co2Range:
    """CO2e saved by the plan against a baseline, each as meters per mode, with its range
    (the module's docstring says why it is not ``co2_of(baseline) - co2_of(plan)``)."""
    central = low = high = 0.0
    for mode in set(baseline) | set(plan):
        net = float(baseline.get(mode, 0)) - float(plan.get(mode, 0))
        if not net:
            continue
        central += net * factor(mode)
        low += net * factor(mode, "low" if net > 0 else "high")
        high += net * factor(mode, "high" if net > 0 else "low")
    return Co2Range(round(central), round(low), round(high))


def plan_meters(by_vehicle: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """The plan's meters per mode from ``BatchImpact.by_vehicle``."""
    return {mode: int(row.get("meters") or 0) for mode, row in by_vehicle.items()}


@dataclass(frozen=True)
class ImpactCo2:
    """CO2e of a plan (or of summed plans) and of its two baselines, with the savings."""

    pooled: Co2Range
    per_carrier: Co2Range
    per_parcel: Co2Range
    saved_vs_per_carrier: Co2Range
    saved_vs_per_parcel: Co2Range


def impact_co2(
    *, plan: Meters, per_carrier: Meters, per_parcel: Meters, stored: Mapping[str, Any]
) -> ImpactCo2:
    """CO2e of a plan and its baselines: the central figures are the stored ones (``co2_grams``,
    ``per_carrier_co2_grams``, ``per_parcel_co2_grams``), the ranges come from the distances with
    the factors of today. A figure stored with other factors than today's widens its range rather
    than sit outside it; ``manage.py pooling_co2_restate`` restates the stored figures."""
    pooled_g = int(stored.get("co2_grams") or 0)
    carrier_g = int(stored.get("per_carrier_co2_grams") or 0)
    parcel_g = int(stored.get("per_parcel_co2_grams") or 0)
    return ImpactCo2(
        pooled=with_central(co2_of(plan), pooled_g),
        per_carrier=with_central(co2_of(per_carrier), carrier_g),
        per_parcel=with_central(co2_of(per_parcel), parcel_g),
        saved_vs_per_carrier=with_central(co2_saved(per_carrier, plan), carrier_g - pooled_g),
        saved_vs_per_parcel=with_central(co2_saved(per_parcel, plan), parcel_g - pooled_g),
    )


def with_central(value: Co2Range, central: int) -> Co2Range:
    """``value``'s range around the given central figure, widened to hold it."""
    return Co2Range(central, min(value.low, central), max(value.high, central))


def impact_co2_of_row(impact: Any) -> ImpactCo2:
    """CO2e of one ``BatchImpact`` from the distances it keeps."""
    baseline = impact.baseline_vehicle
    return impact_co2(
        plan=plan_meters(impact.by_vehicle),
        per_carrier={baseline: impact.per_carrier_meters},
        per_parcel={baseline: impact.per_parcel_meters},
        stored={
            "co2_grams": impact.co2_grams,
            "per_carrier_co2_grams": impact.per_carrier_co2_grams,
            "per_parcel_co2_grams": impact.per_parcel_co2_grams,
        },
    )


def impact_co2_of_sums(sums: Mapping[str, Any]) -> ImpactCo2:
    """CO2e of summed ``BatchImpact`` rows, from the sums ``pooling.selectors.impact_meter_sums``
    names (meters of the plans and of each baseline, per mode) and the summed stored grams."""

    def per_mode(prefix: str) -> dict[str, int]:
        return {mode: int(sums.get(f"{prefix}{mode}") or 0) for mode in modes()}

    return impact_co2(
        plan=per_mode("m_plan_"),
        per_carrier=per_mode("m_carrier_"),
        per_parcel=per_mode("m_parcel_"),
        stored=sums,
    )


def restated(impact: Any) -> dict[str, Any]:
    """The CO2e fields of a ``BatchImpact`` computed again from its distances with the central
    factors of today (after a change of factors)."""
    by_vehicle = {
        mode: {**row, "co2_grams": co2_of({mode: row.get("meters") or 0}).central}
        for mode, row in impact.by_vehicle.items()
    }
    baseline = impact.baseline_vehicle
    return {
        "by_vehicle": by_vehicle,
        "co2_grams": sum(row["co2_grams"] for row in by_vehicle.values()),
        "per_carrier_co2_grams": co2_of({baseline: impact.per_carrier_meters}).central,
        "per_parcel_co2_grams": co2_of({baseline: impact.per_parcel_meters}).central,
    }


def factors_public(names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The factor table as the APIs and the panel show it: per mode, the central, low and high
    values with their sources and scopes."""
    table = settings.POOLING_CO2_FACTORS
    out = []
    for mode in sorted(names if names is not None else table):
        row = table[mode]
        out.append(
            {
                "vehicle": mode,
                "label": row["label"],
                "unit": row["unit"],
                **{
                    bound: {
                        "kg_co2e_per_km": float(row[bound]["kg_co2e_per_km"]),
                        "source": row[bound]["source"],
                        "ref": row[bound]["ref"],
                        "url": row[bound]["url"],
                        "scope": dict(row[bound]["scope"]),
                        "year": row[bound]["year"],
                        "verified": bool(row[bound]["verified"]),
                    }
                    for bound in ("central", "low", "high")
                },
            }
        )
    return out
