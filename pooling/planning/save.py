"""The last step of planning: the plan saved, and people told.

One transaction, and only if the batch is still at the version the run started from (and so no
round has started): routes, stops and assignments replace the previous plan, orders that did not
make it go back to the pool with their reason (kept on the batch), and the impact is stored.
Residents get ``order.planned`` (or ``order.unplanned``), relay operators
``relay.parcels_to_receive``, couriers ``route.updated`` or ``route.cancelled`` on a re-plan,
with ``route.stop_added`` and ``route.stop_cancelled`` for each place a re-plan put on or took off
one of their rounds. A home stop takes the delivery details (door code, floor, building,
instructions, phone) of its orders.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from notifications.services.events import notify, notify_many
from pooling.models import (
    Assignment,
    Batch,
    BatchImpact,
    Courier,
    DeliveryDetails,
    DropKind,
    Order,
    RelayPoint,
    Route,
    Stop,
)
from pooling.planning import clock
from pooling.planning.assignment import StopDraft
from pooling.planning.compute import BatchComputation
from pooling.planning.impact import impact_as_dict
from pooling.planning.inputs import CourierInput
from pooling.planning.vrp_problem import Trip
from pooling.services.batches import batch_plan_enqueue

logger = logging.getLogger(__name__)


@dataclass
class _Told:
    """Who hears of the new plan, gathered while its rows are written."""

    # Assignments whose drop or window changed, with the kind of their drop.
    orders: list[tuple[Assignment, str]] = field(default_factory=list)
    relay_windows: dict[int, list[tuple[datetime, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    relay_counts: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def batch_plan_save(computation: BatchComputation) -> Batch | None:
    inputs = computation.inputs
    plan = computation.plan
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
        previous_places = _places_of(batch)
        batch.routes.all().delete()
        assignments = {
            a.order_id: a
            for a in Assignment.objects.select_for_update()
            .filter(batch=batch, released_at__isnull=True)
            .select_related("order")
        }
        told = _Told()
        routes_made = _routes_create(batch, computation, assignments, previous_routes, told)
        planned_ids = {
            order_id
            for trip in plan.trips
            for v in trip.visits
            for order_id in computation.stops[v.stop].order_ids
        }
        _planned_save(assignments, planned_ids)
        # Orders that did not make it go back to the pool, with the reason kept on the batch.
        out = {oid: a for oid, a in assignments.items() if oid not in planned_ids}
        # Told once: on the first plan, or when a re-plan takes a planned order off the rounds.
        told_unplanned = [
            a for a in out.values() if not replan or a.planned_window_start is not None
        ]
        _unplanned_release(out, computation.left_out, now)
        BatchImpact.objects.update_or_create(
            batch=batch,
            defaults={
                "day": inputs.day,
                **impact_as_dict(computation.impact),
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
        batch.shortfall = computation.shortfall
        batch.save(
            update_fields=[
                "status",
                "progress_percent",
                "progress_stage",
                "planned_at",
                "left_out",
                "shortfall",
            ]
        )
        _tell_planned(
            batch, told.orders, told.relay_windows, told.relay_counts, routes_made, replan
        )
        _tell_unplanned(batch, told_unplanned, previous_routes, routes_made)
        if replan:
            _tell_stops_changed(previous_places, routes_made)
        if Batch.objects.filter(pk=batch.pk, replan_requested=True).exists():
            transaction.on_commit(partial(batch_plan_enqueue, batch.pk))
    return batch


def _routes_create(
    batch: Batch,
    computation: BatchComputation,
    assignments: dict[int, Assignment],
    previous_routes: dict[tuple[int, int], tuple[int, int]],
    told: _Told,
) -> list[Route]:
    """Every round of the plan with its stops, in two statements (the rounds, then all their
    stops); the assignments of their orders are updated in memory (saved by
    :func:`_planned_save`)."""
    inputs = computation.inputs
    couriers = {
        c.pk: c for c in Courier.objects.filter(pk__in=[c.courier_id for c in inputs.couriers])
    }
    # Residents still there (an account erased while we computed leaves its stop unnamed).
    resident_ids = set(
        User.objects.filter(
            pk__in={s.place.resident_id for s in computation.stops if s.place.resident_id}
        ).values_list("pk", flat=True)
    )
    details = _details_of_orders(
        [oid for s in computation.stops if s.place.kind == DropKind.HOME for oid in s.order_ids]
    )
    routes: list[Route] = []
    for t, trip in enumerate(computation.plan.trips):
        courier_input = inputs.couriers[trip.vehicle]
        courier = couriers[courier_input.courier_id]
        mets = computation.problem.meters[courier_input.profile]
        routes.append(
            Route(
                batch=batch,
                courier=courier,
                number=trip.number + 1,
                vehicle=courier.vehicle,
                profile=courier_input.profile,
                planned_start=clock.at_seconds(inputs.day, trip.depart),
                planned_end=clock.at_seconds(inputs.day, trip.back),
                meters=trip.meters,
                seconds=trip.back - trip.depart,
                load_units=trip.units,
                load_kg=trip.kg,
                return_meters=round(float(mets[trip.visits[-1].stop + 1, 0])),
                return_path=computation.legs.get((t, len(trip.visits))),
                version=previous_routes.get((courier.pk, trip.number + 1), (0, 0))[1] + 1,
            )
        )
    Route.objects.bulk_create(routes)
    pending: list[tuple[Stop, StopDraft, tuple[datetime, datetime]]] = []
    for t, (route, trip) in enumerate(zip(routes, computation.plan.trips, strict=True)):
        courier_input = inputs.couriers[trip.vehicle]
        pending += _stops_draw(route, computation, t, trip, courier_input, resident_ids, details)
    Stop.objects.bulk_create([stop for stop, _draft, _window in pending])
    for stop, draft, window_dt in pending:
        _stop_assign(stop, window_dt, draft, computation, assignments, told)
    return routes


def _stops_draw(
    route: Route,
    computation: BatchComputation,
    t: int,
    trip: Trip,
    courier_input: CourierInput,
    resident_ids: set[int],
    details: dict[int, dict[str, str]],
) -> list[tuple[Stop, StopDraft, tuple[datetime, datetime]]]:
    """The stops of a round, in order, each with the leg from the previous one and a home stop
    with its orders' delivery details (not saved)."""
    day = computation.inputs.day
    secs = computation.problem.seconds[courier_input.profile]
    mets = computation.problem.meters[courier_input.profile]
    here = 0
    out = []
    for position, visit in enumerate(trip.visits, start=1):
        draft = computation.stops[visit.stop]
        place = draft.place
        window = _visit_window(draft, visit.start, trip)
        window_dt = (clock.at_seconds(day, window[0]), clock.at_seconds(day, window[1]))
        stop = Stop(
            route=route,
            position=position,
            kind=place.kind,
            relay_point_id=place.relay_point_id,
            resident_id=place.resident_id if place.resident_id in resident_ids else None,
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
            **(_details_merge(draft.order_ids, details) if place.kind == DropKind.HOME else {}),
        )
        here = visit.stop + 1
        out.append((stop, draft, window_dt))
    return out


