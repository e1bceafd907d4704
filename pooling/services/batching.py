"""Planning a neighbourhood's deliveries for a day: a batch.

A batch is asked for by the association's staff, or created by the cut-off sweep (Celery beat).
Planning runs as a Celery task in four steps, each visible on the batch row (percent + stage):

1. claim (one transaction): the batch takes the neighbourhood's waiting orders. An order is in
   at most one active batch: the assignment table's partial unique index refuses a second one,
   and claims are ``INSERT ... ON CONFLICT DO NOTHING``, so two batches racing for an order
   cannot both get it.
2. compute (no transaction; seconds of work): drops within each resident's choice and walking
   limit, stops, travel matrices from the walking engine, rounds by PyVRP, and the impact.
3. legs: the path of every leg as a LineString, from the walking engine.
4. save (one transaction): only if the batch is still at the version the plan started from and
   no round has started; routes, stops and assignments replace the previous plan, and people
   are told (order.planned, relay.parcels_to_receive, route.updated on a re-plan).

Planning is several transactions on purpose: holding a transaction and row locks through seconds
of solving would block couriers and residents. The version check makes the last one safe: a plan
computed from stale inputs is dropped, and the newer run lands instead.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import LineString, Point
from django.contrib.gis.measure import D
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from backend.accounts.models import User
from backend.errors import DomainError
from geo.graph import get_network
from geo.network import IslandError, NoRouteError, OffGraphError
from geo.selectors import RouteTooLongError, route_between, travel_matrix
from notifications.services.events import notify
from pooling.errors import NoHubError, NotStaffError
from pooling.models import (
    SIZE_UNITS,
    WEIGHT_KG,
    Assignment,
    Batch,
    BatchImpact,
    Courier,
    DropKind,
    Hub,
    Order,
    ReceiveMode,
    RelayPoint,
    Route,
    Stop,
)
from pooling.planning import clock
from pooling.planning.assignment import (
    DropChoice,
    DropOption,
    OrderDemand,
    Place,
    StopDraft,
    choose_drops,
    merge_stops,
    relay_options,
)
from pooling.planning.impact import BaselineParcel, Impact, impact_compute
from pooling.planning.vrp import Plan, RoutingProblem, StopDemand, Trip, VehicleSpec, solve_problem
from sharing.models import Neighbourhood

logger = logging.getLogger(__name__)

Progress = Callable[[int, str], None]
# Relays without a neighbourhood serve the hubs within this distance.
RELAY_REACH_M = 3000.0


# --- asking for a batch ----------------------------------------------------------------------------


def is_neighbourhood_staff(user: User, neighbourhood: Neighbourhood) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return neighbourhood.association.staff.filter(pk=user.pk).exists()


def batch_request(*, actor: User, neighbourhood_id: int, day: date) -> tuple[Batch, bool]:
    """Staff of the neighbourhood's association ask for the day's plan. Returns the batch and
    whether it was created; an open batch of that day is re-planned instead of duplicated."""
    neighbourhood = (
        Neighbourhood.objects.select_related("association").filter(pk=neighbourhood_id).first()
    )
    if neighbourhood is None or not is_neighbourhood_staff(actor, neighbourhood):
        # 403 rather than 404 for neighbourhoods that exist; unknown ones say the same.
        raise NotStaffError()
    return _batch_open(neighbourhood=neighbourhood, day=day, requested_by=actor)


def _batch_open(
    *, neighbourhood: Neighbourhood, day: date, requested_by: User | None
) -> tuple[Batch, bool]:
    hub = Hub.objects.filter(neighbourhood=neighbourhood, is_active=True).first()
    if hub is None:
        raise NoHubError()
    with transaction.atomic():
        existing = (
            Batch.objects.select_for_update()
            .filter(neighbourhood=neighbourhood, day=day, status__in=Batch.OPEN)
            .first()
        )
        if existing is not None:
            existing.replan_requested = True
            existing.save(update_fields=["replan_requested"])
            transaction.on_commit(partial(batch_plan_enqueue, existing.pk))
            return existing, False
        try:
            with transaction.atomic():
                batch = Batch.objects.create(
                    neighbourhood=neighbourhood, hub=hub, day=day, requested_by=requested_by
                )
        except IntegrityError:
            # Another request opened it a moment ago (the partial unique index said so).
            batch = Batch.objects.get(neighbourhood=neighbourhood, day=day, status__in=Batch.OPEN)
            return batch, False
        transaction.on_commit(partial(batch_plan_enqueue, batch.pk))
        return batch, True


def batch_plan_enqueue(batch_id: int) -> None:
    """Queues the planning task; if the broker is down, the cut-off sweep picks the batch up."""
    from kombu.exceptions import OperationalError as BrokerError

    from pooling.tasks import batch_plan_task

    try:
        batch_plan_task.delay(batch_id)
    except (BrokerError, OSError) as error:
        logger.warning("batch #%s waits for the sweep: broker unreachable (%s)", batch_id, error)


def batch_replan_request(*, batch_id: int) -> bool:
    """Asks for a new plan of a batch whose rounds have not started (orders added, cancelled or
    changed). Returns whether a re-plan was queued."""
    with transaction.atomic():
        updated = Batch.objects.filter(pk=batch_id, status__in=Batch.OPEN).update(
            replan_requested=True
        )
        if updated:
            transaction.on_commit(partial(batch_plan_enqueue, batch_id))
    return bool(updated)


def batches_touch_for_order(*, order: Order) -> None:
    """A new or changed order: the open batch that would take it is planned again."""
    if order.neighbourhood_id is None:
        return
    batch = (
        Batch.objects.filter(
            neighbourhood_id=order.neighbourhood_id,
            status__in=Batch.OPEN,
            day__gte=order.expected_on,
        )
        .order_by("day")
        .first()
    )
    if batch is not None:
        batch_replan_request(batch_id=batch.pk)


def cutoff_sweep(*, now: datetime | None = None) -> list[int]:
    """The Celery beat job: every hub whose cut-off has passed today gets its day's batch; batches
    whose planning was never queued (broker down), that wait for a re-plan, or whose planning run
    went silent for ``POOLING_PLANNING_STALE_SECONDS`` (lost with its worker) are queued again.
    Returns the batches queued."""
    now = timezone.localtime(now or timezone.now(), clock.local_zone())
    today = now.date()
    queued: list[int] = []
    for hub in Hub.objects.filter(is_active=True).select_related("neighbourhood"):
        if now.time() < hub.cutoff_time:
            continue
        done = Batch.objects.filter(neighbourhood_id=hub.neighbourhood_id, day=today).exclude(
            status__in=[Batch.Status.FAILED, Batch.Status.CANCELLED]
        )
        if done.exists():
            continue
        batch, created = _batch_open(neighbourhood=hub.neighbourhood, day=today, requested_by=None)
        if created:
            queued.append(batch.pk)
    silent = now - timedelta(seconds=settings.POOLING_PLANNING_STALE_SECONDS)
    stale = Batch.objects.filter(
        Q(status=Batch.Status.PENDING, created_at__lt=now - timedelta(minutes=2))
        | Q(status=Batch.Status.PLANNED, replan_requested=True)
        # A run that stopped reporting: its worker died and the broker lost its message.
        | Q(status=Batch.Status.PLANNING, progress_at__lt=silent)
    ).values_list("pk", flat=True)
    for batch_id in stale:
        if batch_id not in queued:
            batch_plan_enqueue(batch_id)
            queued.append(batch_id)
    return queued


# --- planning --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourierInput:
    courier_id: int
    user_id: int
    vehicle: str
    profile: str
    capacity_units: int
    capacity_kg: int
    shift_start: int
    shift_end: int


@dataclass(frozen=True)
class OrderInfo:
    order_id: int
    resident_id: int
    carrier: str
    merchant_name: str
    mode: str
    home_key: str | None
    parcels: int
    units: int
    kg: int


@dataclass
class BatchInputs:
    batch_id: int
    version: int
    day: date
    hub_lonlat: tuple[float, float]
    loading_s: int
    couriers: list[CourierInput]
    orders: list[OrderDemand]
    info: dict[int, OrderInfo]
    places: dict[str, Place]
    left_out: dict[int, str] = field(default_factory=dict)


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


def batch_progress(batch_id: int, percent: int, stage: str) -> None:
    """Progress, written outside any transaction so that the API shows it at once."""
    Batch.objects.filter(pk=batch_id).update(
        progress_percent=percent, progress_stage=stage, progress_at=timezone.now()
    )


def batch_plan(
    *,
    batch_id: int,
    seconds: float | None = None,
    max_iterations: int | None = None,
    progress: Progress | None = None,
) -> Batch | None:
    """Plans (or re-plans) a batch: see the module's docstring. Returns the batch, or None when
    it is no longer plannable (dispatched, completed, cancelled)."""

    def say(percent: int, stage: str) -> None:
        batch_progress(batch_id, percent, stage)
        if progress is not None:
            progress(percent, stage)

    version = batch_claim(batch_id=batch_id)
    if version is None:
        return None
    try:
        say(10, "collecting")
        inputs = batch_inputs_load(batch_id=batch_id, version=version)
        computation = batch_compute(
            inputs,
            seconds=settings.POOLING_SOLVER_SECONDS if seconds is None else seconds,
            max_iterations=max_iterations
            if max_iterations is not None
            else settings.POOLING_SOLVER_MAX_ITERATIONS,
            progress=say,
        )
        say(90, "paths")
        computation.legs = legs_compute(computation)
        say(95, "saving")
        return batch_plan_save(computation)
    except DomainError as error:
        batch_fail(batch_id=batch_id, version=version, code=error.code)
        raise
    except Exception:
        batch_fail(batch_id=batch_id, version=version, code="internal_error")
        raise


def batch_claim(*, batch_id: int) -> int | None:
    """Starts a planning run: the batch's new version, with the waiting orders claimed."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status not in Batch.OPEN:
            return None
        batch.version += 1
        batch.status = Batch.Status.PLANNING
        batch.replan_requested = False
        batch.progress_percent = 5
        batch.progress_stage = "claiming"
        batch.progress_at = timezone.now()
        batch.error_code = ""
        batch.save(
            update_fields=[
                "version",
                "status",
                "replan_requested",
                "progress_percent",
                "progress_stage",
                "progress_at",
                "error_code",
            ]
        )
        waiting = (
            Order.objects.filter(
                neighbourhood_id=batch.neighbourhood_id,
                status=Order.Status.PENDING,
                expected_on__lte=batch.day,
            )
            .exclude(
                Exists(Assignment.objects.filter(order=OuterRef("pk"), released_at__isnull=True))
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Assignment.objects.bulk_create(
            [Assignment(batch=batch, order_id=pk) for pk in waiting], ignore_conflicts=True
        )
        return batch.version


def batch_fail(*, batch_id: int, version: int, code: str) -> None:
    """A planning run that broke: the batch is failed and its orders go back to the pool (unless
    a newer run took over)."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.version != version or batch.status != Batch.Status.PLANNING:
            return
        now = timezone.now()
        held = Assignment.objects.filter(batch=batch, released_at__isnull=True)
        Order.objects.filter(pk__in=held.values("order_id"), status=Order.Status.PLANNED).update(
            status=Order.Status.PENDING
        )
        held.update(
            released_at=now, outcome=Assignment.Outcome.RELEASED, release_reason="batch_failed"
        )
        batch.routes.all().delete()
        batch.status = Batch.Status.FAILED
        batch.error_code = code[:64]
        batch.progress_stage = "failed"
        batch.save(update_fields=["status", "error_code", "progress_stage"])


def _relay_capacity_left(relays: Sequence[RelayPoint], day: date, batch_id: int) -> dict[int, int]:
    used = dict(
        Assignment.objects.filter(
            relay_point__in=relays,
            batch__day=day,
            released_at__isnull=True,
        )
        .exclude(batch_id=batch_id)
        .values("relay_point_id")
        .annotate(parcels=Count("order__parcels"))
        .values_list("relay_point_id", "parcels")
    )
    return {r.pk: max(r.capacity_per_day - used.get(r.pk, 0), 0) for r in relays}


def batch_inputs_load(*, batch_id: int, version: int) -> BatchInputs:
    """Everything planning needs, read once."""
    batch = Batch.objects.select_related("hub").get(pk=batch_id)
    hub = batch.hub
    day = batch.day
    couriers = [
        CourierInput(
            courier_id=c.pk,
            user_id=c.user_id,
            vehicle=c.vehicle,
            profile=settings.POOLING_VEHICLE_PROFILES[c.vehicle],
            capacity_units=c.capacity_units,
            capacity_kg=c.capacity_kg,
            shift_start=clock.time_seconds(c.shift_start),
            shift_end=clock.time_seconds(c.shift_end),
        )
        for c in Courier.objects.filter(hub=hub, is_active=True, user__is_active=True).order_by(
            "pk"
        )
    ]
    horizon = (
        min((c.shift_start for c in couriers), default=0),
        max((c.shift_end for c in couriers), default=0),
    )
    relays = list(
        RelayPoint.objects.filter(is_active=True).filter(
            Q(neighbourhood_id=batch.neighbourhood_id)
            | Q(neighbourhood__isnull=True, location__dwithin=(hub.location, D(m=RELAY_REACH_M)))
        )
    )
    capacity = _relay_capacity_left(relays, day, batch_id)
    places: dict[str, Place] = {}
    for r in relays:
        hours = clock.clip(
            [(clock.time_seconds(r.opens_at), clock.time_seconds(r.closes_at))], *horizon
        )
        if not hours or capacity[r.pk] <= 0:
            continue
        places[f"relay:{r.pk}"] = Place(
            key=f"relay:{r.pk}",
            kind=r.drop_kind,
            lon=r.location.x,
            lat=r.location.y,
            relay_point_id=r.pk,
            capacity_left=capacity[r.pk],
            hours=tuple(hours),
            label=r.name,
        )
    assignments = (
        Assignment.objects.filter(batch_id=batch_id, released_at__isnull=True)
        .select_related("order__resident", "order__resident__receiving_preference")
        .prefetch_related("order__parcels", "order__windows")
        .order_by("order_id")
    )
    orders: list[OrderDemand] = []
    info: dict[int, OrderInfo] = {}
    left_out: dict[int, str] = {}
    options_cache: dict[tuple, list[DropOption]] = {}
    for assignment in assignments:
        order = assignment.order
        resident = order.resident
        parcels = list(order.parcels.all())
        units = sum(SIZE_UNITS[p.size] for p in parcels)
        kg = sum(WEIGHT_KG[p.weight] for p in parcels)
        home = resident.home
        options: list[DropOption] = []
        windows: list[clock.Window] = []
        reason = "no_drop_within_walking_limit"
        home_key = f"home:{resident.pk}" if home is not None else None
        if home is None or home_key is None:
            reason = "no_home"
        elif order.receive_mode in (ReceiveMode.HOME, ReceiveMode.ANY):
            windows = _home_windows(order, day)
            windows = clock.clip(windows, *horizon) if windows else []
            if windows or not _has_own_windows(order, day):
                options.append(DropOption(key=home_key, kind=DropKind.HOME))
                places.setdefault(
                    home_key,
                    Place(
                        key=home_key,
                        kind=DropKind.HOME,
                        lon=home.x,
                        lat=home.y,
                        resident_id=resident.pk,
                        label=resident.home_address,
                    ),
                )
            else:
                reason = "not_in_during_shifts"
        if home is not None and order.receive_mode != ReceiveMode.HOME:
            cache_key = (
                resident.pk,
                order.receive_mode,
                order.relay_point_id,
                order.max_walk_seconds,
                order.walk_profile,
            )
            if cache_key not in options_cache:
                options_cache[cache_key] = relay_options(
                    home=Point(home.x, home.y, srid=settings.GEO_SRID),
                    mode=order.receive_mode,
                    relay_point_id=order.relay_point_id,
                    max_walk_seconds=order.max_walk_seconds,
                    profile=order.walk_profile,
                    relays=[p.relay_point_id for p in places.values() if p.relay_point_id],
                )
            options += options_cache[cache_key]
        orders.append(
            OrderDemand(
                order_id=order.pk,
                resident_id=resident.pk,
                parcels=len(parcels),
                units=units,
                kg=kg,
                options=tuple(options),
                home_windows=tuple(windows),
                no_option_reason=reason,
            )
        )
        info[order.pk] = OrderInfo(
            order_id=order.pk,
            resident_id=resident.pk,
            carrier=order.carrier,
            merchant_name=order.merchant_name,
            mode=order.receive_mode,
            home_key=home_key,
            parcels=len(parcels),
            units=units,
            kg=kg,
        )
    return BatchInputs(
        batch_id=batch_id,
        version=version,
        day=day,
        hub_lonlat=(hub.location.x, hub.location.y),
        loading_s=hub.loading_seconds,
        couriers=couriers,
        orders=orders,
        info=info,
        places=places,
        left_out=left_out,
    )


def _has_own_windows(order: Order, day: date) -> bool:
    """Whether the resident said when they are in (for this order, or weekly for this day)."""
    if any(True for _ in order.windows.all()):
        return True
    pref = getattr(order.resident, "receiving_preference", None)
    return bool(pref and clock.weekly_windows(pref.home_windows, day))


def _home_windows(order: Order, day: date) -> list[clock.Window]:
    own = [
        (clock.seconds_of(day, w.starts_at), clock.seconds_of(day, w.ends_at))
        for w in order.windows.all()
    ]
    own = clock.clip(own, 0, 86_400)
    if own or any(True for _ in order.windows.all()):
        return own
    pref = getattr(order.resident, "receiving_preference", None)
    return clock.weekly_windows(pref.home_windows, day) if pref else []


def _matrix(points: Sequence[tuple[float, float]], profile: str) -> tuple[np.ndarray, np.ndarray]:
    result = travel_matrix(points=points, profile=profile)
    seconds = np.array(
        [[np.inf if v is None else v for v in row] for row in result.seconds], dtype=float
    )
    meters = np.array(
        [[np.inf if v is None else v for v in row] for row in result.meters], dtype=float
    )
    return seconds, meters


def _repair(seconds: np.ndarray, meters: np.ndarray) -> None:
    """Fills a missing leg between two stops (a one-way knot) with the trip through the hub, which
    exists whenever both stops are reachable from and to the hub."""
    bad = ~np.isfinite(seconds)
    if bad.any():
        via_s = seconds[:, [0]] + seconds[[0], :]
        via_m = meters[:, [0]] + meters[[0], :]
        seconds[bad] = via_s[bad]
        meters[bad] = via_m[bad]


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
    net = get_network()

    say(20, "matrices")
    # One matrix per profile over the hub and every place a parcel could go: it says which
    # places the fleet can reach (and come back from), it prices the rounds, and the baselines.
    keys = ["hub", *sorted(inputs.places, key=_key_order)]
    lonlat = [inputs.hub_lonlat] + [(inputs.places[k].lon, inputs.places[k].lat) for k in keys[1:]]
    baseline_profile = settings.POOLING_VEHICLE_PROFILES["van"]
    fleet_profiles = sorted({c.profile for c in inputs.couriers})
    full: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if len(keys) > 1:
        for profile in sorted({*fleet_profiles, baseline_profile}):
            full[profile] = _matrix(lonlat, profile)
    point_of = {k: i for i, k in enumerate(keys)}
    usable = {
        k: inputs.places[k]
        for k in keys[1:]
        if all(
            np.isfinite(full[p][0][0, point_of[k]]) and np.isfinite(full[p][0][point_of[k], 0])
            for p in fleet_profiles
        )
    }
    orders = [
        o
        if any(opt.key in usable for opt in o.options) or not o.options
        else replace(o, no_option_reason="no_route")
        for o in inputs.orders
    ]

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
    index = np.array([0] + [point_of[d.place.key] for d in stops])
    seconds_by: dict[str, np.ndarray] = {}
    meters_by: dict[str, np.ndarray] = {}
    for profile in fleet_profiles:
        sub_s = full[profile][0][np.ix_(index, index)].copy()
        sub_m = full[profile][1][np.ix_(index, index)].copy()
        _repair(sub_s, sub_m)
        seconds_by[profile] = sub_s
        meters_by[profile] = sub_m
    problem = RoutingProblem(
        stops=tuple(
            StopDemand(
                units=d.units, kg=d.kg, service_s=d.service_seconds(), windows=tuple(d.windows)
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

    say(40, "solving")
    plan = solve_problem(problem, seconds=seconds, seed=seed, max_iterations=max_iterations)
    if plan.violations:
        # Never save a plan that breaks a rule (PyVRP returned its best infeasible solution).
        logger.warning("batch #%s: plan breaks rules: %s", inputs.batch_id, plan.violations[:5])
        plan = replace(plan, trips=(), left_out=tuple(range(len(stops))), meters=0, feasible=False)
    for s in plan.left_out:
        for order_id in stops[s].order_ids:
            left_out[order_id] = "no_capacity_or_window"

    say(80, "impact")
    served = sorted(
        order_id for trip in plan.trips for v in trip.visits for order_id in stops[v.stop].order_ids
    )
    b_seconds, b_meters = full.get(baseline_profile, (np.zeros((1, 1)), np.zeros((1, 1))))
    b_seconds, b_meters = b_seconds.copy(), b_meters.copy()
    _repair(b_seconds, b_meters)
    baseline = []
    for order_id in served:
        info = inputs.info[order_id]
        drop = choice.drops[order_id]
        natural = (
            info.home_key
            if info.mode in (ReceiveMode.HOME, ReceiveMode.ANY) and info.home_key in usable
            else drop.place_key
        )
        d = point_of[natural]
        if np.isfinite(b_seconds[0, d]) and np.isfinite(b_seconds[d, 0]):
            baseline.append(
                BaselineParcel(carrier=info.carrier, destination=d, units=info.units, kg=info.kg)
            )
    shift = (
        min((c.shift_start for c in inputs.couriers), default=8 * 3600),
        max((c.shift_end for c in inputs.couriers), default=18 * 3600),
    )
    impact = impact_compute(
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
    return BatchComputation(
        inputs=inputs,
        choice=choice,
        stops=stops,
        problem=problem,
        plan=plan,
        impact=impact,
        left_out=left_out,
    )


def _key_order(key: str) -> tuple[str, int]:
    kind, _, ident = key.partition(":")
    return kind, int(ident)


def legs_compute(computation: BatchComputation) -> dict[tuple[int, int], LineString | None]:
    """The path of every leg of every round (keyed by trip index and position; position
    len(visits) is the way back to the hub)."""
    inputs = computation.inputs
    legs: dict[tuple[int, int], LineString | None] = {}
    for t, trip in enumerate(computation.plan.trips):
        profile = inputs.couriers[trip.vehicle].profile
        points = (
            [inputs.hub_lonlat]
            + [
                (computation.stops[v.stop].place.lon, computation.stops[v.stop].place.lat)
                for v in trip.visits
            ]
            + [inputs.hub_lonlat]
        )
        for k in range(len(points) - 1):
            try:
                result = route_between(start=points[k], end=points[k + 1], profile=profile)
            except (NoRouteError, OffGraphError, IslandError, RouteTooLongError):
                legs[(t, k)] = None
                continue
            geometry = result.geometry
            legs[(t, k)] = geometry if isinstance(geometry, LineString) else None
    return legs


def _promise(eta: datetime, window: tuple[datetime, datetime]) -> tuple[datetime, datetime]:
    """The window told to residents: an hour around the ETA, inside the stop's window."""
    half = timedelta(minutes=30)
    start = max(eta - half, window[0])
    end = min(eta + half, window[1])
    if end <= start:
        end = start + timedelta(minutes=1)
    return start, end


def batch_plan_save(computation: BatchComputation) -> Batch | None:
    inputs = computation.inputs
    plan = computation.plan
    problem = computation.problem
    day = inputs.day
    now = timezone.now()
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=inputs.batch_id)
        if batch.version != inputs.version or batch.status != Batch.Status.PLANNING:
            logger.info(
                "batch #%s: plan v%s dropped (now v%s, %s)",
                batch.pk,
                inputs.version,
                batch.version,
                batch.status,
            )
            return None
        replan = batch.planned_at is not None
        previous_routes = {(r.courier_id, r.number): (r.pk, r.version) for r in batch.routes.all()}
        batch.routes.all().delete()
        assignments = {
            a.order_id: a
            for a in Assignment.objects.select_for_update()
            .filter(batch=batch, released_at__isnull=True)
            .select_related("order")
        }
        couriers = {
            c.pk: c for c in Courier.objects.filter(pk__in=[c.courier_id for c in inputs.couriers])
        }
        residents = {
            u.pk: u
            for u in User.objects.filter(
                pk__in=[s.place.resident_id for s in computation.stops if s.place.resident_id]
            )
        }
        told_orders: list[tuple[Assignment, str]] = []
        relay_parcels: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        relay_counts: dict[int, int] = defaultdict(int)
        routes_made: list[Route] = []
        for t, trip in enumerate(plan.trips):
            courier_input = inputs.couriers[trip.vehicle]
            courier = couriers[courier_input.courier_id]
            secs = problem.seconds[courier_input.profile]
            mets = problem.meters[courier_input.profile]
            route = Route.objects.create(
                batch=batch,
                courier=courier,
                number=trip.number + 1,
                vehicle=courier.vehicle,
                profile=courier_input.profile,
                planned_start=clock.at_seconds(day, trip.depart),
                planned_end=clock.at_seconds(day, trip.back),
                meters=trip.meters,
                seconds=trip.back - trip.depart,
                load_units=trip.units,
                load_kg=trip.kg,
                return_meters=round(float(mets[trip.visits[-1].stop + 1, 0])),
                return_path=computation.legs.get((t, len(trip.visits))),
                version=previous_routes.get((courier.pk, trip.number + 1), (0, 0))[1] + 1,
            )
            routes_made.append(route)
            here = 0
            for position, visit in enumerate(trip.visits, start=1):
                draft = computation.stops[visit.stop]
                place = draft.place
                window = _visit_window(draft, visit.start, trip)
                window_dt = (clock.at_seconds(day, window[0]), clock.at_seconds(day, window[1]))
                stop = Stop.objects.create(
                    route=route,
                    position=position,
                    kind=place.kind,
                    relay_point_id=place.relay_point_id,
                    resident=residents.get(place.resident_id) if place.resident_id else None,
                    location=Point(place.lon, place.lat, srid=settings.GEO_SRID),
                    label=place.label,
                    window_start=window_dt[0],
                    window_end=window_dt[1],
                    service_seconds=draft.service_seconds(),
                    eta=clock.at_seconds(day, visit.start),
                    planned_arrival=clock.at_seconds(day, visit.arrival),
                    meters_from_previous=round(float(mets[here, visit.stop + 1])),
                    seconds_from_previous=round(float(secs[here, visit.stop + 1])),
                    path=computation.legs.get((t, position - 1)),
                    load_units=draft.units,
                    load_kg=draft.kg,
                )
                here = visit.stop + 1
                promise = _promise(stop.eta, window_dt)
                for order_id in draft.order_ids:
                    a = assignments.get(order_id)
                    if a is None:  # cancelled while we computed: not on the plan any more
                        continue
                    drop = computation.choice.drops[order_id]
                    changed = (
                        a.planned_window_start != promise[0]
                        or a.planned_window_end != promise[1]
                        or a.drop_kind != drop.kind
                        or a.relay_point_id != drop.relay_point_id
                    )
                    a.stop = stop
                    a.drop_kind = drop.kind
                    a.relay_point_id = drop.relay_point_id
                    a.walk_seconds = (
                        round(drop.walk_seconds) if drop.walk_seconds is not None else None
                    )
                    a.outcome = Assignment.Outcome.PLANNED
                    a.planned_window_start, a.planned_window_end = promise
                    if changed:
                        told_orders.append((a, drop.kind))
                    if place.relay_point_id:
                        relay_counts[place.relay_point_id] += inputs.info[order_id].parcels
                        relay_parcels[place.relay_point_id].append(window_dt)
        planned_ids = {
            order_id
            for trip in plan.trips
            for v in trip.visits
            for order_id in computation.stops[v.stop].order_ids
        }
        Assignment.objects.bulk_update(
            [a for oid, a in assignments.items() if oid in planned_ids],
            [
                "stop",
                "drop_kind",
                "relay_point",
                "walk_seconds",
                "outcome",
                "planned_window_start",
                "planned_window_end",
            ],
        )
        Order.objects.filter(pk__in=planned_ids, status=Order.Status.PENDING).update(
            status=Order.Status.PLANNED
        )
        # Orders that did not make it go back to the pool, with the reason kept on the batch.
        out = {oid: a for oid, a in assignments.items() if oid not in planned_ids}
        # Told once: on the first plan, or when a re-plan takes a planned order off the rounds.
        told_unplanned = [
            a for a in out.values() if not replan or a.planned_window_start is not None
        ]
        for a in out.values():
            a.released_at = now
            a.outcome = Assignment.Outcome.RELEASED
            a.release_reason = computation.left_out.get(a.order_id, "not_planned")[:32]
            a.stop = None
        Assignment.objects.bulk_update(
            list(out.values()), ["released_at", "outcome", "release_reason", "stop"]
        )
        Order.objects.filter(pk__in=list(out), status=Order.Status.PLANNED).update(
            status=Order.Status.PENDING
        )
        impact = computation.impact
        BatchImpact.objects.update_or_create(
            batch=batch,
            defaults={
                "day": day,
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
                "solve_seconds": round(plan.solve_seconds, 3),
            },
        )
        batch.status = Batch.Status.PLANNED
        batch.progress_percent = 100
        batch.progress_stage = "planned"
        batch.planned_at = now
        batch.left_out = [
            {"order_id": oid, "reason": computation.left_out.get(oid, "not_planned")}
            for oid in sorted(out)
        ]
        batch.save(
            update_fields=["status", "progress_percent", "progress_stage", "planned_at", "left_out"]
        )
        _tell_planned(batch, told_orders, relay_parcels, relay_counts, routes_made, replan)
        _tell_unplanned(batch, told_unplanned, previous_routes, routes_made)
        if Batch.objects.filter(pk=batch.pk, replan_requested=True).exists():
            transaction.on_commit(partial(batch_plan_enqueue, batch.pk))
    return batch


def _tell_unplanned(
    batch: Batch,
    released: list[Assignment],
    previous_routes: dict[tuple[int, int], tuple[int, int]],
    routes: list[Route],
) -> None:
    """Residents whose order is off the rounds, with the reason; couriers whose route a re-plan
    removed."""
    for a in released:
        notify(
            event_type="order.unplanned",
            data={
                "order_id": a.order_id,
                "merchant_name": a.order.merchant_name,
                "reason": a.release_reason,
            },
            recipients=[a.order.resident_id],
        )
    kept = {(r.courier_id, r.number) for r in routes}
    gone = sorted(key for key in previous_routes if key not in kept)
    if not gone:
        return
    users = dict(Courier.objects.filter(pk__in=[c for c, _ in gone]).values_list("pk", "user_id"))
    for courier_id, number in gone:
        notify(
            event_type="route.cancelled",
            data={"route_id": previous_routes[(courier_id, number)][0], "batch_id": batch.pk},
            recipients=[users[courier_id]],
        )


def _visit_window(draft: StopDraft, start: int, trip: Trip) -> tuple[int, int]:
    """The stop's window holding the visit (service-start windows widened back by the service),
    or the round's span when the stop has none."""
    service = draft.service_seconds()
    for early, late in draft.windows:
        if early <= start <= late:
            return early, late + service
    return min(trip.depart, start), max(trip.back, start + service)


def _tell_planned(
    batch: Batch,
    told: list[tuple[Assignment, str]],
    relay_windows: dict[int, list[tuple[datetime, datetime]]],
    relay_counts: dict[int, int],
    routes: list[Route],
    replan: bool,
) -> None:
    for a, kind in told:
        notify(
            event_type="order.planned",
            data={
                "order_id": a.order_id,
                "merchant_name": a.order.merchant_name,
                "window_start": timezone.localtime(a.planned_window_start).isoformat(),
                "window_end": timezone.localtime(a.planned_window_end).isoformat(),
                "delivery_mode": kind,
            },
            recipients=[a.order.resident_id],
        )
    relays = RelayPoint.objects.in_bulk(list(relay_counts))
    for relay_id, count in sorted(relay_counts.items()):
        relay = relays[relay_id]
        if relay.operator_id is None:
            continue
        windows = relay_windows[relay_id]
        notify(
            event_type="relay.parcels_to_receive",
            data={
                "relay_point_id": relay.pk,
                "relay_name": relay.name,
                "batch_id": batch.pk,
                "parcels": count,
                "window_start": timezone.localtime(min(w[0] for w in windows)).isoformat(),
                "window_end": timezone.localtime(max(w[1] for w in windows)).isoformat(),
            },
            recipients=[relay.operator_id],
        )
    if replan:
        for route in routes:
            notify(
                event_type="route.updated",
                data={"route_id": route.pk, "version": route.version, "stops": route.stops.count()},
                recipients=[route.courier.user_id],
            )
