"""What a plan saves: vehicle-km, stops, rounds and CO2 against two baselines on the same street
graph and the same parcels.

(a) one trip per parcel: a van from the hub to the parcel's destination and back, for every order;
(b) as today: each carrier delivers its own parcels in its own optimised round (one van per
    carrier from the hub, one PyVRP problem per carrier, no time windows kept).

A parcel's destination in the baselines is the resident's home when they take home deliveries,
and otherwise the relay or host they receive it at (carriers deliver to pickup points today too).
Emission factors per vehicle type, central, low and high, each with its source and scope, are in
``POOLING_CO2_FACTORS``; the central figures are stored here, their ranges derived from the stored
distances by ``pooling.co2``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from pooling import co2
from pooling.planning.vrp import solve_problem
from pooling.planning.vrp_problem import Plan, RoutingProblem, StopDemand, VehicleSpec


@dataclass(frozen=True)
class BaselineParcel:
    carrier: str
    destination: int  # index in the baseline matrix (0: the hub)
    units: int
    kg: int


@dataclass(frozen=True)
class Impact:
    orders: int
    parcels: int
    stops: int
    rounds: int
    vehicle_meters: int
    co2_grams: int
    by_vehicle: dict[str, dict[str, int]]
    per_parcel_meters: int
    per_parcel_trips: int
    per_parcel_co2_grams: int
    per_carrier_meters: int
    per_carrier_rounds: int
    per_carrier_stops: int
    per_carrier_co2_grams: int
    baseline_vehicle: str


def kg_per_km(vehicle: str) -> float:
    """The central factor of ``vehicle`` (``POOLING_CO2_FACTORS``; ranges in ``pooling.co2``)."""
    return co2.factor(vehicle)


def grams(meters: float, vehicle: str) -> int:
    """CO2e grams of ``meters`` driven or ridden by ``vehicle``: kg/km is g/m."""
    return round(meters * kg_per_km(vehicle))


def pooled_figures(plan: Plan, vehicles: Sequence[str]) -> dict[str, dict[str, int]]:
    """Meters, rounds, stops and CO2 grams of a plan, per vehicle type."""
    out: dict[str, dict[str, int]] = {}
    for trip in plan.trips:
        kind = vehicles[trip.vehicle]
        row = out.setdefault(kind, {"meters": 0, "rounds": 0, "stops": 0, "co2_grams": 0})
        row["meters"] += trip.meters
        row["rounds"] += 1
        row["stops"] += len(trip.visits)
    for kind, row in out.items():
        row["co2_grams"] = grams(row["meters"], kind)
    return out


def per_parcel_meters(parcels: Sequence[BaselineParcel], meters: np.ndarray) -> int:
    """Baseline (a): a return trip from the hub for each parcel."""
    return round(sum(float(meters[0, p.destination] + meters[p.destination, 0]) for p in parcels))


def van_rounds(
    parcels: Sequence[BaselineParcel],
    *,
    vans: int,
    seconds: np.ndarray,
    meters: np.ndarray,
    shift: tuple[int, int],
    budget_s: float,
    max_iterations: int | None = None,
    seed: int = 1,
) -> tuple[int, int, int]:
    """``vans`` vans from the hub delivering ``parcels`` in optimised rounds (no windows kept),
    as carriers do. Returns meters, rounds and stops; a place the vans cannot fit in the day
    comes back the next day: one more return trip each."""
    vehicle = settings.POOLING_DEFAULT_CAPACITY["van"]
    profile = settings.POOLING_VEHICLE_PROFILES["van"]
    by_place: dict[int, list[BaselineParcel]] = defaultdict(list)
    for parcel in parcels:
        by_place[parcel.destination].append(parcel)
    places = sorted(by_place)
    if not places:
        return 0, 0, 0
    index = np.array([0, *places])
    service = int(settings.POOLING_SERVICE_SECONDS["home"])
    problem = RoutingProblem(
        stops=tuple(
            StopDemand(
                units=sum(p.units for p in by_place[d]),
                kg=sum(p.kg for p in by_place[d]),
                service_s=service,
            )
            for d in places
        ),
        vehicles=tuple(
            VehicleSpec(
                profile=profile,
                capacity_units=int(vehicle["units"]),
                capacity_kg=int(vehicle["kg"]),
                shift_start=shift[0],
                shift_end=shift[1],
                name=f"van{k}",
            )
            for k in range(vans)
        ),
        seconds={profile: seconds[np.ix_(index, index)]},
        meters={profile: meters[np.ix_(index, index)]},
        # A carrier's van is not held to short rounds: it may drive all day.
        round_max_s=shift[1] - shift[0],
    )
    plan = solve_problem(problem, seconds=budget_s, seed=seed, max_iterations=max_iterations)
    back = sum(round(float(meters[0, places[i]] + meters[places[i], 0])) for i in plan.left_out)
    return (
        plan.meters + back,
        len(plan.trips) + len(plan.left_out),
        plan.stops_served + len(plan.left_out),
    )


def per_carrier_plan(
    parcels: Sequence[BaselineParcel],
    *,
    seconds: np.ndarray,
    meters: np.ndarray,
    shift: tuple[int, int],
    budget_s: float,
    max_iterations: int | None = None,
    seed: int = 1,
) -> tuple[int, int, int]:
    """Baseline (b): one optimised van round (or several, if the van fills up) per carrier.
    Returns meters, rounds and stops."""
    by_carrier: dict[str, list[BaselineParcel]] = defaultdict(list)
    for parcel in parcels:
        by_carrier[parcel.carrier].append(parcel)
    total_m = rounds = stops = 0
    for carrier in sorted(by_carrier):
        m, r, n = van_rounds(
            by_carrier[carrier],
            vans=1,
            seconds=seconds,
            meters=meters,
            shift=shift,
            budget_s=budget_s,
            max_iterations=max_iterations,
            seed=seed,
        )
        total_m, rounds, stops = total_m + m, rounds + r, stops + n
    return total_m, rounds, stops


def impact_compute(
    *,
    plan: Plan,
    vehicles: Sequence[str],
    orders: int,
    parcels_count: int,
    baseline_parcels: Sequence[BaselineParcel],
    baseline_seconds: np.ndarray,
    baseline_meters: np.ndarray,
    shift: tuple[int, int],
    budget_s: float,
    max_iterations: int | None = None,
) -> Impact:
    by_vehicle = pooled_figures(plan, vehicles)
    van = "van"
    parcel_m = per_parcel_meters(baseline_parcels, baseline_meters)
    carrier_m, carrier_rounds, carrier_stops = per_carrier_plan(
        baseline_parcels,
        seconds=baseline_seconds,
        meters=baseline_meters,
        shift=shift,
        budget_s=budget_s,
        max_iterations=max_iterations,
    )
    return Impact(
        orders=orders,
        parcels=parcels_count,
        stops=plan.stops_served,
        rounds=len(plan.trips),
        vehicle_meters=plan.meters,
        co2_grams=sum(row["co2_grams"] for row in by_vehicle.values()),
        by_vehicle=by_vehicle,
        per_parcel_meters=parcel_m,
        per_parcel_trips=len(baseline_parcels),
        per_parcel_co2_grams=grams(parcel_m, van),
        per_carrier_meters=carrier_m,
        per_carrier_rounds=carrier_rounds,
        per_carrier_stops=carrier_stops,
        per_carrier_co2_grams=grams(carrier_m, van),
        baseline_vehicle=van,
    )


def impact_as_dict(impact: Impact) -> Mapping[str, object]:
    return {
        "orders": impact.orders,
        "parcels": impact.parcels,
        "stops": impact.stops,
        "rounds": impact.rounds,
        "vehicle_meters": impact.vehicle_meters,
        "co2_grams": impact.co2_grams,
        "by_vehicle": impact.by_vehicle,
        "per_parcel_meters": impact.per_parcel_meters,
        "per_parcel_trips": impact.per_parcel_trips,
        "per_parcel_co2_grams": impact.per_parcel_co2_grams,
        "per_carrier_meters": impact.per_carrier_meters,
        "per_carrier_rounds": impact.per_carrier_rounds,
        "per_carrier_stops": impact.per_carrier_stops,
        "per_carrier_co2_grams": impact.per_carrier_co2_grams,
        "baseline_vehicle": impact.baseline_vehicle,
    }
