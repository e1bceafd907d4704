"""The routing problem of a batch, and its solution by PyVRP.

Pure computation, no database: stops (with their load, service time and time windows), vehicles
(capacity, shift, the street-graph profile they move with) and travel matrices from the walking
engine go in; rounds come out. Index 0 of every matrix is the hub; stop ``i`` is index ``i + 1``.

A courier does several rounds (*trips*) in a shift, reloading at the hub between them. PyVRP can
model that directly (one vehicle per courier with ``reload_depots``: the *reload* formulation),
but its search converges slowly on it: in two seconds it stays a few percent above what it finds
in thirty. So a plan is solved in two stages first (the *trips* formulation):

1. a VRP with time windows where every round is a vehicle of its own, as many as the couriers of
   each kind could drive, each allowed over the whole day but lasting at most ``round_max_s``
   (two hours by default: compact rounds fit one after another on a courier). PyVRP converges
   within a fraction of a percent in two seconds on it;
2. the rounds are then given to the couriers of their kind, earliest first, each round starting
   when its courier is back and loaded, and as late as its windows allow without waiting.

If stage 2 cannot fit the rounds into the couriers' shifts (too many rounds pinned to the same
hours by their windows), the reload formulation is solved for the rest of the budget, starting
from those rounds laid end to end on the couriers: the search repairs the overlaps in a few
hundred milliseconds, where starting from scratch it would need many seconds. Every plan is checked again against every rule from the matrices (:func:`check_plan`).

A stop with several windows (a resident in from 8 to 9 and from 18 to 20) becomes a group of
alternative clients of which exactly one is visited. Stops that no vehicle could serve even alone
(a window outside every shift, a load larger than every vehicle) are left out before solving. If
PyVRP still finds no feasible plan (not enough couriers for the day), the reload formulation is
solved again with every stop optional and a prize far above any detour, so that as many as
possible are served and the rest are reported.

Solver parameters: PyVRP's defaults are tuned for long runs; a plan has seconds. A short
late-acceptance history and a smaller neighbourhood converge much faster in that budget (see
docs/pooling.md for the measurements).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from pyvrp import (
    Activity,
    ActivityType,
    Client,
    ClientGroup,
    Depot,
    Location,
    ProblemData,
    Route,
    Solution,
    SolveParams,
    VehicleType,
    solve,
)
from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
from pyvrp.search import NeighbourhoodParams
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

# Short budgets: see the module's docstring.
FAST_PARAMS = SolveParams(
    ils=IteratedLocalSearchParams(history_length=30),
    neighbourhood=NeighbourhoodParams(num_neighbours=20),
)
# Share of the budget given to the trips formulation; the rest polishes (or repairs) its rounds in
# the reload formulation.
TRIPS_SHARE = 0.6
# The trips formulation is solved once per round length: ``round_max_s`` times each factor.
ROUND_CAP_FACTORS = (1.0, 1.5)
STRATEGIES = ("auto", "trips", "reload")


@dataclass(frozen=True)
class StopDemand:
    units: int
    kg: int
    service_s: int
    # Windows in which service may *start*, seconds from the day's midnight; empty: any time.
    windows: tuple[tuple[int, int], ...] = ()


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


@dataclass(frozen=True)
class _Built:
    data: ProblemData
    client_stop: list[int]  # PyVRP client index -> stop index
    client_window: list[tuple[int, int]]  # PyVRP client index -> its service-start window
    # PyVRP vehicle type -> the problem's vehicles it stands for.
    type_vehicles: list[list[int]]


def _int_matrix(matrix: np.ndarray, rounding: str) -> np.ndarray:
    values = np.ceil(matrix) if rounding == "ceil" else np.rint(matrix)
    return values.astype(np.int64)


def _horizon(problem: RoutingProblem) -> tuple[int, int]:
    return (
        min((v.shift_start for v in problem.vehicles), default=0),
        max((v.shift_end for v in problem.vehicles), default=86_400),
    )


def build(problem: RoutingProblem, *, optional: bool = False, trips: bool = False) -> _Built:
    """The PyVRP data of a problem, built straight from the matrices (no Python loop over
    edges): one vehicle per courier reloading at the hub, or (``trips``) one vehicle per round."""
    profiles = sorted({v.profile for v in problem.vehicles})
    locations = [Location(x=0.0, y=0.0, name="hub")] + [
        Location(x=0.0, y=0.0, name=f"stop{i}") for i in range(len(problem.stops))
    ]
    horizon_start, horizon_end = _horizon(problem)
    depots = [Depot(location=0, tw_early=horizon_start, tw_late=horizon_end, name="hub")]
    clients: list[Client] = []
    client_stop: list[int] = []
    client_window: list[tuple[int, int]] = []
    groups: list[ClientGroup] = []
    prize = leave_out_prize(problem) if optional else 0
    for i, stop in enumerate(problem.stops):
        windows = stop.windows or ((horizon_start, horizon_end),)
        group_index = len(groups) if len(windows) > 1 else None
        if group_index is not None:
            groups.append(ClientGroup(required=not optional, name=f"stop{i}"))
        for early, late in windows:
            if group_index is not None:
                groups[group_index].add_client(len(clients))
            clients.append(
                Client(
                    location=i + 1,
                    delivery=[stop.units, stop.kg],
                    service_duration=stop.service_s,
                    tw_early=int(early),
                    tw_late=int(late),
                    prize=prize,
                    required=not optional and group_index is None,
                    group=group_index,
                    name=f"stop{i}",
                )
            )
            client_stop.append(i)
            client_window.append((int(early), int(late)))
    vehicle_types: list[VehicleType] = []
    type_vehicles: list[list[int]] = []
    if trips:
        kinds: dict[tuple, list[int]] = {}
        for k, v in enumerate(problem.vehicles):
            kinds.setdefault(v.kind, []).append(k)
        for kind, members in kinds.items():
            specs = [problem.vehicles[k] for k in members]
            # As many rounds as the couriers of this kind could possibly drive.
            rounds = sum(
                max(1, (v.shift_end - v.shift_start) // max(problem.loading_s + 600, 900))
                for v in specs
            )
            vehicle_types.append(
                VehicleType(
                    num_available=int(min(rounds, max(len(problem.stops), 1))),
                    capacity=[kind[1], kind[2]],
                    tw_early=min(v.shift_start for v in specs),
                    tw_late=max(v.shift_end for v in specs),
                    shift_duration=max(problem.round_max_s, 1),
                    unit_distance_cost=kind[3],
                    profile=profiles.index(kind[0]),
                    name=f"rounds-{kind[0]}-{kind[1]}",
                )
            )
            type_vehicles.append(members)
    else:
        for k, v in enumerate(problem.vehicles):
            vehicle_types.append(
                VehicleType(
                    num_available=1,
                    capacity=[v.capacity_units, v.capacity_kg],
                    tw_early=v.shift_start,
                    tw_late=v.shift_end,
                    unit_distance_cost=v.cost_per_m,
                    profile=profiles.index(v.profile),
                    reload_depots=[0],
                    name=v.name or f"vehicle{k}",
                )
            )
            type_vehicles.append([k])
    distances = [_int_matrix(problem.meters[p], "round") for p in profiles]
    durations = [_int_matrix(problem.seconds[p], "ceil") for p in profiles]
    if problem.loading_s:
        # Loading at the hub happens before leaving it: count it on every edge out of the hub.
        for duration in durations:
            duration[0, 1:] += problem.loading_s
    data = ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        distances,  # type: ignore[arg-type]  # the stubs' ndarray[int] is no real numpy type
        durations,  # type: ignore[arg-type]
        groups,
    )
    return _Built(
        data=data, client_stop=client_stop, client_window=client_window, type_vehicles=type_vehicles
    )


def leave_out_prize(problem: RoutingProblem) -> int:
    """What leaving a stop out costs in the optional formulation: more than the longest detour
    any stop could add (a return trip to the farthest stop, at the dearest vehicle), and no more,
    so that the search's penalties for broken rules still outweigh it."""
    worst = 0.0
    for v in problem.vehicles:
        m = problem.meters[v.profile]
        worst = max(worst, float((m[0, :] + m[:, 0]).max()) * v.cost_per_m)
    return int(2 * worst) + 1000