def _stop_assign(
    stop: Stop,
    window_dt: tuple[datetime, datetime],
    draft: StopDraft,
    computation: BatchComputation,
    assignments: dict[int, Assignment],
    told: _Told,
) -> None:
    """The orders dropped at a stop: their assignment points to it, with the window promised."""
    place = draft.place
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
        a.walk_seconds = round(drop.walk_seconds) if drop.walk_seconds is not None else None
        a.outcome = Assignment.Outcome.PLANNED
        a.planned_window_start, a.planned_window_end = promise
        if changed:
            told.orders.append((a, drop.kind))
        if place.relay_point_id:
            told.relay_counts[place.relay_point_id] += computation.inputs.info[order_id].parcels
            told.relay_windows[place.relay_point_id].append(window_dt)


def _details_of_orders(order_ids: list[int]) -> dict[int, dict[str, str]]:
    """The delivery details of home orders, by order id (one query)."""
    fields = DeliveryDetails.DETAIL_FIELDS
    return {
        row["pk"]: {f: row[f] for f in fields}
        for row in Order.objects.filter(pk__in=order_ids).values("pk", *fields)
    }


def _details_merge(order_ids: list[int], details: dict[int, dict[str, str]]) -> dict[str, str]:
    """One home's details from its orders merged at the stop: the newest order's, field by
    field, falling back to an older order's where the newest left one empty."""
    merged = dict.fromkeys(DeliveryDetails.DETAIL_FIELDS, "")
    for order_id in sorted(order_ids, reverse=True):
        for name, value in details.get(order_id, {}).items():
            if value and not merged[name]:
                merged[name] = value
    return merged


PlaceKey = tuple[str, int | None, int | None]


def _place_key(stop: Stop) -> PlaceKey:
    return (stop.kind, stop.relay_point_id, stop.resident_id)


def _places_of(batch: Batch) -> dict[tuple[int, int], dict[PlaceKey, Stop]]:
    """The places on each round of the current plan, by (courier, round number)."""
    places: dict[tuple[int, int], dict[PlaceKey, Stop]] = defaultdict(dict)
    for stop in Stop.objects.filter(route__batch=batch).select_related("route"):
        places[(stop.route.courier_id, stop.route.number)][_place_key(stop)] = stop
    return places


def _planned_save(assignments: dict[int, Assignment], planned_ids: set[int]) -> None:
    rows = [a for oid, a in assignments.items() if oid in planned_ids]
    _assignments_update(
        rows,
        {
            "stop_id": "bigint",
            "drop_kind": "text",
            "relay_point_id": "bigint",
            "walk_seconds": "integer",
            "outcome": "text",
            "planned_window_start": "timestamptz",
            "planned_window_end": "timestamptz",
        },
    )
    Order.objects.filter(pk__in=planned_ids, status=Order.Status.PENDING).update(
        status=Order.Status.PLANNED
    )


