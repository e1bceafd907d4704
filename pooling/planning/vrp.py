"""The routing problem of a batch, and its solution by PyVRP.

Pure computation, no database: stops (with their load, service time and time windows), vehicles
(capacity, shift, the street-graph profile they move with) and travel matrices from the walking
engine go in; rounds come out. Index 0 of every matrix is the hub; stop ``i`` is index ``i + 1``.
The problem and plan types, with the rules a plan keeps, are in ``vrp_problem``; PyVRP's data in
``vrp_build``; its solutions read back as rounds in ``vrp_rounds``. This module solves.

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
hundred milliseconds, where starting from scratch it would need many seconds. Every plan is
checked again against every rule from the matrices (``vrp_problem.check_plan``).

In a spread-out town (a valley, a rural commune) the farthest stops take most of a round just to
reach: the cap on rounds binds, the couriers' days are full, and rounds rarely fit the couriers
when laid one after another; the trips formulation then plans long detours or nothing usable.
When the mean return trip from the hub to a stop exceeds a quarter of ``round_max_s``
(:func:`spread`), "auto" solves the reload formulation directly: two searches from scratch with
seeds of their own until 70 % of the budget (the search there is sensitive to where it starts),
then the better one polished for the rest.

A stop with several windows (a resident in from 8 to 9 and from 18 to 20) becomes a group of
alternative clients of which exactly one is visited. Stops that no vehicle could serve even alone
(a window outside every shift, a load larger than every vehicle) are left out before solving. If
PyVRP still finds no feasible plan (not enough couriers for the day), the reload formulation is
solved again with every stop optional and a prize far above any detour per order the stop serves,
plus up to half of it by how long its oldest order has waited: as many orders as possible are
served, the oldest first, and the rest are reported (``fleet_full``).

Solver parameters: PyVRP's defaults are tuned for long runs; a plan has seconds. A short
late-acceptance history and a smaller neighbourhood converge much faster in that budget (see
docs/pooling.md for the measurements).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from pyvrp import Solution, SolveParams, solve
from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
from pyvrp.search import NeighbourhoodParams
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from pooling.planning.vrp_build import (
    Built,
    build,
    plan_as_solution,
    reload_start,
    solution_over,
)
from pooling.planning.vrp_problem import Plan, RoutingProblem, Trip, Visit, problem_subset
from pooling.planning.vrp_rounds import keep_valid_rounds, read_solution, schedule_rounds

# Short budgets: see the module's docstring.
FAST_PARAMS = SolveParams(
    ils=IteratedLocalSearchParams(history_length=30),
    neighbourhood=NeighbourhoodParams(num_neighbours=20),
)
# Share of the budget given to the trips formulation; the rest polishes (or repairs) its rounds in
# the reload formulation.
TRIPS_SHARE = 0.8
# The trips formulation is solved once per round length: ``round_max_s`` times each factor.
ROUND_CAP_FACTORS = (1.0, 1.5)
# "auto" picks "trips+reload" or "spread"; the others force one (benchmarks, tests).
STRATEGIES = ("auto", "trips", "reload", "trips+reload", "spread")
# A spread-out town: the reload formulation from scratch, in SCRATCH_RESTARTS searches of their
# own seeds, until this share of the budget; then the best polished for the rest.
SPREAD_SCRATCH_SHARE = 0.7
SCRATCH_RESTARTS = 2
# Above this spread (see :func:`spread`), "auto" solves as for a spread-out town.
SPREAD_LIMIT = 0.25


def stopping(seconds: float, max_iterations: int | None) -> StoppingCriterion:
    if max_iterations:
        return MultipleCriteria([MaxIterations(max_iterations), MaxRuntime(max(seconds, 0.01))])
    return MaxRuntime(max(seconds, 0.01))


def spread(problem: RoutingProblem) -> float:
    """How spread out the stops are for the rounds: the mean return trip from the hub to a stop,
    as a share of the trips formulation's round length. Small in a dense centre (0.05 in the
    Marais), large in a spread-out town (0.6 across Liechtenstein, where the farthest stops take
    most of a round just to reach): there the cap on rounds binds and the trips formulation
    alone plans long detours."""
    if not problem.stops or not problem.vehicles:
        return 0.0
    shares = []
    for profile in {v.profile for v in problem.vehicles}:
        secs = problem.seconds[profile]
        shares.append(float((secs[0, 1:] + secs[1:, 0]).mean()) / max(problem.round_max_s, 1))
    return max(shares)


def unserviceable_reason(problem: RoutingProblem, i: int) -> str | None:
    """Why no vehicle could serve stop ``i`` even alone: ``capacity`` (its load is larger than
    every vehicle), ``window`` (no vehicle reaches it within its windows and back within its
    shift); ``None`` when some vehicle could."""
    stop = problem.stops[i]
    fits = [
        v for v in problem.vehicles if stop.units <= v.capacity_units and stop.kg <= v.capacity_kg
    ]
    if not fits:
        return "capacity"
    return None if i in serviceable(replace(problem, vehicles=tuple(fits)), only=[i]) else "window"


def serviceable(problem: RoutingProblem, only: list[int] | None = None) -> list[int]:
    """The stops some vehicle could serve alone: load within capacity, a window it can reach
    from the hub and come back from within its shift."""
    out = []
    for i in range(len(problem.stops)) if only is None else only:
        stop = problem.stops[i]
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


@dataclass
class _Search:
    """A solve's budget and parameters, and what its stages found so far."""

    seconds: float
    seed: int
    max_iterations: int | None
    params: SolveParams
    started: float
    iterations: int = 0
    plan: Plan | None = None
    # The trips formulation's first solution: where the reload formulation starts when its rounds
    # do not fit the couriers.
    trips_built: Built | None = None
    trips_best: Solution | None = None
    # The reload formulation's best solution when it broke a rule (the fleet may be too small):
    # where the optional formulation starts.
    reload_best: Solution | None = None
    # The reload formulation from scratch found no plan within the rules: the day likely does
    # not fit the fleet, so the rest of the budget goes to the optional formulation.
    short: bool = False

    def remaining(self, share: float = 1.0) -> float:
        elapsed = time.perf_counter() - self.started
        return max((self.seconds * 0.98 - 0.02) * share - elapsed, 0.05)