def stopping(seconds: float, max_iterations: int | None) -> StoppingCriterion:
    if max_iterations:
        return MultipleCriteria([MaxIterations(max_iterations), MaxRuntime(max(seconds, 0.01))])
    return MaxRuntime(max(seconds, 0.01))


def serviceable(problem: RoutingProblem) -> list[int]:
    """The stops some vehicle could serve alone: load within capacity, a window it can reach
    from the hub and come back from within its shift."""
    out = []
    for i, stop in enumerate(problem.stops):
        for v in problem.vehicles:
            if stop.units > v.capacity_units or stop.kg > v.capacity_kg:
                continue
            secs = problem.seconds[v.profile]
            go = math.ceil(float(secs[0, i + 1])) + problem.loading_s
            back = math.ceil(float(secs[i + 1, 0]))
            windows = stop.windows or ((v.shift_start, v.shift_end),)
            if any(
                max(v.shift_start + go, early) <= late
                and max(v.shift_start + go, early) + stop.service_s + back <= v.shift_end
                for early, late in windows
            ):
                out.append(i)
                break
    return out


def solve_problem(
    problem: RoutingProblem,
    *,
    seconds: float,
    seed: int = 1,
    max_iterations: int | None = None,
    params: SolveParams = FAST_PARAMS,
    strategy: str = "auto",
) -> Plan:
    """Solves within ``seconds`` of wall time, building the data included (the fallbacks for a
    day the couriers cannot fit get more time: see the module's docstring)."""
    if strategy not in STRATEGIES:
        raise ValueError(strategy)
    started = time.perf_counter()
    keep = serviceable(problem) if problem.vehicles else []
    if not keep:
        return Plan(
            trips=(),
            left_out=tuple(range(len(problem.stops))),
            meters=0,
            cost=0,
            feasible=True,
            solve_seconds=time.perf_counter() - started,
            strategy="none",
        )
    sub = problem_subset(problem, keep) if len(keep) < len(problem.stops) else problem
    iterations = 0
    plan: Plan | None = None
    trips_built: _Built | None = None
    trips_best: Solution | None = None

    def remaining(share: float = 1.0) -> float:
        return max((seconds * 0.98 - 0.02) * share - (time.perf_counter() - started), 0.05)

    if strategy in ("auto", "trips"):
        share = (TRIPS_SHARE if strategy == "auto" else 1.0) / len(ROUND_CAP_FACTORS)
        for n, factor in enumerate(ROUND_CAP_FACTORS, start=1):
            capped = replace(sub, round_max_s=int(sub.round_max_s * factor))
            built = build(capped, trips=True)
            result = solve(
                built.data,
                stopping(remaining(share * n), max_iterations),
                seed=seed,
                collect_stats=False,
                display=False,
                params=params,
            )
            iterations += result.num_iterations
            if trips_best is None:
                trips_built, trips_best = built, result.best
            if not result.is_feasible():
                continue
            scheduled = schedule_rounds(sub, built, result.best)
            if scheduled is None or scheduled.violations or scheduled.left_out:
                continue
            if plan is None or scheduled.meters < plan.meters:
                plan = scheduled
    if strategy in ("auto", "reload"):
        for optional in (False, True):
            built = build(sub, optional=optional)
            initial = None
            if not optional and plan is not None:
                # Polish: the reload search starts from the scheduled rounds and may merge
                # rounds (a courier waiting for a window inside a longer round) or move stops.
                initial = plan_as_solution(sub, plan, built)
            elif not optional and trips_best is not None and trips_built is not None:
                # The rounds did not fit the couriers as they were: the search starts from
                # them laid end to end on the couriers, and repairs the overlaps.
                initial = reload_start(sub, trips_built, built, trips_best)
            budget = remaining() if not optional else max(seconds * 0.5, 0.1)
            result = solve(
                built.data,
                stopping(budget, max_iterations),
                seed=seed,
                collect_stats=False,
                display=False,
                params=params,
                initial_solution=initial,
            )
            iterations += result.num_iterations
            found = read_solution(sub, built, result.best)
            if initial is not None:
                found = Plan(**{**found.__dict__, "strategy": "trips+reload"})
            if plan is None or _rank(found, result.is_feasible()) < _rank(plan, True):
                plan = found
            if plan is not None and not plan.violations:
                break
    if plan is not None and plan.violations:
        plan = keep_valid_rounds(sub, plan)
    if plan is None:
        return Plan(
            trips=(),
            left_out=tuple(range(len(problem.stops))),
            meters=0,
            cost=0,
            feasible=False,
            solve_seconds=time.perf_counter() - started,
            iterations=iterations,
            violations=("the rounds do not fit the couriers' shifts",),
            strategy=strategy,
        )
    # Back to the caller's stop numbers.
    trips = tuple(
        Trip(
            vehicle=t.vehicle,
            number=t.number,
            depart=t.depart,
            back=t.back,
            visits=tuple(
                Visit(stop=keep[v.stop], arrival=v.arrival, start=v.start, end=v.end)
                for v in t.visits
            ),
            meters=t.meters,
            units=t.units,
            kg=t.kg,
        )
        for t in plan.trips
    )
    served = {v.stop for t in trips for v in t.visits}
    return Plan(
        trips=trips,
        left_out=tuple(i for i in range(len(problem.stops)) if i not in served),
        meters=plan.meters,
        cost=plan.meters,
        feasible=not plan.violations,
        solve_seconds=time.perf_counter() - started,
        iterations=iterations,
        violations=plan.violations,
        strategy=plan.strategy,
    )