def _unplanned_release(out: dict[int, Assignment], left_out: dict[int, str], now: datetime) -> None:
    """The orders off the plan leave the batch, with the reason, and go back to the pool."""
    for a in out.values():
        a.released_at = now
        a.outcome = Assignment.Outcome.RELEASED
        a.release_reason = left_out.get(a.order_id, "not_planned")[:32]
        a.stop = None
    _assignments_update(
        list(out.values()),
        {
            "released_at": "timestamptz",
            "outcome": "text",
            "release_reason": "text",
            "stop_id": "bigint",
        },
    )
    Order.objects.filter(pk__in=list(out), status=Order.Status.PLANNED).update(
        status=Order.Status.PENDING
    )


def _assignments_update(rows: list[Assignment], columns: dict[str, str]) -> None:
    """Writes ``columns`` (attribute: SQL type) of many assignments in one statement (an UPDATE
    from arrays; Django's ``bulk_update`` writes a CASE per column and row, much slower)."""
    if not rows:
        return
    table = Assignment._meta.db_table
    names = list(columns)
    sets = ", ".join(f"{name} = v.{name}" for name in names)
    arrays = ", ".join(f"%s::{columns[name]}[]" for name in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS a SET {sets} "  # noqa: S608 (names are ours; values are parameters)
            f"FROM unnest(%s::bigint[], {arrays}) AS v(id, {', '.join(names)}) WHERE a.id = v.id",
            [[a.pk for a in rows]] + [[getattr(a, name) for a in rows] for name in names],
        )


def _promise(eta: datetime, window: tuple[datetime, datetime]) -> tuple[datetime, datetime]:
    """The window told to residents: an hour around the ETA, inside the stop's window."""
    half = timedelta(minutes=30)
    start = max(eta - half, window[0])
    end = min(eta + half, window[1])
    if end <= start:
        end = start + timedelta(minutes=1)
    return start, end


def _visit_window(draft: StopDraft, start: int, trip: Trip) -> tuple[int, int]:
    """The stop's window holding the visit (service-start windows widened back by the service),
    or the round's span when the stop has none."""
    service = draft.service_seconds()
    for early, late in draft.windows:
        if early <= start <= late:
            return early, late + service
    return min(trip.depart, start), max(trip.back, start + service)


# --- telling people --------------------------------------------------------------------------------


def _tell_planned(
    batch: Batch,
    told: list[tuple[Assignment, str]],
    relay_windows: dict[int, list[tuple[datetime, datetime]]],
    relay_counts: dict[int, int],
    routes: list[Route],
    replan: bool,
) -> None:
    notify_many(
        event_type="order.planned",
        items=[
            (
                {
                    "order_id": a.order_id,
                    "merchant_name": a.order.merchant_name,
                    "window_start": timezone.localtime(a.planned_window_start).isoformat(),
                    "window_end": timezone.localtime(a.planned_window_end).isoformat(),
                    "delivery_mode": kind,
                },
                [a.order.resident_id],
            )
            for a, kind in told
        ],
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


def _tell_stops_changed(
    previous: dict[tuple[int, int], dict[PlaceKey, Stop]], routes: list[Route]
) -> None:
    """Couriers hear of each place a re-plan put on one of their rounds, or took off it (a
    round that is gone altogether is ``route.cancelled``)."""
    for route in routes:
        before = previous.get((route.courier_id, route.number))
        if before is None:
            continue
        now = {_place_key(s): s for s in route.stops.all()}
        user_id = route.courier.user_id
        for key, stop in sorted(now.items(), key=lambda item: item[1].position):
            if key in before:
                continue
            notify(
                event_type="route.stop_added",
                data={
                    "route_id": route.pk,
                    "stop_id": stop.pk,
                    "position": stop.position,
                    "address_label": stop.label,
                    "eta": timezone.localtime(stop.eta).isoformat(),
                },
                recipients=[user_id],
            )
        for key, old in sorted(before.items(), key=lambda item: item[1].position):
            if key in now:
                continue
            notify(
                event_type="route.stop_cancelled",
                data={
                    "route_id": route.pk,
                    "stop_id": old.pk,
                    "position": old.position,
                    "reason": "replanned",
                },
                recipients=[user_id],
            )


def _tell_unplanned(
    batch: Batch,
    released: list[Assignment],
    previous_routes: dict[tuple[int, int], tuple[int, int]],
    routes: list[Route],
) -> None:
    """Residents whose order is off the rounds, with the reason; couriers whose route a re-plan
    removed."""
    notify_many(
        event_type="order.unplanned",
        items=[
            (
                {
                    "order_id": a.order_id,
                    "merchant_name": a.order.merchant_name,
                    "reason": a.release_reason,
                },
                [a.order.resident_id],
            )
            for a in released
        ],
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
