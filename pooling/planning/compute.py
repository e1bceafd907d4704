"""The second and third steps of planning: computing the plan, without database writes.

Travel matrices from the walking engine over the hub and every place a parcel could go (one per
profile), each order's drop within its resident's choice and the stops they make, the rounds by
PyVRP, and the impact against the baselines; then the path of every leg of every round.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import LineString

from geo.graph import network_for_point
from geo.network import IslandError, NoRouteError, OffGraphError
from geo.selectors import RouteTooLongError, route_between, travel_matrix_arrays
from pooling.models import ReceiveMode
from pooling.planning import clock
from pooling.planning.assignment import (
    DropChoice,
    Place,
    StopDraft,
    choose_drops,
    merge_stops,
)
from pooling.planning.impact import BaselineParcel, Impact, impact_compute, van_rounds
from pooling.planning.inputs import BatchInputs
from pooling.planning.vrp import solve_problem, unserviceable_reason
from pooling.planning.vrp_problem import Plan, RoutingProblem, StopDemand, VehicleSpec

logger = logging.getLogger(__name__)

Progress = Callable[[int, str], None]


@dataclass
class BatchComputation:
    inputs: BatchInputs
    choice: DropChoice
    stops: list[StopDraft]
    problem: RoutingProblem
    plan: Plan
    impact: Impact
    left_out: dict[int, str]
    # Stop index -> index of its place in the problem's matrices (0: hub).
    legs: dict[tuple[int, int], LineString | None] = field(default_factory=dict)
    # Wall time of each step, in seconds (matrices, drops, solve, impact).
    timings: dict[str, float] = field(default_factory=dict)
    matrices: _PlaceMatrices | None = None
    # When the fleet is too small for the day: what was left out and an estimate of what is
    # missing to serve it (empty otherwise).
    shortfall: dict[str, float | int] = field(default_factory=dict)


@dataclass(frozen=True)
class _PlaceMatrices:
    """One travel matrix per profile over the hub and every place a parcel could go."""

    keys: list[str]  # "hub", then the places' keys in a stable order
    point_of: dict[str, int]  # key -> index in the matrices (0: the hub)
    full: dict[str, tuple[np.ndarray, np.ndarray]]  # profile -> seconds, meters
    fleet_profiles: list[str]
    baseline_profile: str


def batch_compute(
    inputs: BatchInputs,
    *,
    seconds: float,
    max_iterations: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
) -> BatchComputation:
    """Matrices, drops, stops, rounds and impact: no database writes."""
    say = progress or (lambda percent, stage: None)
    seed = settings.POOLING_SOLVER_SEED if seed is None else seed
    net = network_for_point(*inputs.hub_lonlat)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    say(20, "matrices")
    # One matrix per profile over the hub and every place a parcel could go: it says which
    # places the fleet can reach (and come back from), it prices the rounds, and the baselines.
    matrices = _place_matrices(inputs)
    usable = _usable_places(inputs, matrices)
    orders = [
        o
        if any(opt.key in usable for opt in o.options) or not o.options
        else replace(o, no_option_reason="no_route")
        for o in inputs.orders
    ]

    timings["matrices_s"] = time.perf_counter() - started
    started = time.perf_counter()
    say(30, "choosing_drops")
    hub_x, hub_y = net.proj.forward(
        np.array([inputs.hub_lonlat[0]]), np.array([inputs.hub_lonlat[1]])
    )
    choice = choose_drops(
        orders, usable, hub_xy=(float(hub_x[0]), float(hub_y[0])), project=net.proj.forward
    )
    left_out = dict(inputs.left_out)
    left_out.update(choice.left_out)
    stops, window_left_out = merge_stops(
        orders,
        choice,
        usable,
        max_units=max((c.capacity_units for c in inputs.couriers), default=None),
        max_kg=max((c.capacity_kg for c in inputs.couriers), default=None),
    )
    left_out.update(window_left_out)
    problem = _routing_problem(inputs, stops, matrices)
    timings["drops_s"] = time.perf_counter() - started
    started = time.perf_counter()

    say(40, "solving")
    plan = solve_problem(problem, seconds=seconds, seed=seed, max_iterations=max_iterations)
    if plan.violations:
        # Never save a plan that breaks a rule (PyVRP returned its best infeasible solution).
        logger.warning("batch #%s: plan breaks rules: %s", inputs.batch_id, plan.violations[:5])
        plan = replace(plan, trips=(), left_out=tuple(range(len(stops))), meters=0, feasible=False)
    shortfall = _left_out_by_solver(problem, plan, stops, left_out)

    timings["solve_s"] = time.perf_counter() - started
    started = time.perf_counter()

    say(80, "impact")
    impact = _impact(inputs, matrices, plan, stops, choice, usable, max_iterations)
    timings["impact_s"] = time.perf_counter() - started
    return BatchComputation(
        inputs=inputs,
        choice=choice,
        stops=stops,
        problem=problem,
        plan=plan,
        impact=impact,
        left_out=left_out,
        timings=timings,
        matrices=matrices,
        shortfall=shortfall,
    )


def _place_matrices(inputs: BatchInputs) -> _PlaceMatrices:
    keys = ["hub", *sorted(inputs.places, key=_key_order)]
    lonlat = [inputs.hub_lonlat] + [(inputs.places[k].lon, inputs.places[k].lat) for k in keys[1:]]
    baseline_profile = settings.POOLING_VEHICLE_PROFILES["van"]
    fleet_profiles = sorted({c.profile for c in inputs.couriers})
    full: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if len(keys) > 1:
        for profile in sorted({*fleet_profiles, baseline_profile}):
            full[profile] = _matrix(lonlat, profile)
    return _PlaceMatrices(
        keys=keys,
        point_of={k: i for i, k in enumerate(keys)},
        full=full,
        fleet_profiles=fleet_profiles,
        baseline_profile=baseline_profile,
    )


def _usable_places(inputs: BatchInputs, matrices: _PlaceMatrices) -> dict[str, Place]:
    """The places every courier's profile can reach from the hub and come back from."""
    full, point_of = matrices.full, matrices.point_of
    return {
        k: inputs.places[k]
        for k in matrices.keys[1:]
        if all(
            np.isfinite(full[p][0][0, point_of[k]]) and np.isfinite(full[p][0][point_of[k], 0])
            for p in matrices.fleet_profiles
        )
    }


