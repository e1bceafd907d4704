"""The PyVRP side of a routing problem: its data, and plans handed back to PyVRP as solutions.

:func:`build` makes PyVRP's data straight from the matrices, in one of two formulations (see
``vrp``): one vehicle per courier reloading at the hub, or one vehicle per round. A stop with
several windows becomes a group of alternative clients of which exactly one is visited.
:func:`plan_as_solution` and :func:`reload_start` turn rounds into reload-formulation solutions,
where the search starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    VehicleType,
)

from pooling.planning.vrp_problem import Plan, RoutingProblem


@dataclass(frozen=True)
class Built:
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


def build(problem: RoutingProblem, *, optional: bool = False, trips: bool = False) -> Built:
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
    prizes = leave_out_prizes(problem) if optional else [0] * len(problem.stops)
    for i, stop in enumerate(problem.stops):
        prize = prizes[i]
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
    return Built(
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


def leave_out_prizes(problem: RoutingProblem) -> list[int]:
    """Each stop's prize when the fleet cannot serve them all: the base prize per order the stop
    serves (as many orders as possible), plus up to half of it by how long its oldest order has
    waited (the oldest first among equals)."""
    base = leave_out_prize(problem)
    oldest = max((s.waited_s for s in problem.stops), default=0)
    return [
        base * max(s.orders, 1) + (base * s.waited_s // (2 * oldest) if oldest > 0 else 0)
        for s in problem.stops
    ]


def plan_as_solution(problem: RoutingProblem, plan: Plan, reload: Built) -> Solution:
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
    problem: RoutingProblem, trips: Built, reload: Built, solution: Solution
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


def solution_over(solution: Solution, data: ProblemData) -> Solution:
    """The same rounds over another build of the same problem (the optional formulation numbers
    its clients and vehicles as the required one does)."""
    routes = []
    for route in solution.routes():
        inner = list(route)[1:-1]  # without the start and end depots
        if not any(a.is_client() for a in inner):
            continue
        activities = [
            Activity(ActivityType.DEPOT if a.is_depot() else ActivityType.CLIENT, a.idx)
            for a in inner
        ]
        routes.append(Route(data, activities, route.vehicle_type()))
    return Solution(data, routes)