def solve_problem(
    problem: RoutingProblem,
    *,
    seconds: float,
    seed: int = 1,
    max_iterations: int | None = None,
    params: SolveParams = FAST_PARAMS,
    strategy: str = "auto",
) -> Plan:
    """Solves within ``seconds`` of wall time, building the data included, the fallbacks for a
    day the couriers cannot fit included (see the module's docstring)."""
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
    search = _Search(
        seconds=seconds,
        seed=seed,
        max_iterations=max_iterations,
        params=params,
        started=started,
    )
    if strategy == "auto" and spread(sub) > SPREAD_LIMIT:
        strategy = "spread"
    if strategy == "auto":
        strategy = "trips+reload"
    if strategy in ("trips+reload", "trips"):
        share = (TRIPS_SHARE if strategy == "trips+reload" else 1.0) / len(ROUND_CAP_FACTORS)
        _trips_stage(sub, search, share)
    if strategy == "spread":
        _scratch_stage(sub, search, SPREAD_SCRATCH_SHARE)
    if strategy in ("trips+reload", "reload", "spread"):
        _reload_stage(sub, search)
    plan = search.plan
    if plan is not None and strategy == "spread":
        plan = replace(plan, strategy="spread")
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
            iterations=search.iterations,
            violations=("the rounds do not fit the couriers' shifts",),
            strategy=strategy,
        )
    return _renumbered(problem, keep, plan, started, search.iterations)