def _left_out_by_solver(
    problem: RoutingProblem, plan: Plan, stops: list[StopDraft], left_out: dict[int, str]
) -> dict[str, float | int]:
    """The reason of each order of a stop the plan leaves out: ``capacity`` or ``window`` when
    no vehicle could serve it even alone, else ``fleet_full`` (the couriers' day is full). For
    the latter, an estimate of the courier-hours missing (the plan's average time per stop,
    times the stops left out) and of the couriers it makes (shifts as long as the longest)."""
    full = []
    for s in plan.left_out:
        reason = unserviceable_reason(problem, s) or "fleet_full"
        if reason == "fleet_full":
            full.append(s)
        for order_id in stops[s].order_ids:
            left_out[order_id] = reason
    if not full:
        return {}
    busy = sum(t.back - t.depart for t in plan.trips)
    per_stop = busy / plan.stops_served if plan.stops_served else 3600
    hours = len(full) * per_stop / 3600
    shift_h = max((v.shift_end - v.shift_start for v in problem.vehicles), default=8 * 3600) / 3600
    return {
        "stops": len(full),
        "orders": sum(len(stops[s].order_ids) for s in full),
        "courier_hours_missing": round(hours, 1),
        "couriers_missing": math.ceil(hours / shift_h) if shift_h > 0 else 0,
    }


