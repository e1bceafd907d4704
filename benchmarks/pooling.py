"""Order pooling on a real extract: a seeded day of orders, planned, against baselines and a long
PyVRP run of the same routing problem.

    python -m benchmarks.pooling --pbf PATH --orders 200 --carriers 5 --relay-share 0.3 --budget-s 2

Each run has a database of its own on the configured server (``voisinage_bench_pooling_<pid>``:
created, migrated, the extract imported, dropped at the end; ``--keep-database NAME`` keeps one
instead). The day comes from ``--seed``: a hub at a central node of the largest strongly
connected part of the bike network (also in the car network's, for the vans of the baselines),
residents on the street graph, relay points and neighbour hosts, cargo-bike couriers, and
``--orders`` orders from ``--carriers`` carriers, a ``--relay-share`` of them to be received at a
relay, a host or wherever suits the rounds, within each resident's walking limit. The batch is
then planned by the same code as the Celery task (claim, inputs, matrices, drops, PyVRP with a
``--budget-s`` budget, impact, paths, save).

Figures (the last line printed is one JSON object):

- ``orders_served`` and ``left_out_reasons``: what the plan serves, and why the rest is not;
- ``pooled_km``: vehicle-km of the plan;
- ``per_carrier_km``: baseline (b), each carrier's own van round(s), one PyVRP problem each;
- ``per_parcel_km``: baseline (a), one van trip from the hub per parcel;
- ``pooled_vans_km``: the same parcels pooled, in vans (baseline (b) with one carrier);
- ``reference_km``: the stops the plan serves (same fleet, windows, shifts) solved by PyVRP with
  its default parameters for ``--reference-s`` seconds (30), once per formulation (couriers
  reloading at the hub; one vehicle per round; one vehicle per round, its rounds then polished or
  repaired in the first), the best valid plan kept; ``--reference-own`` also reports the
  planner's own stages with PyVRP's defaults (``own_stages_reference_km``, for information);
  ``ratio_vs_reference`` = pooled / that, on the same orders. ``reference_orders_served``: what
  the reference serves of the whole problem (every stop optional) when the plan leaves some out;
- ``timings_s``: each step of planning (inputs, matrices, drops, solve, impact baselines, legs,
  save) and ``planning_total``;
- ``co2_kg`` and ``savings_vs_per_carrier``: the saving against baseline (b) split into the
  pooling effect (the same vans, pooled) and the mode effect (cargo bikes instead of vans).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.common import bench_database, bench_database_drop

BENCH_DB = "voisinage_bench_pooling"
BENCH_DOMAIN = "bench.voisinage.invalid"
DAY = date(2026, 5, 15)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pbf", type=Path, required=True)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--carriers", type=int, default=5)
    parser.add_argument("--relay-share", type=float, default=0.3)
    parser.add_argument("--budget-s", type=float, default=2.0)
    parser.add_argument("--reference-s", type=float, default=30.0)
    parser.add_argument("--couriers", type=int, default=4, help="cargo bikes of the hub")
    parser.add_argument("--bike-units", type=int, default=None, help="cargo bike volume units")
    parser.add_argument("--bike-kg", type=int, default=None)
    parser.add_argument(
        "--window-share",
        type=float,
        default=0.25,
        help="share of home deliveries with a two-hour window",
    )
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument(
        "--reference-own",
        action="store_true",
        help="also solve with the planner's own stages and PyVRP's defaults (for information)",
    )
    parser.add_argument("--dump-problem", type=Path, default=None, help="pickle the problem here")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="the server (its database is ignored)")
    parser.add_argument(
        "--keep-database",
        default=None,
        metavar="NAME",
        help="use (and keep) this database instead of a new one dropped at the end",
    )
    args = parser.parse_args(argv)

    # A database of its own per run (two runs never share rows), dropped at the end.
    db_name = args.keep_database or f"{BENCH_DB}_{os.getpid()}"
    server_url = args.database_url or os.environ.get("DATABASE_URL")
    bench_database(db_name, server_url)
    if not args.keep_database:
        atexit.register(_drop, db_name, server_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from geo.services import graph_import

    started = time.perf_counter()
    imported = graph_import(path=args.pbf, name=args.pbf.name, if_changed=True)
    say(
        f"graph '{imported.graph.name}' ({'kept' if imported.skipped else 'imported'}) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return run(args)


def _drop(name: str, url: str | None) -> None:
    from django.db import connections

    connections.close_all()
    bench_database_drop(name, url)


def _clean() -> None:
    from accounts.models import User
    from neighbourhoods.models import Association, Neighbourhood
    from pooling.models import (
        Assignment,
        Batch,
        BatchImpact,
        Courier,
        Hub,
        Merchant,
        Order,
        ReceivingPreference,
        RelayPoint,
        Route,
        Stop,
    )

    Assignment.objects.all().delete()
    Stop.objects.all().delete()
    Route.objects.all().delete()
    BatchImpact.objects.all().delete()
    Batch.objects.all().delete()
    Order.objects.all().delete()
    ReceivingPreference.objects.all().delete()
    Courier.objects.all().delete()
    RelayPoint.objects.all().delete()
    Hub.objects.all().delete()
    Merchant.objects.all().delete()
    Neighbourhood.objects.filter(association__name="Bench").delete()
    Association.objects.filter(name="Bench").delete()
    User.objects.filter(email__endswith=f"@{BENCH_DOMAIN}").delete()


def _places(
    rng: random.Random, count: int, hub: tuple[float, float], bbox
) -> list[tuple[float, float]]:
    """Points on the walking graph (moved onto their way), connected to the hub both ways on foot
    and by bike."""
    import numpy as np

    from geo.graph import get_network
    from geo.profiles import get_profile
    from geo.selectors import travel_matrix

    net = get_network()
    walk = get_profile("walk")
    lon0, lat0, lon1, lat1 = bbox
    out: list[tuple[float, float]] = []
    while len(out) < count:
        lons = np.array([rng.uniform(lon0, lon1) for _ in range(count)])
        lats = np.array([rng.uniform(lat0, lat1) for _ in range(count)])
        snaps = net.snap_many(lons, lats, walk)
        cands = []
        for i in range(count):
            if snaps.edge[i] < 0:
                continue
            x, y = net.snapped_point(snaps.one(i))
            lon, lat = net.proj.inverse_coords(np.array([[x, y]]))[0]
            cands.append((round(float(lon), 6), round(float(lat), 6)))
        ok = np.ones(len(cands), dtype=bool)
        for profile in ("bike", "walk"):
            m = travel_matrix(points=[hub, *cands], profile=profile)
            ok &= np.array([v is not None for v in m.seconds[0][1:]])
            ok &= np.array([row[0] is not None for row in m.seconds[1:]])
        out += [c for c, good in zip(cands, ok.tolist(), strict=True) if good]
    return out[:count]


def _hub_point() -> tuple[float, float]:
    """A central node of the largest strongly connected part of the bike network (a place
    every cargo bike can leave and come back to), also inside the car network's largest part
    (so the vans of the baselines start there too): the node of both nearest to the median of
    that part's nodes. Not the middle of the bounding box, which may have no street at all
    (a lake, a mountain)."""
    import numpy as np
    import shapely

    from geo.graph import get_network

    net = get_network()

    def largest(key: str) -> np.ndarray:
        labels = net.graphs[key].labels
        return labels == np.bincount(labels).argmax()

    bike = largest("bike")
    both = bike & largest("car")
    nodes = np.flatnonzero(both if both.any() else bike)
    # Node coordinates from the edges' ends (projected meters).
    xy = np.full((net.n_nodes, 2), np.nan)
    starts = shapely.get_coordinates(shapely.get_point(net.pgeoms, 0))
    ends = shapely.get_coordinates(shapely.get_point(net.pgeoms, -1))
    xy[net.src] = starts
    xy[net.dst] = ends
    part = xy[np.flatnonzero(bike)]
    mx, my = np.nanmedian(part[:, 0]), np.nanmedian(part[:, 1])
    best = nodes[np.nanargmin(np.hypot(xy[nodes, 0] - mx, xy[nodes, 1] - my))]
    lon, lat = net.proj.inverse_coords(xy[[best]])[0]
    return round(float(lon), 6), round(float(lat), 6)


def run(args: argparse.Namespace) -> dict[str, object]:
    from django.conf import settings
    from django.contrib.gis.geos import MultiPolygon, Point, Polygon
    from pyvrp import SolveParams

    from accounts.models import User
    from geo.graph import get_network
    from neighbourhoods.models import Association, Neighbourhood
    from pooling.models import Assignment, Batch, RelayPoint, Route, Stop
    from pooling.planning.compute import batch_compute, legs_compute, pooled_vans_meters
    from pooling.planning.impact import kg_per_km
    from pooling.planning.inputs import batch_inputs_load
    from pooling.planning.pipeline import batch_claim
    from pooling.planning.save import batch_plan_save
    from pooling.planning.vrp import solve_problem
    from pooling.planning.vrp_problem import problem_subset
    from pooling.services.orders import ParcelIn, Receiving, WindowIn, order_declare
    from pooling.services.places import courier_create, hub_create, relay_point_create

    rng = random.Random(args.seed)
    _clean()
    net = get_network()
    b = net.bounds
    # Keep a margin from the extract's edge, where ways are clipped.
    mx, my = (b[2] - b[0]) * 0.06, (b[3] - b[1]) * 0.06
    bbox = (b[0] + mx, b[1] + my, b[2] - mx, b[3] - my)
    association = Association.objects.create(name="Bench", slug="bench")
    neighbourhood = Neighbourhood.objects.create(
        association=association,
        name="Bench",
        area=MultiPolygon(Polygon.from_bbox(tuple(b)), srid=settings.GEO_SRID),
    )
    hub_at = _hub_point()
    hub = hub_create(neighbourhood=neighbourhood, name="Bench hub", lon=hub_at[0], lat=hub_at[1])
    for k in range(args.couriers):
        user = User.objects.create_user(f"courier{k}@{BENCH_DOMAIN}", None, display_name=f"C{k}")
        courier_create(
            user=user,
            hub=hub,
            vehicle="cargo_bike",
            shift_start=dtime(9),
            shift_end=dtime(18),
            capacity_units=args.bike_units,
            capacity_kg=args.bike_kg,
        )
    n_relays = max(2, args.orders // 25)
    n_hosts = max(1, args.orders // 50)
    residents_n = max(1, round(args.orders * 0.9))
    spots = _places(rng, residents_n + n_relays + n_hosts, hub_at, bbox)
    homes, relay_spots = spots[:residents_n], spots[residents_n:]
    relays = []
    kinds = ["shop", "locker", "post_office", "shop"]
    for k, (lon, lat) in enumerate(relay_spots[:n_relays]):
        relays.append(
            relay_point_create(
                kind=kinds[k % len(kinds)],
                name=f"Relay {k}",
                lon=lon,
                lat=lat,
                neighbourhood=neighbourhood,
                capacity_per_day=60,
                opens_at=dtime(8),
                closes_at=dtime(20),
            )
        )
    residents = []
    for i, (lon, lat) in enumerate(homes):
        user = User.objects.create_user(f"r{i}@{BENCH_DOMAIN}", None, display_name=f"R{i}")
        user.home = Point(lon, lat, srid=settings.GEO_SRID)
        user.save(update_fields=["home"])
        residents.append(user)
    for k, (lon, lat) in enumerate(relay_spots[n_relays:]):
        host = User.objects.create_user(f"host{k}@{BENCH_DOMAIN}", None, display_name=f"H{k}")
        relays.append(
            relay_point_create(
                kind=RelayPoint.Kind.NEIGHBOUR_HOST,
                name=f"Host {k}",
                lon=lon,
                lat=lat,
                neighbourhood=neighbourhood,
                operator=host,
                capacity_per_day=10,
                opens_at=dtime(12),
                closes_at=dtime(20),
            )
        )
    carriers = [f"Carrier {chr(65 + k)}" for k in range(args.carriers)]
    sizes = ["s"] * 40 + ["m"] * 35 + ["l"] * 20 + ["xl"] * 5
    weights = ["light"] * 50 + ["medium"] * 30 + ["heavy"] * 15 + ["very_heavy"] * 5
    tz = ZoneInfo(settings.TIME_ZONE)
    for i in range(args.orders):
        resident = residents[i % len(residents)] if i < len(residents) else rng.choice(residents)
        windows = []
        if rng.random() < args.relay_share:
            mode = rng.choices(["relay", "host", "any"], weights=[6, 2, 2])[0]
        else:
            mode = "home"
            if rng.random() < args.window_share:
                start = rng.randint(10, 16)
                windows = [
                    WindowIn(
                        starts_at=datetime.combine(DAY, dtime(start), tzinfo=tz),
                        ends_at=datetime.combine(DAY, dtime(start + 2), tzinfo=tz),
                    )
                ]
        order_declare(
            resident=resident,
            merchant_name="Bench shop",
            carrier=rng.choice(carriers),
            tracking_number=f"B{i:05d}",
            expected_on=DAY,
            parcels=[ParcelIn(size=rng.choice(sizes), weight=rng.choice(weights))],
            receiving=Receiving(
                mode=mode,
                max_walk_seconds=rng.choice([600, 600, 900]),
                walk_profile="wheelchair" if rng.random() < 0.05 else "walk",
            ),
            windows=windows,
        )
    say(
        f"day built: {args.orders} orders, {len(residents)} residents, {n_relays} relays, "
        f"{n_hosts} hosts, {args.couriers} cargo bikes, hub at {hub_at}"
    )

    batch = Batch.objects.create(neighbourhood=neighbourhood, hub=hub, day=DAY)
    t0 = time.perf_counter()
    version = batch_claim(batch_id=batch.pk)
    assert version is not None
    inputs = batch_inputs_load(batch_id=batch.pk, version=version)
    t1 = time.perf_counter()
    computation = batch_compute(inputs, seconds=args.budget_s, max_iterations=None, seed=args.seed)
    t2 = time.perf_counter()
    computation.legs = legs_compute(computation)
    t3 = time.perf_counter()
    batch_plan_save(computation)
    t4 = time.perf_counter()
    plan, impact, problem = computation.plan, computation.impact, computation.problem
    if args.dump_problem:
        import pickle

        args.dump_problem.write_bytes(pickle.dumps(problem))
    say(
        f"planned: {plan.stops_served} stops in {len(plan.trips)} rounds, "
        f"{plan.meters / 1000:.2f} km, solve {plan.solve_seconds:.2f} s "
        f"({plan.iterations} iterations), left out {len(computation.left_out)} "
        f"({dict(Counter(computation.left_out.values()))}), whole planning {t4 - t0:.2f} s"
    )

    # The reference: PyVRP with its default parameters for --reference-s, in each formulation
    # (one vehicle per courier reloading at the hub; one vehicle per round; one vehicle per
    # round, then polished or repaired in the first), the best valid plan kept, solved on the
    # stops the plan serves: both are compared on the same orders.
    # When the plan leaves stops out (a fleet too small for the day), the reference also
    # solves the whole problem with every stop optional, to count what it would serve.
    served_stops = sorted(v.stop for trip in plan.trips for v in trip.visits)
    orders_of = [len(d.order_ids) for d in computation.stops]
    references: dict[str, int] = {}
    own_m: int | None = None
    reference_served_orders: int | None = None
    if not args.no_reference and served_stops:
        same = problem_subset(problem, served_stops)
        for strategy in ("reload", "trips", "trips+reload"):
            say(f"reference: PyVRP defaults, {strategy} formulation, {args.reference_s:.0f} s ...")
            ref = solve_problem(
                same, seconds=args.reference_s, seed=args.seed, params=SolveParams(),
                strategy=strategy,
            )  # fmt: skip
            if ref.feasible and not ref.left_out and ref.trips:
                references[strategy] = ref.meters
        if args.reference_own:
            say(
                f"for information: the planner's own stages, PyVRP defaults, {args.reference_s:.0f} s"
            )
            own = solve_problem(
                same, seconds=args.reference_s, seed=args.seed, params=SolveParams()
            )
            if own.feasible and not own.left_out and own.trips:
                own_m = own.meters
        if plan.left_out:
            say(f"reference: every stop optional, {args.reference_s:.0f} s ...")
            whole = solve_problem(
                problem, seconds=args.reference_s, seed=args.seed, params=SolveParams(),
                strategy="reload",
            )  # fmt: skip
            reference_served_orders = sum(
                orders_of[v.stop] for trip in whole.trips for v in trip.visits
            )
        else:
            reference_served_orders = sum(orders_of[i] for i in served_stops)
    reference_m = min(references.values()) if references else 0
    say("baseline: the same parcels pooled in vans ...")
    pooled_vans_m = pooled_vans_meters(computation, budget_s=max(args.budget_s, 2.0))
    batch.refresh_from_db()
    relay_drops = Assignment.objects.filter(
        batch=batch, released_at__isnull=True, drop_kind__in=["relay", "host"]
    ).count()
    van_kg_km = kg_per_km("van")
    co2_pooled = impact.co2_grams / 1000
    co2_per_carrier = impact.per_carrier_co2_grams / 1000
    co2_pooled_vans = pooled_vans_m / 1000 * van_kg_km
    timings = {k: round(v, 3) for k, v in computation.timings.items()}
    result: dict[str, object] = {
        "extract": args.pbf.name,
        "seed": args.seed,
        "orders": args.orders,
        "orders_served": impact.orders,
        "reference_orders_served": reference_served_orders,
        "left_out": len(computation.left_out),
        "left_out_reasons": dict(sorted(Counter(computation.left_out.values()).items())),
        "carriers": args.carriers,
        "couriers": args.couriers,
        "hub": hub_at,
        "relay_share": args.relay_share,
        "relay_drops": relay_drops,
        "stops": plan.stops_served,
        "stops_left_out_by_solver": len(plan.left_out),
        "rounds": len(plan.trips),
        "routes_saved": Route.objects.filter(batch=batch).count(),
        "stops_saved": Stop.objects.filter(route__batch=batch).count(),
        "budget_s": args.budget_s,
        "reference_s": None if args.no_reference else args.reference_s,
        "pooled_km": round(plan.meters / 1000, 3),
        "per_carrier_km": round(impact.per_carrier_meters / 1000, 3),
        "per_carrier_rounds": impact.per_carrier_rounds,
        "per_parcel_km": round(impact.per_parcel_meters / 1000, 3),
        "pooled_vans_km": round(pooled_vans_m / 1000, 3),
        "reference_km": round(reference_m / 1000, 3),
        "reference_by_formulation_km": {k: round(v / 1000, 3) for k, v in references.items()},
        "ratio_vs_reference": round(plan.meters / reference_m, 4) if reference_m else None,
        # --reference-own: the planner's own stages (spread-out towns: restarts) with PyVRP's
        # defaults for --reference-s; for information, not part of the reference.
        "own_stages_reference_km": round(own_m / 1000, 3) if own_m else None,
        "ratio_vs_own_stages": round(plan.meters / own_m, 4) if own_m else None,
        "strategy": plan.strategy,
        "pooled_over_per_carrier": round(plan.meters / impact.per_carrier_meters, 4)
        if impact.per_carrier_meters
        else None,
        "solver_iterations": plan.iterations,
        "timings_s": {
            "inputs": round(t1 - t0, 3),
            "matrices": timings.get("matrices_s"),
            "drops": timings.get("drops_s"),
            "solve": timings.get("solve_s"),
            "impact_baselines": timings.get("impact_s"),
            "legs": round(t3 - t2, 3),
            "save": round(t4 - t3, 3),
            "planning_total": round(t4 - t0, 3),
        },
        "solve_s": round(plan.solve_seconds, 3),
        "planning_s": round(t4 - t0, 3),
        "co2_kg": {
            "pooled": round(co2_pooled, 3),
            "pooled_vans": round(co2_pooled_vans, 3),
            "per_carrier": round(co2_per_carrier, 3),
            "per_parcel": round(impact.per_parcel_co2_grams / 1000, 3),
        },
        # Savings against the per-carrier baseline (b), split in two: pooling the same vans,
        # then cargo bikes instead of vans; the two add up to the whole saving.
        "savings_vs_per_carrier": {
            "pooling_effect_km": round((impact.per_carrier_meters - pooled_vans_m) / 1000, 3),
            "pooling_effect_co2_kg": round(co2_per_carrier - co2_pooled_vans, 3),
            "mode_effect_co2_kg": round(co2_pooled_vans - co2_pooled, 3),
            "mode_effect_km": round((pooled_vans_m - plan.meters) / 1000, 3),
            "total_co2_kg": round(co2_per_carrier - co2_pooled, 3),
        },
        "batch_status": batch.status,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
