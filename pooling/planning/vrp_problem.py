"""The routing problem of a batch and its plan: what goes into the solver and what comes out.

Pure data, no PyVRP: stops (with their load, service time and time windows), vehicles (capacity,
shift, the street-graph profile they move with) and travel matrices go in; rounds (*trips*) come
out. Index 0 of every matrix is the hub; stop ``i`` is index ``i + 1``. Every plan is checked
again against every rule from the matrices (:func:`check_plan`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StopDemand:
    units: int
    kg: int
    service_s: int
    # Windows in which service may *start*, seconds from the day's midnight; empty: any time.
    windows: tuple[tuple[int, int], ...] = ()
    # When the fleet cannot serve every stop: the orders the stop serves, and how long the
    # oldest of them has waited (seconds), so that the plan serves as many orders as it can,
    # the oldest first.
    orders: int = 1
    waited_s: int = 0


@dataclass(frozen=True)
class VehicleSpec:
    profile: str
    capacity_units: int
    capacity_kg: int
    shift_start: int
    shift_end: int
    cost_per_m: int = 1
    name: str = ""

    @property
    def kind(self) -> tuple[str, int, int, int]:
        """Couriers of one kind can swap rounds."""
        return (self.profile, self.capacity_units, self.capacity_kg, self.cost_per_m)


@dataclass(frozen=True)
class RoutingProblem:
    stops: tuple[StopDemand, ...]
    vehicles: tuple[VehicleSpec, ...]
    # Per profile: (n + 1) x (n + 1) seconds and meters, index 0 the hub. Finite everywhere.
    seconds: Mapping[str, np.ndarray]
    meters: Mapping[str, np.ndarray]
    # Loading at the hub before every round.
    loading_s: int = 0
    # The trips formulation keeps each round within this time (hub to hub, waits included): it
    # keeps rounds compact, so that they fit one after another on the couriers.
    round_max_s: int = 7200

    def __post_init__(self) -> None:
        n = len(self.stops) + 1
        for vehicle in self.vehicles:
            for matrix in (self.seconds[vehicle.profile], self.meters[vehicle.profile]):
                if matrix.shape != (n, n) or not np.isfinite(matrix).all():
                    raise ValueError(f"{vehicle.profile} matrix must be finite and {n}x{n}")


@dataclass(frozen=True)
class Visit:
    stop: int
    arrival: int  # seconds from midnight
    start: int  # service start (after waiting for the window), the ETA given to people
    end: int


@dataclass(frozen=True)
class Trip:
    vehicle: int
    number: int  # 0, 1, ... within the vehicle's shift
    depart: int
    back: int
    visits: tuple[Visit, ...]
    meters: int
    units: int
    kg: int


@dataclass(frozen=True)
class Plan:
    trips: tuple[Trip, ...]
    left_out: tuple[int, ...]
    meters: int
    cost: int
    feasible: bool
    solve_seconds: float
    iterations: int = 0
    violations: tuple[str, ...] = field(default_factory=tuple)
    strategy: str = ""

    @property
    def stops_served(self) -> int:
        return sum(len(trip.visits) for trip in self.trips)


def problem_subset(problem: RoutingProblem, keep: Sequence[int]) -> RoutingProblem:
    """The same problem restricted to some stops (in the order given)."""
    index = np.array([0] + [i + 1 for i in keep])
    return RoutingProblem(
        stops=tuple(problem.stops[i] for i in keep),
        vehicles=problem.vehicles,
        seconds={p: m[np.ix_(index, index)] for p, m in problem.seconds.items()},
        meters={p: m[np.ix_(index, index)] for p, m in problem.meters.items()},
        loading_s=problem.loading_s,
        round_max_s=problem.round_max_s,
    )


def check_plan(problem: RoutingProblem, plan: Plan) -> list[str]:
    """Every rule a plan must keep, checked again from the matrices: capacity per round, windows,
    shifts, each stop served at most once, rounds of one vehicle one after another. Returns what
    is broken (empty: nothing)."""
    broken: list[str] = []
    seen: set[int] = set()
    last_back: dict[int, int] = {}
    for trip in sorted(plan.trips, key=lambda t: (t.vehicle, t.depart)):
        v = problem.vehicles[trip.vehicle]
        secs = problem.seconds[v.profile]
        if trip.units > v.capacity_units or trip.kg > v.capacity_kg:
            broken.append(f"vehicle {trip.vehicle} round {trip.number}: over capacity")
        if trip.depart < v.shift_start or trip.back > v.shift_end:
            broken.append(f"vehicle {trip.vehicle} round {trip.number}: outside the shift")
        if trip.depart < last_back.get(trip.vehicle, v.shift_start):
            broken.append(f"vehicle {trip.vehicle} round {trip.number}: overlaps the previous")
        last_back[trip.vehicle] = trip.back
        clock = trip.depart + problem.loading_s
        here = 0
        for visit in trip.visits:
            stop = problem.stops[visit.stop]
            if visit.stop in seen:
                broken.append(f"stop {visit.stop} served twice")
            seen.add(visit.stop)
            clock += math.ceil(float(secs[here, visit.stop + 1]))
            if visit.arrival < clock - 1:
                broken.append(f"stop {visit.stop}: arrives before it can")
            start = max(visit.start, clock)
            if stop.windows and not any(e <= start <= late for e, late in stop.windows):
                broken.append(f"stop {visit.stop}: service at {start} outside its windows")
            clock = start + stop.service_s
            here = visit.stop + 1
        clock += math.ceil(float(secs[here, 0]))
        if clock > trip.back + 1:
            broken.append(f"vehicle {trip.vehicle} round {trip.number}: back after {trip.back}")
    return broken