def _routing_problem(
    inputs: BatchInputs, stops: list[StopDraft], matrices: _PlaceMatrices
) -> RoutingProblem:
    """The stops and the couriers as a routing problem, over the matrices of the stops' places."""
    index = np.array([0] + [matrices.point_of[d.place.key] for d in stops])
    seconds_by: dict[str, np.ndarray] = {}
    meters_by: dict[str, np.ndarray] = {}
    for profile in matrices.fleet_profiles:
        sub_s = matrices.full[profile][0][np.ix_(index, index)].copy()
        sub_m = matrices.full[profile][1][np.ix_(index, index)].copy()
        _repair(sub_s, sub_m)
        seconds_by[profile] = sub_s
        meters_by[profile] = sub_m
    return RoutingProblem(
        stops=tuple(
            StopDemand(
                units=d.units,
                kg=d.kg,
                service_s=d.service_seconds(),
                windows=tuple(d.windows),
                orders=len(d.order_ids),
                waited_s=_waited(inputs, d.order_ids),
            )
            for d in stops
        ),
        vehicles=tuple(
            VehicleSpec(
                profile=c.profile,
                capacity_units=c.capacity_units,
                capacity_kg=c.capacity_kg,
                shift_start=c.shift_start,
                shift_end=c.shift_end,
                cost_per_m=int(settings.POOLING_VEHICLE_COST_PER_M[c.vehicle]),
                name=f"courier{c.courier_id}",
            )
            for c in inputs.couriers
        ),
        seconds=seconds_by,
        meters=meters_by,
        loading_s=inputs.loading_s,
        round_max_s=int(settings.POOLING_ROUND_MAX_SECONDS),
    )


def _waited(inputs: BatchInputs, order_ids: Sequence[int]) -> int:
    """How long the oldest of these orders has waited, at the start of the batch's day."""
    day_start = clock.at_seconds(inputs.day, 0)
    announced = [
        inputs.info[o].announced_at for o in order_ids if inputs.info[o].announced_at is not None
    ]
    if not announced:
        return 0
    return max(0, int((day_start - min(a for a in announced if a)).total_seconds()))


def _impact(
    inputs: BatchInputs,
    matrices: _PlaceMatrices,
    plan: Plan,
    stops: list[StopDraft],
    choice: DropChoice,
    usable: dict[str, Place],
    max_iterations: int | None,
) -> Impact:
    """The plan's figures, and the baselines for the orders it serves."""
    served = _served_orders(plan, stops)
    b_seconds, b_meters = _baseline_matrices(matrices)
    baseline = _baseline_parcels(inputs, matrices, served, choice, usable, b_seconds)
    shift = _day_span(inputs)
    return impact_compute(
        plan=plan,
        vehicles=[c.vehicle for c in inputs.couriers],
        orders=len(served),
        parcels_count=sum(inputs.info[o].parcels for o in served),
        baseline_parcels=baseline,
        baseline_seconds=b_seconds,
        baseline_meters=b_meters,
        shift=shift,
        budget_s=settings.POOLING_BASELINE_SECONDS,
        max_iterations=max_iterations,
    )


def _baseline_parcels(
    inputs: BatchInputs,
    matrices: _PlaceMatrices,
    served: list[int],
    choice: DropChoice,
    usable: dict[str, Place],
    b_seconds: np.ndarray,
) -> list[BaselineParcel]:
    """The served orders' parcels as the baselines deliver them: home when the resident takes
    home deliveries, else where the plan drops them; places a van cannot reach are left out."""
    baseline = []
    for order_id in served:
        info = inputs.info[order_id]
        drop = choice.drops[order_id]
        natural = (
            info.home_key
            if info.mode in (ReceiveMode.HOME, ReceiveMode.ANY) and info.home_key in usable
            else drop.place_key
        )
        d = matrices.point_of[natural]
        if np.isfinite(b_seconds[0, d]) and np.isfinite(b_seconds[d, 0]):
            baseline.append(
                BaselineParcel(carrier=info.carrier, destination=d, units=info.units, kg=info.kg)
            )
    return baseline


def _matrix(points: Sequence[tuple[float, float]], profile: str) -> tuple[np.ndarray, np.ndarray]:
    result = travel_matrix_arrays(points=points, profile=profile)
    return result.seconds, result.meters


def _repair(seconds: np.ndarray, meters: np.ndarray) -> None:
    """Fills a missing leg between two stops (a one-way knot) with the trip through the hub, which
    exists whenever both stops are reachable from and to the hub."""
    bad = ~np.isfinite(seconds)
    if bad.any():
        via_s = seconds[:, [0]] + seconds[[0], :]
        via_m = meters[:, [0]] + meters[[0], :]
        seconds[bad] = via_s[bad]
        meters[bad] = via_m[bad]