# --- reading solutions back ------------------------------------------------------------------------


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


def read_solution(problem: RoutingProblem, built: _Built, solution: Solution) -> Plan:
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


def schedule_rounds(problem: RoutingProblem, built: _Built, solution: Solution) -> Plan | None:
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


def _rank(plan: Plan, feasible: bool) -> tuple[bool, int, int]:
    """Plans compared: rules kept first, then stops served, then meters."""
    return (bool(plan.violations) or not feasible, len(plan.left_out), plan.meters)


def plan_as_solution(problem: RoutingProblem, plan: Plan, reload: _Built) -> Solution:
    """A plan's rounds as a reload-formulation solution: each courier's rounds in order, with a
    reload between them; a stop with several windows is the client of the window it is served in."""
    clients: dict[int, list[tuple[int, tuple[int, int]]]] = {}
    for c, (stop, window) in enumerate(zip(reload.client_stop, reload.client_window, strict=True)):
        clients.setdefault(stop, []).append((c, window))
    routes = []
    for k in range(len(problem.vehicles)):
        rounds = sorted((t for t in plan.trips if t.vehicle == k), key=lambda t: t.depart)
        activities: list[Activity] = []
        for j, trip in enumerate(rounds):
            if j:
                activities.append(Activity(ActivityType.DEPOT, 0))
            for visit in trip.visits:
                options = clients[visit.stop]
                c = next((c for c, (e, late) in options if e <= visit.start <= late), options[0][0])
                activities.append(Activity(ActivityType.CLIENT, c))
        if activities:
            routes.append(Route(reload.data, activities, reload.type_vehicles.index([k])))
    return Solution(reload.data, routes)


