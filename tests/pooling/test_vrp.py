"""The routing core on small hand-made matrices: plans keep every rule, days that do not fit
leave stops out instead of breaking rules, and the checker catches broken plans."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pooling.planning.vrp import solve_problem, unserviceable_reason
from pooling.planning.vrp_problem import RoutingProblem, StopDemand, VehicleSpec, check_plan

H = 3600


def line_problem(stops, vehicles, spacing_s=300, loading_s=0):
    """Stops on a line, ``spacing_s`` apart (bike at 4 m/s): the hub at 0."""
    n = len(stops) + 1
    pos = np.arange(n, dtype=float)
    seconds = np.abs(pos[:, None] - pos[None, :]) * spacing_s
    meters = seconds * 4.0
    return RoutingProblem(
        stops=tuple(stops),
        vehicles=tuple(vehicles),
        seconds={"bike": seconds},
        meters={"bike": meters},
        loading_s=loading_s,
    )


def bike(**kw):
    base = dict(
        profile="bike", capacity_units=10, capacity_kg=50, shift_start=9 * H, shift_end=17 * H
    )
    return VehicleSpec(**{**base, **kw})


def test_a_plan_keeps_capacity_windows_and_shifts():
    stops = [StopDemand(units=3, kg=5, service_s=120) for _ in range(9)]
    stops[4] = StopDemand(units=3, kg=5, service_s=120, windows=((14 * H, 15 * H),))
    stops[7] = StopDemand(
        units=3, kg=5, service_s=120, windows=((10 * H, 10 * H + 900), (16 * H, 16 * H + 900))
    )
    problem = line_problem(stops, [bike(), bike(shift_start=12 * H)], loading_s=300)
    plan = solve_problem(problem, seconds=5, max_iterations=300)
    assert plan.feasible and plan.left_out == () and plan.violations == ()
    assert sorted(v.stop for t in plan.trips for v in t.visits) == list(range(9))
    assert all(t.units <= 10 for t in plan.trips)
    assert check_plan(problem, plan) == []
    seven = next(v for t in plan.trips for v in t.visits if v.stop == 7)
    assert 10 * H <= seven.start <= 10 * H + 900 or 16 * H <= seven.start <= 16 * H + 900


def test_a_day_that_does_not_fit_leaves_a_stop_out_instead_of_breaking_a_rule():
    # Two full loads, both due between 10:00 and 10:50, each 25 minutes from the hub: one courier
    # cannot do both; the plan says so.
    stops = [
        StopDemand(units=10, kg=5, service_s=120, windows=((10 * H, 10 * H + 3000),)),
        StopDemand(units=10, kg=5, service_s=120, windows=((10 * H, 10 * H + 3000),)),
    ]
    problem = line_problem(stops, [bike()], spacing_s=1500)
    plan = solve_problem(problem, seconds=5, max_iterations=300)
    assert len(plan.left_out) == 1 and plan.stops_served == 1
    assert plan.violations == () and check_plan(problem, plan) == []
    # Solved in the reload formulation (directly: stops this far from the hub make a spread day).
    assert plan.strategy == "spread"


def test_a_load_no_vehicle_can_carry_is_left_out_before_solving():
    stops = [StopDemand(units=30, kg=5, service_s=60), StopDemand(units=2, kg=5, service_s=60)]
    plan = solve_problem(line_problem(stops, [bike()]), seconds=5, max_iterations=200)
    assert plan.left_out == (0,) and plan.stops_served == 1


def test_the_checker_catches_broken_plans():
    stops = [StopDemand(units=6, kg=5, service_s=60, windows=((9 * H, 10 * H),)) for _ in range(3)]
    problem = line_problem(stops, [bike()])
    plan = solve_problem(problem, seconds=5, max_iterations=200)
    assert check_plan(problem, plan) == []
    trip = plan.trips[0]
    heavy = replace(plan, trips=(replace(trip, units=99), *plan.trips[1:]))
    assert any("over capacity" in b for b in check_plan(problem, heavy))
    late = replace(plan, trips=(replace(trip, depart=16 * H + 3000, back=18 * H), *plan.trips[1:]))
    assert any("outside the shift" in b for b in check_plan(problem, late))
    twice = replace(plan, trips=(trip, trip))
    assert any("served twice" in b for b in check_plan(problem, twice))


def test_a_short_fleet_serves_as_many_orders_as_it_can_the_oldest_first():
    # Two stops due in the same minute, 10 minutes apart: one courier serves only one of them.
    # A stop of three orders goes before a stop of one, however old; between two stops of one
    # order, the older goes first even though it is the farther.
    due = ((9 * H + 1800, 9 * H + 1860),)
    week = 7 * 86400

    def served(first, second):
        problem = line_problem([first, second], [bike()], spacing_s=600)
        plan = solve_problem(problem, seconds=5, max_iterations=500)
        assert check_plan(problem, plan) == [] and len(plan.left_out) == 1
        assert unserviceable_reason(problem, plan.left_out[0]) is None
        return {v.stop for t in plan.trips for v in t.visits}

    three = StopDemand(units=1, kg=1, service_s=60, windows=due, orders=3, waited_s=0)
    old = StopDemand(units=1, kg=1, service_s=60, windows=due, orders=1, waited_s=week)
    new = StopDemand(units=1, kg=1, service_s=60, windows=due, orders=1, waited_s=0)
    assert served(three, old) == {0}
    assert served(old, three) == {1}
    assert served(new, old) == {1}


def test_why_a_stop_cannot_be_served_at_all():
    stops = [
        StopDemand(units=30, kg=5, service_s=60),
        StopDemand(units=1, kg=1, service_s=60, windows=((6 * H, 7 * H),)),
        StopDemand(units=1, kg=1, service_s=60),
    ]
    problem = line_problem(stops, [bike()])
    assert unserviceable_reason(problem, 0) == "capacity"
    assert unserviceable_reason(problem, 1) == "window"
    assert unserviceable_reason(problem, 2) is None


def test_a_spread_out_day_is_solved_in_the_reload_formulation_directly():
    from pooling.planning.vrp import SPREAD_LIMIT, spread

    near = line_problem(
        [StopDemand(units=1, kg=1, service_s=60) for _ in range(6)], [bike()], spacing_s=60
    )
    far = line_problem(
        [StopDemand(units=1, kg=1, service_s=60) for _ in range(6)], [bike()], spacing_s=900
    )
    assert spread(near) < SPREAD_LIMIT < spread(far)
    assert solve_problem(near, seconds=5, max_iterations=200).strategy != "spread"
    plan = solve_problem(far, seconds=5, max_iterations=200)
    assert plan.strategy == "spread" and plan.left_out == () and check_plan(far, plan) == []
