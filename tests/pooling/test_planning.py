"""Planning a batch on the real street graph: every round keeps capacities, windows and shifts;
relay and host drops stay within their resident's walking limit; re-plans; one active batch per
order (a database constraint)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from geo.selectors import route_between, travel_matrix
from notifications.models import Event
from pooling.models import SIZE_UNITS, WEIGHT_KG, Assignment, Batch, Order, RelayPoint, Route, Stop
from pooling.planning.pipeline import batch_plan
from pooling.services.batches import batch_request
from pooling.services.orders import order_cancel
from tests.pooling.factories import (
    DAY,
    SPOTS,
    CourierFactory,
    OrderFactory,
    RelayPointFactory,
    ResidentFactory,
    make_staff,
    point,
)

pytestmark = pytest.mark.django_db
HEL = ZoneInfo("Europe/Helsinki")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=HEL)


@pytest.fixture
def couriers(hub):
    bike = CourierFactory(hub=hub, vehicle="cargo_bike", capacity_units=8, capacity_kg=40)
    foot = CourierFactory(
        hub=hub,
        vehicle="foot",
        capacity_units=4,
        capacity_kg=20,
        shift_start=time(12, 0),
        shift_end=time(16, 0),
    )
    return bike, foot


@pytest.fixture
def relays(neighbourhood):
    shop = RelayPointFactory(
        neighbourhood=neighbourhood, location=point(*SPOTS[8]), capacity_per_day=10
    )
    host = RelayPointFactory(
        neighbourhood=neighbourhood,
        kind=RelayPoint.Kind.NEIGHBOUR_HOST,
        operator=ResidentFactory(),
        location=point(*SPOTS[12]),
        capacity_per_day=3,
        opens_at=time(14, 0),
        closes_at=time(18, 0),
    )
    return shop, host


def _staff_batch(neighbourhood) -> Batch:
    batch, _ = batch_request(
        actor=make_staff(neighbourhood), neighbourhood_id=neighbourhood.pk, day=DAY
    )
    return batch


def _orders(neighbourhood, relays):
    orders = []
    for i, spot in enumerate(SPOTS[:14]):
        resident = ResidentFactory(home=point(*spot))
        mode = ["home", "any", "relay", "home", "host", "any", "home"][i % 7]
        order = OrderFactory(
            resident=resident,
            neighbourhood=neighbourhood,
            receive_mode=mode,
            max_walk_seconds=600,
            walk_profile="wheelchair" if i == 5 else "walk",
            carrier=["Posti", "DHL", "Bring"][i % 3],
            parcels=[("m", "light")] if i % 4 else [("l", "medium"), ("s", "light")],
        )
        if i in (0, 3):
            order.windows.create(starts_at=at(10), ends_at=at(11, 30))
        if i == 6:
            order.windows.create(starts_at=at(13), ends_at=at(14))
            order.windows.create(starts_at=at(15), ends_at=at(16, 30))
        orders.append(order)
    return orders


def test_every_round_keeps_capacity_windows_and_shifts(neighbourhood, couriers, relays):
    orders = _orders(neighbourhood, relays)
    batch = _staff_batch(neighbourhood)
    batch = batch_plan(batch_id=batch.pk)
    assert batch.status == Batch.Status.PLANNED and batch.progress_percent == 100
    assert batch.left_out == []
    held = Assignment.objects.filter(batch=batch, released_at__isnull=True)
    assert sorted(held.values_list("order_id", flat=True)) == sorted(o.pk for o in orders)
    assert Order.objects.filter(status=Order.Status.PLANNED).count() == len(orders)

    routes = list(Route.objects.filter(batch=batch).select_related("courier"))
    assert routes
    for route in routes:
        courier = route.courier
        stops = list(route.stops.order_by("position"))
        # Capacity, from the parcels actually assigned to the round's stops.
        units = kg = 0
        for stop in stops:
            for a in stop.assignments.filter(released_at__isnull=True):
                units += sum(SIZE_UNITS[p.size] for p in a.order.parcels.all())
                kg += sum(WEIGHT_KG[p.weight] for p in a.order.parcels.all())
        assert (units, kg) == (route.load_units, route.load_kg)
        assert units <= courier.capacity_units and kg <= courier.capacity_kg
        # The shift.
        assert route.planned_start >= at(courier.shift_start.hour, courier.shift_start.minute)
        assert route.planned_end <= at(courier.shift_end.hour, courier.shift_end.minute)
        # Travel times between consecutive places, recomputed, and every window kept.
        points = [(route.batch.hub.location.x, route.batch.hub.location.y)] + [
            (s.location.x, s.location.y) for s in stops
        ]
        matrix = travel_matrix(points=points, profile=route.profile)
        clock = route.planned_start + timedelta(seconds=route.batch.hub.loading_seconds)
        for k, stop in enumerate(stops, start=1):
            clock += timedelta(seconds=matrix.seconds[k - 1][k])
            assert stop.eta >= clock - timedelta(seconds=2)
            assert stop.window_start <= stop.eta
            assert stop.eta + timedelta(seconds=stop.service_seconds) <= stop.window_end
            clock = max(clock, stop.eta) + timedelta(seconds=stop.service_seconds)
        clock += timedelta(seconds=matrix.seconds[len(stops)][0])
        assert clock <= route.planned_end + timedelta(seconds=2)
    # Windows the residents gave are kept at their homes.
    for i in (0, 3, 6):
        stop = Assignment.objects.get(order=orders[i], released_at__isnull=True).stop
        windows = [(w.starts_at, w.ends_at) for w in orders[i].windows.all()]
        assert any(
            a <= stop.eta and stop.eta + timedelta(seconds=stop.service_seconds) <= b
            for a, b in windows
        )
    # The host only takes parcels in its hours and within its capacity.
    _shop, host = relays
    at_host = Assignment.objects.filter(batch=batch, relay_point=host, released_at__isnull=True)
    assert sum(a.order.parcels.count() for a in at_host) <= host.capacity_per_day
    for stop in Stop.objects.filter(relay_point=host):
        assert at(14) <= stop.eta <= at(18)


def test_relay_and_host_drops_are_within_the_residents_walking_limit(
    neighbourhood, couriers, relays
):
    _orders(neighbourhood, relays)
    batch = batch_plan(batch_id=_staff_batch(neighbourhood).pk)
    drops = Assignment.objects.filter(batch=batch, released_at__isnull=True).exclude(
        drop_kind="home"
    )
    assert drops.count() >= 3
    for a in drops.select_related("order__resident", "relay_point"):
        home = a.order.resident.home
        walk = route_between(
            start=(home.x, home.y),
            end=(a.relay_point.location.x, a.relay_point.location.y),
            profile=a.order.walk_profile,
        )
        assert walk.seconds <= a.order.max_walk_seconds
        assert a.walk_seconds == round(walk.seconds)
        assert a.order.receive_mode in ("relay", "host", "any")
        assert (a.relay_point.kind == RelayPoint.Kind.NEIGHBOUR_HOST) == (a.drop_kind == "host")


def test_drops_at_one_place_make_one_stop(neighbourhood, couriers, relays):
    shop, _host = relays
    for spot in SPOTS[5:9]:
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=neighbourhood,
            receive_mode="relay",
            relay_point=shop,
        )
    batch = batch_plan(batch_id=_staff_batch(neighbourhood).pk)
    stops = Stop.objects.filter(route__batch=batch)
    assert stops.count() == 1
    stop = stops.get()
    assert stop.relay_point == shop and stop.assignments.count() == 4


def test_a_wheelchair_user_gets_wheelchair_times(neighbourhood, couriers):
    """A relay about 8 minutes' walk away is within a 10-minute limit on foot, not in a
    wheelchair (3.5 km/h)."""
    home, shop_at = SPOTS[0], SPOTS[15]
    walk = route_between(start=home, end=shop_at, profile="walk").seconds
    chair = route_between(start=home, end=shop_at, profile="wheelchair").seconds
    limit = round((walk + chair) / 2)
    assert walk < limit < chair
    shop = RelayPointFactory(neighbourhood=neighbourhood, location=point(*shop_at))
    walker = OrderFactory(
        resident=ResidentFactory(home=point(*home)),
        neighbourhood=neighbourhood,
        receive_mode="relay",
        max_walk_seconds=limit,
    )
    rider = OrderFactory(
        resident=ResidentFactory(home=point(*home)),
        neighbourhood=neighbourhood,
        receive_mode="relay",
        max_walk_seconds=limit,
        walk_profile="wheelchair",
    )
    batch = batch_plan(batch_id=_staff_batch(neighbourhood).pk)
    assert Assignment.objects.get(order=walker, released_at__isnull=True).relay_point == shop
    assert not Assignment.objects.filter(order=rider, released_at__isnull=True).exists()
    assert batch.left_out == [{"order_id": rider.pk, "reason": "no_drop_within_walking_limit"}]
    rider.refresh_from_db()
    assert rider.status == Order.Status.PENDING
    # The resident is told, with the reason, so they can widen their walk or choose home.
    told = Event.objects.get(type="order.unplanned")
    assert told.recipient_id == rider.resident_id
    assert told.data == {
        "order_id": rider.pk,
        "merchant_name": rider.merchant_name,
        "reason": "no_drop_within_walking_limit",
    }


def test_replanning_after_a_cancellation(
    neighbourhood, couriers, relays, eager_tasks, django_capture_on_commit_callbacks
):
    orders = _orders(neighbourhood, relays)
    batch = batch_plan(batch_id=_staff_batch(neighbourhood).pk)
    assert batch.version == 1
    gone = orders[4]
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(actor=gone.resident, order_id=gone.pk)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PLANNED and batch.version == 2
    gone.refresh_from_db()
    assert gone.status == Order.Status.CANCELLED
    cancelled = Assignment.objects.get(order=gone)
    assert cancelled.released_at is not None and cancelled.stop is None
    planned = Assignment.objects.filter(batch=batch, released_at__isnull=True)
    assert sorted(planned.values_list("order_id", flat=True)) == sorted(
        o.pk for o in orders if o != gone
    )
    assert all(a.stop_id for a in planned)
    on_rounds = Stop.objects.filter(route__batch=batch, assignments__order=gone)
    assert not on_rounds.exists()
    # The couriers are told their rounds changed.
    couriers_told = Event.objects.filter(type="route.updated")
    assert {e.recipient_id for e in couriers_told} == {
        r.courier.user_id for r in Route.objects.filter(batch=batch)
    }
    assert {e.data["route_id"] for e in couriers_told} == set(
        Route.objects.filter(batch=batch).values_list("pk", flat=True)
    )


def test_a_replan_that_drops_rounds_tells_their_couriers_and_residents(
    neighbourhood, couriers, relays, eager_tasks, django_capture_on_commit_callbacks
):
    orders = _orders(neighbourhood, relays)
    batch = batch_plan(batch_id=_staff_batch(neighbourhood).pk)
    before = {r.pk: r.courier.user_id for r in Route.objects.filter(batch=batch)}
    assert len(before) >= 2
    keep = orders[0]
    with django_capture_on_commit_callbacks(execute=True):  # the re-plans run after them all
        for order in orders[1:]:
            order_cancel(actor=order.resident, order_id=order.pk)
    after = list(Route.objects.filter(batch=batch))
    assert len(after) == 1 and after[0].stops.get().assignments.get().order == keep
    cancelled = Event.objects.filter(type="route.cancelled")
    assert {(e.data["route_id"], e.recipient_id) for e in cancelled} <= set(before.items())
    assert cancelled.count() == len(before) - 1
    assert all(e.data["batch_id"] == batch.pk for e in cancelled)
    # Cancelled orders are not "unplanned": their residents cancelled them.
    assert not Event.objects.filter(type="order.unplanned").exists()


def test_an_order_added_before_dispatch_is_planned_again(
    neighbourhood, couriers, relays, eager_tasks, django_capture_on_commit_callbacks
):
    from pooling.services.orders import ParcelIn, order_declare

    _orders(neighbourhood, relays)
    batch = batch_plan(batch_id=_staff_batch(neighbourhood).pk)
    newcomer = ResidentFactory(home=point(*SPOTS[20]))
    with django_capture_on_commit_callbacks(execute=True):
        order = order_declare(
            resident=newcomer,
            merchant_name="Akateeminen",
            carrier="Posti",
            tracking_number="JJFI1",
            expected_on=DAY,
            parcels=[ParcelIn(size="s", weight="light")],
            receiving=None,
            windows=[],
        )
    batch.refresh_from_db()
    assert batch.version == 2
    a = Assignment.objects.get(order=order, released_at__isnull=True)
    assert a.batch == batch and a.stop is not None and a.drop_kind == "home"


def test_an_order_is_never_in_two_active_batches(neighbourhood, couriers, relays):
    order = OrderFactory(resident=ResidentFactory(), neighbourhood=neighbourhood)
    first = batch_plan(batch_id=_staff_batch(neighbourhood).pk)
    second = Batch.objects.create(
        neighbourhood=neighbourhood, hub=first.hub, day=DAY + timedelta(days=1)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(batch=second, order=order)
    # The planner's claim skips it instead.
    batch_plan(batch_id=second.pk)
    assert list(Assignment.objects.filter(order=order).values_list("batch_id", flat=True)) == [
        first.pk
    ]


def test_a_day_with_too_few_couriers_plans_what_fits_and_says_why(neighbourhood, hub):
    CourierFactory(
        hub=hub, capacity_units=4, capacity_kg=40, shift_start=time(9), shift_end=time(10)
    )
    orders = [
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=neighbourhood,
            parcels=[("m", "light")],
        )
        for spot in SPOTS[:12]
    ]
    huge = OrderFactory(
        resident=ResidentFactory(), neighbourhood=neighbourhood, parcels=[("xl", "light")]
    )
    batch = batch_plan(batch_id=_staff_batch(neighbourhood).pk)
    planned = set(
        Assignment.objects.filter(batch=batch, released_at__isnull=True).values_list(
            "order_id", flat=True
        )
    )
    left = {row["order_id"]: row["reason"] for row in batch.left_out}
    assert planned and left
    assert planned | set(left) == {o.pk for o in [*orders, huge]}
    # Too large for any vehicle: "capacity"; the rest did not fit the courier's hour.
    assert left[huge.pk] == "capacity"
    full = {oid for oid, reason in left.items() if reason == "fleet_full"}
    assert full and set(left) == full | {huge.pk}
    assert batch.shortfall["orders"] == len(full)
    assert batch.shortfall["couriers_missing"] >= 1
    assert batch.shortfall["courier_hours_missing"] > 0
    for route in batch.routes.all():
        assert route.load_units <= 4 and route.planned_end <= at(10)


def test_a_plan_is_saved_in_a_few_statements_whatever_its_size(neighbourhood, hub):
    """Rounds, stops, assignments and the residents' events go in bulk: the statements a save
    takes do not grow with the orders."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pooling.planning.compute import batch_compute, legs_compute
    from pooling.planning.inputs import batch_inputs_load
    from pooling.planning.pipeline import batch_claim
    from pooling.planning.save import batch_plan_save

    CourierFactory(hub=hub, vehicle="cargo_bike", capacity_units=100, capacity_kg=400)

    def statements(count: int) -> tuple[int, int]:
        for spot in SPOTS[:count]:
            OrderFactory(
                resident=ResidentFactory(home=point(*spot)),
                neighbourhood=neighbourhood,
                parcels=[("s", "light")],
            )
        batch = _staff_batch(neighbourhood)
        version = batch_claim(batch_id=batch.pk)
        computation = batch_compute(
            batch_inputs_load(batch_id=batch.pk, version=version), seconds=1, max_iterations=200
        )
        computation.legs = legs_compute(computation)
        with CaptureQueriesContext(connection) as queries:
            batch_plan_save(computation)
        batch.refresh_from_db()
        assert batch.status == Batch.Status.PLANNED and not batch.left_out
        return len(queries), Stop.objects.filter(route__batch=batch).count()

    few, few_stops = statements(3)
    Batch.objects.all().delete()
    Order.objects.all().delete()
    many, many_stops = statements(12)
    assert many_stops > few_stops
    assert many == few
    assert many <= 30