def reload_start(
    problem: RoutingProblem, trips: _Built, reload: _Built, solution: Solution
) -> Solution:
    """A reload-formulation solution made of a trips-formulation one: each round goes, in order
    of its start, to the courier of its kind who is free first (overlaps are allowed here: the
    search repairs them). Both builds number their clients alike."""
    rounds = sorted(
        (route.start_time(), route.vehicle_type(), [a.idx for a in route if a.is_client()])
        for route in solution.routes()
        if route.num_clients()
    )
    free = {k: problem.vehicles[k].shift_start for k in range(len(problem.vehicles))}
    assigned: dict[int, list[list[int]]] = {}
    for start, kind_type, clients in rounds:
        k = min(trips.type_vehicles[kind_type], key=lambda k: (free[k], k))
        assigned.setdefault(k, []).append(clients)
        free[k] = max(free[k], start) + 3600
    routes = []
    for k, rounds_of_k in sorted(assigned.items()):
        activities: list[Activity] = []
        for j, clients in enumerate(rounds_of_k):
            if j:
                activities.append(Activity(ActivityType.DEPOT, 0))
            activities += [Activity(ActivityType.CLIENT, c) for c in clients]
        routes.append(Route(reload.data, activities, reload.type_vehicles.index([k])))
    return Solution(reload.data, routes)


def keep_valid_rounds(problem: RoutingProblem, plan: Plan) -> Plan:
    """The last resort for a search that found nothing feasible: the rounds that keep every rule,
    one by one; the stops of the others are left out."""
    kept: list[Trip] = []
    for trip in sorted(plan.trips, key=lambda t: (t.vehicle, t.depart)):
        trial = Plan(**{**plan.__dict__, "trips": (*kept, trip), "violations": ()})
        if not check_plan(problem, trial):
            kept.append(trip)
    return _finish(problem, kept, plan.strategy)


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