def _trips_stage(sub: RoutingProblem, search: _Search, share: float) -> None:
    """The trips formulation, once per round length, its rounds scheduled on the couriers: the
    shortest schedule that serves every stop within the rules becomes the plan."""
    for n, factor in enumerate(ROUND_CAP_FACTORS, start=1):
        capped = replace(sub, round_max_s=int(sub.round_max_s * factor))
        built = build(capped, trips=True)
        result = solve(
            built.data,
            stopping(search.remaining(share * n), search.max_iterations),
            seed=search.seed,
            collect_stats=False,
            display=False,
            params=search.params,
        )
        search.iterations += result.num_iterations
        if search.trips_best is None:
            search.trips_built, search.trips_best = built, result.best
        if not result.is_feasible():
            continue
        scheduled = schedule_rounds(sub, built, result.best)
        if scheduled is None or scheduled.violations or scheduled.left_out:
            continue
        if search.plan is None or scheduled.meters < search.plan.meters:
            search.plan = scheduled


def _scratch_stage(sub: RoutingProblem, search: _Search, until: float) -> None:
    """The reload formulation from scratch until ``until`` of the budget, in ``SCRATCH_RESTARTS``
    searches of their own seeds (the search on a spread-out town is sensitive to where it
    starts): the best valid plan is kept."""
    built = build(sub)
    start = time.perf_counter() - search.started
    total = max(search.remaining(until), 0.05)
    for k in range(SCRATCH_RESTARTS):
        share = (start + total * (k + 1) / SCRATCH_RESTARTS) / max(search.seconds * 0.98, 0.01)
        result = solve(
            built.data,
            stopping(search.remaining(share), search.max_iterations),
            seed=search.seed + k,
            collect_stats=False,
            display=False,
            params=search.params,
        )
        search.iterations += result.num_iterations
        if not result.is_feasible():
            if search.plan is None:
                search.short = True
                search.reload_best = result.best
            continue
        found = read_solution(sub, built, result.best)
        if found.violations or found.left_out:
            continue
        search.short = False
        if search.plan is None or found.meters < search.plan.meters:
            search.plan = found


def _reload_stage(sub: RoutingProblem, search: _Search) -> None:
    """The reload formulation for the rest of the budget, from the scheduled rounds if any; if it
    finds nothing within the rules, again with every stop optional (starting from its best
    rounds), all within the budget: with nothing within the rules yet, the first pass gets half
    of what is left, the optional pass the rest."""
    for optional in (False, True):
        if not optional and search.short:
            continue
        built = build(sub, optional=optional)
        initial = None
        if not optional and search.plan is not None:
            # Polish: the reload search starts from the scheduled rounds and may merge
            # rounds (a courier waiting for a window inside a longer round) or move stops.
            initial = plan_as_solution(sub, search.plan, built)
        elif not optional and search.trips_best is not None and search.trips_built is not None:
            # The rounds did not fit the couriers as they were: the search starts from
            # them laid end to end on the couriers, and repairs the overlaps.
            initial = reload_start(sub, search.trips_built, built, search.trips_best)
        elif optional and search.reload_best is not None:
            initial = solution_over(search.reload_best, built.data)
        if optional or search.plan is not None:
            budget = search.remaining()
        else:
            budget = search.remaining() / 2
        result = solve(
            built.data,
            stopping(budget, search.max_iterations),
            seed=search.seed,
            collect_stats=False,
            display=False,
            params=search.params,
            initial_solution=initial,
        )
        search.iterations += result.num_iterations
        found = read_solution(sub, built, result.best)
        if initial is not None and not optional:
            found = Plan(**{**found.__dict__, "strategy": "trips+reload"})
        if not optional and not result.is_feasible():
            search.reload_best = result.best
        if search.plan is None or _rank(found, result.is_feasible()) < _rank(search.plan, True):
            search.plan = found
        if search.plan is not None and not search.plan.violations:
            break


def _renumbered(
    problem: RoutingProblem, keep: list[int], plan: Plan, started: float, iterations: int
) -> Plan:
    """A plan of the serviceable stops, back in the caller's stop numbers."""
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


def _rank(plan: Plan, feasible: bool) -> tuple[bool, int, int]:
    """Plans compared: rules kept first, then stops served, then meters."""
    return (bool(plan.violations) or not feasible, len(plan.left_out), plan.meters)
