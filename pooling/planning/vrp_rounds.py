"""PyVRP's solutions read back as rounds.

A reload-formulation solution is read as PyVRP scheduled it (:func:`read_solution`). The rounds
of a trips-formulation solution are given to the couriers of their kind, earliest first, each
leaving when its courier is back and loaded, as late as its windows allow without waiting
(:func:`schedule_rounds`). Every plan read is checked again against every rule; the last resort
keeps the rounds that keep them (:func:`keep_valid_rounds`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from pyvrp import Solution

from pooling.planning.vrp_build import Built
from pooling.planning.vrp_problem import Plan, RoutingProblem, Trip, Visit, check_plan


def _trip_meters(problem: RoutingProblem, vehicle: int, stops: Sequence[int]) -> int:
    meters = problem.meters[problem.vehicles[vehicle].profile]
    seq = [0] + [s + 1 for s in stops] + [0]
    return round(sum(float(meters[a, b]) for a, b in itertools.pairwise(seq)))


def _finish(problem: RoutingProblem, trips: list[Trip], strategy: str) -> Plan:
    trips.sort(key=lambda trip: (trip.vehicle, trip.number))
    served = {v.stop for t in trips for v in t.visits}
    partial = Plan(
        trips=tuple(trips),
        left_out=tuple(i for i in range(len(problem.stops)) if i not in served),
        meters=sum(trip.meters for trip in trips),
        cost=0,
        feasible=True,
        solve_seconds=0.0,
        strategy=strategy,
    )
    broken = tuple(check_plan(problem, partial))
    return Plan(**{**partial.__dict__, "violations": broken, "feasible": not broken})


def read_solution(problem: RoutingProblem, built: Built, solution: Solution) -> Plan:
    """The rounds of a reload-formulation solution, as PyVRP scheduled them."""
    trips: list[Trip] = []
    for route in solution.routes():
        k = built.type_vehicles[route.vehicle_type()][0]
        activities = list(route)
        # Depot activities open trips 0, 1, ..., and the last one closes the final trip.
        depot_times = {a.trip: a.start_time for a in activities if a.is_depot()}
        by_trip: dict[int, list[Visit]] = {}
        for a in activities:
            if not a.is_client():
                continue
            by_trip.setdefault(a.trip, []).append(
                Visit(
                    stop=built.client_stop[a.idx],
                    arrival=int(a.start_time - a.wait_duration),
                    start=int(a.start_time),
                    end=int(a.end_time),
                )
            )
        for number, t in enumerate(sorted(by_trip)):
            visits = by_trip[t]
            stops = [v.stop for v in visits]
            trips.append(
                Trip(
                    vehicle=k,
                    number=number,
                    depart=int(depot_times.get(t, visits[0].arrival)),
                    back=int(depot_times.get(t + 1, visits[-1].end)),
                    visits=tuple(visits),
                    meters=_trip_meters(problem, k, stops),
                    units=sum(problem.stops[s].units for s in stops),
                    kg=sum(problem.stops[s].kg for s in stops),
                )
            )
    return _finish(problem, trips, "reload")


@dataclass(frozen=True)
class _Round:
    kind_type: int
    stops: tuple[int, ...]
    windows: tuple[tuple[int, int], ...]  # the chosen window of each stop


def _run(
    problem: RoutingProblem, vehicle: int, rnd: _Round, depart: int
) -> tuple[list[Visit], int] | None:
    """The round driven by ``vehicle`` leaving the hub at ``depart`` (waiting for windows when
    early): its visits and its return, or None when a window is missed."""
    secs = problem.seconds[problem.vehicles[vehicle].profile]
    clock = depart + problem.loading_s
    here = 0
    visits = []
    for stop, (early, late) in zip(rnd.stops, rnd.windows, strict=True):
        clock += math.ceil(float(secs[here, stop + 1]))
        start = max(clock, early)
        if start > late:
            return None
        end = start + problem.stops[stop].service_s
        visits.append(Visit(stop=stop, arrival=clock, start=start, end=end))
        clock = end
        here = stop + 1
    return visits, clock + math.ceil(float(secs[here, 0]))


def _no_wait_start(problem: RoutingProblem, vehicle: int, rnd: _Round) -> int:
    """The earliest departure that reaches every window without waiting."""
    secs = problem.seconds[problem.vehicles[vehicle].profile]
    offset = problem.loading_s
    here = 0
    latest_need = -(10**9)
    for stop, (early, _late) in zip(rnd.stops, rnd.windows, strict=True):
        offset += math.ceil(float(secs[here, stop + 1]))
        latest_need = max(latest_need, early - offset)
        offset += problem.stops[stop].service_s
        here = stop + 1
    return latest_need


def _latest_departure(
    problem: RoutingProblem, vehicle: int, rnd: _Round, earliest: int
) -> int | None:
    """When to leave, from ``earliest`` on: without waiting at any window if possible, else as
    late as every window allows (a round waits as little as it can). None: even ``earliest`` is
    too late. (Leaving earlier never misses a window, since the courier may wait.)"""
    target = max(earliest, _no_wait_start(problem, vehicle, rnd))
    if _run(problem, vehicle, rnd, target) is not None:
        return target
    if _run(problem, vehicle, rnd, earliest) is None:
        return None
    lo, hi = earliest, target  # feasible at lo, not at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _run(problem, vehicle, rnd, mid) is None:
            hi = mid
        else:
            lo = mid
    return lo


def schedule_rounds(problem: RoutingProblem, built: Built, solution: Solution) -> Plan | None:
    """Gives the rounds of a trips-formulation solution to the couriers of their kind: rounds in
    order of their earliest start without waiting; each to the courier who brings it back first,
    leaving when that courier is free (or later, to avoid waiting at a window). None when a round
    fits no courier's shift."""
    rounds = []
    for route in solution.routes():
        clients = [a.idx for a in route if a.is_client()]
        if clients:
            rounds.append(
                _Round(
                    kind_type=route.vehicle_type(),
                    stops=tuple(built.client_stop[c] for c in clients),
                    windows=tuple(built.client_window[c] for c in clients),
                )
            )
    free = {k: v.shift_start for k, v in enumerate(problem.vehicles)}
    done: dict[int, int] = {k: 0 for k in free}
    order = sorted(
        rounds,
        key=lambda r: (_no_wait_start(problem, built.type_vehicles[r.kind_type][0], r), r.stops),
    )
    trips: list[Trip] = []
    for rnd in order:
        best: tuple[int, int, list[Visit]] | None = None
        best_k = -1
        for k in built.type_vehicles[rnd.kind_type]:
            v = problem.vehicles[k]
            earliest = max(free[k], v.shift_start)
            depart = _latest_departure(problem, k, rnd, earliest)
            if depart is None:
                continue
            ran = _run(problem, k, rnd, depart)
            if ran is None or ran[1] > v.shift_end:
                continue
            if best is None or ran[1] < best[1]:
                best = (depart, ran[1], ran[0])
                best_k = k
        if best is None:
            return None
        depart, back, visits = best
        free[best_k] = back
        trips.append(
            Trip(
                vehicle=best_k,
                number=done[best_k],
                depart=depart,
                back=back,
                visits=tuple(visits),
                meters=_trip_meters(problem, best_k, rnd.stops),
                units=sum(problem.stops[s].units for s in rnd.stops),
                kg=sum(problem.stops[s].kg for s in rnd.stops),
            )
        )
        done[best_k] += 1
    return _finish(problem, trips, "trips")


def keep_valid_rounds(problem: RoutingProblem, plan: Plan) -> Plan:
    """The last resort for a search that found nothing feasible: the rounds that keep every rule,
    one by one; the stops of the others are left out."""
    kept: list[Trip] = []
    for trip in sorted(plan.trips, key=lambda t: (t.vehicle, t.depart)):
        trial = Plan(**{**plan.__dict__, "trips": (*kept, trip), "violations": ()})
        if not check_plan(problem, trial):
            kept.append(trip)
    return _finish(problem, kept, plan.strategy)