def _key_order(key: str) -> tuple[str, int]:
    kind, _, ident = key.partition(":")
    return kind, int(ident)


def legs_compute(computation: BatchComputation) -> dict[tuple[int, int], LineString | None]:
    """The path of every leg of every round (keyed by trip index and position; position
    len(visits) is the way back to the hub): only the legs the plan drives, each search bounded
    by the leg's length in the matrix (a few percent over it), so that a leg costs a search of
    its own neighbourhood, not of the whole region."""
    inputs = computation.inputs
    problem = computation.problem
    legs: dict[tuple[int, int], LineString | None] = {}
    for t, trip in enumerate(computation.plan.trips):
        profile = inputs.couriers[trip.vehicle].profile
        meters = problem.meters[profile]
        points = (
            [inputs.hub_lonlat]
            + [
                (computation.stops[v.stop].place.lon, computation.stops[v.stop].place.lat)
                for v in trip.visits
            ]
            + [inputs.hub_lonlat]
        )
        index = [0] + [v.stop + 1 for v in trip.visits] + [0]
        for k in range(len(points) - 1):
            known = float(meters[index[k], index[k + 1]])
            bound = known * LEG_SEARCH_MARGIN + 50.0 if np.isfinite(known) else None
            legs[(t, k)] = _leg(points[k], points[k + 1], profile, bound)
    return legs


# A leg's search is bounded by its length in the matrix times this (the matrix's meters are
# the cheapest path's; a margin keeps rounding and profile factors inside).
LEG_SEARCH_MARGIN = 1.05


def _leg(
    start: tuple[float, float], end: tuple[float, float], profile: str, bound: float | None
) -> LineString | None:
    for limit in (bound, None) if bound is not None else (None,):
        try:
            result = route_between(start=start, end=end, profile=profile, max_effective_m=limit)
        except NoRouteError:
            continue  # not within the bound: once more, unbounded
        except (OffGraphError, IslandError, RouteTooLongError):
            return None
        geometry = result.geometry
        return geometry if isinstance(geometry, LineString) else None
    return None


def _served_orders(plan: Plan, stops: list[StopDraft]) -> list[int]:
    return sorted(
        order_id for trip in plan.trips for v in trip.visits for order_id in stops[v.stop].order_ids
    )


def _baseline_matrices(matrices: _PlaceMatrices) -> tuple[np.ndarray, np.ndarray]:
    """The vans' matrices (car profile), a missing leg repaired through the hub."""
    b_seconds, b_meters = matrices.full.get(
        matrices.baseline_profile, (np.zeros((1, 1)), np.zeros((1, 1)))
    )
    b_seconds, b_meters = b_seconds.copy(), b_meters.copy()
    _repair(b_seconds, b_meters)
    return b_seconds, b_meters


def _day_span(inputs: BatchInputs) -> tuple[int, int]:
    """From the first courier's start to the last one's end: the baselines' vans' day."""
    return (
        min((c.shift_start for c in inputs.couriers), default=8 * 3600),
        max((c.shift_end for c in inputs.couriers), default=18 * 3600),
    )


def pooled_vans_meters(computation: BatchComputation, *, budget_s: float, seed: int = 1) -> int:
    """What the carriers' vans would drive pooling the same parcels: as many vans as baseline (b)
    has (one per carrier), from the hub, sharing every parcel in one routing problem (no windows
    kept, as in baseline (b)). Baseline (b) minus this is the pooling effect; this minus the
    plan, the mode effect (cargo bikes instead of vans)."""
    matrices = computation.matrices
    if matrices is None or not computation.plan.trips:
        return 0
    inputs = computation.inputs
    served = _served_orders(computation.plan, computation.stops)
    b_seconds, b_meters = _baseline_matrices(matrices)
    usable = _usable_places(inputs, matrices)
    parcels = _baseline_parcels(inputs, matrices, served, computation.choice, usable, b_seconds)
    meters, _rounds, _stops = van_rounds(
        parcels,
        vans=len({p.carrier for p in parcels}),
        seconds=b_seconds,
        meters=b_meters,
        shift=_day_span(inputs),
        budget_s=budget_s,
        seed=seed,
    )
    return meters
