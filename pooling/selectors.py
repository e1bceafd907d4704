"""Reads of the pooling app: residents' orders, relay points nearby, batches for staff, rounds
for couriers, impact per month. Authorization of reads is checked here, against the asking user."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import DEFAULT_DB_ALIAS
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncMonth

from accounts.models import User
from backend.errors import NotFoundError
from backend.replicas import on_replica
from geo.selectors import nearby_by_travel_time
from neighbourhoods.errors import NotStaffError
from neighbourhoods.models import Neighbourhood
from neighbourhoods.selectors import active_neighbourhood_ids, staff_require
from pooling import co2
from pooling.deliveries import delivered_assignments, delivered_share
from pooling.errors import (
    NotACourierError,
    NotRelayOperatorError,
    NotYourRouteError,
    OrderNotFoundError,
)
from pooling.models import (
    Assignment,
    Batch,
    BatchImpact,
    Courier,
    Order,
    ReceivingPreference,
    RelayPoint,
    Route,
    Stop,
)

# --- residents ------------------------------------------------------------------------------------


def _orders_with_delivery() -> QuerySet[Order]:
    active = Assignment.objects.filter(released_at__isnull=True).select_related(
        "stop", "relay_point"
    )
    return (
        Order.objects.select_related("relay_point")
        .prefetch_related(
            "parcels", "windows", Prefetch("assignments", queryset=active, to_attr="active")
        )
        .order_by("-created_at", "-pk")
    )


def orders_of_resident(*, resident: User) -> QuerySet[Order]:
    return _orders_with_delivery().filter(resident=resident)


def order_of_resident(*, resident: User, order_id: int) -> Order:
    order = _orders_with_delivery().filter(resident=resident, pk=order_id).first()
    if order is None:
        raise OrderNotFoundError()
    return order


# Orders whose parcels have not reached their resident yet (not delivered, cancelled nor returned).
ORDERS_UNDER_WAY = (
    Order.Status.PENDING,
    Order.Status.PLANNED,
    Order.Status.OUT_FOR_DELIVERY,
    Order.Status.AWAITING_PICKUP,
)


def orders_under_way(*, resident: User) -> list[Order]:
    """The resident's parcels still to come or waiting to be picked up, the soonest first, each
    with its parcels, its relay point and its delivery once planned (``active``: the relay point
    and its operator where the parcel is dropped)."""
    active = Assignment.objects.filter(released_at__isnull=True).select_related(
        "relay_point__operator"
    )
    return list(
        Order.objects.filter(resident=resident, status__in=ORDERS_UNDER_WAY)
        .select_related("relay_point__operator")
        .prefetch_related("parcels", Prefetch("assignments", queryset=active, to_attr="active"))
        .order_by("expected_on", "pk")
    )


def receiving_preference_of(*, resident: User) -> ReceivingPreference:
    return ReceivingPreference.objects.filter(resident=resident).first() or ReceivingPreference(
        resident=resident, walk_profile=resident.walking_profile
    )


def relay_points_near(
    *,
    viewer: User,
    lon: float,
    lat: float,
    seconds: float,
    profile: str | None = None,
    limit: int = 50,
) -> list[RelayPoint]:
    """Active relay points reachable within ``seconds`` with ``profile`` (by default the viewer's
    walking profile), nearest first, each with ``travel_seconds``. Shops, lockers and post
    offices are shown to anyone; a neighbour host (a home) only to the active members of its
    neighbourhood, and the search reaches the centre of its blur cell (``public_location``),
    never the home."""
    members_of = active_neighbourhood_ids(viewer)
    visible = RelayPoint.objects.filter(is_active=True).filter(
        ~Q(kind=RelayPoint.Kind.NEIGHBOUR_HOST) | Q(neighbourhood_id__in=members_of)
    )
    return nearby_by_travel_time(
        origin=Point(lon, lat, srid=settings.GEO_SRID),
        seconds=seconds,
        profile=profile or viewer.walking_profile,
        queryset=visible.select_related("operator"),
        field="public_location",
        limit=limit,
    )


def relay_deliveries(
    *, actor: User, relay_point_id: int
) -> tuple[RelayPoint, list[Stop], list[Order]]:
    """The deliveries still to come at a relay point, for its operator (with the handover code),
    and the parcels left there that wait for their residents."""
    relay = RelayPoint.objects.filter(pk=relay_point_id).first()
    if relay is None:
        raise NotFoundError()
    if relay.operator_id != actor.pk:
        raise NotRelayOperatorError()
    stops: list[Stop] = list(
        Stop.objects.filter(relay_point=relay, status=Stop.Status.PENDING)
        .exclude(route__batch__status__in=[Batch.Status.CANCELLED, Batch.Status.FAILED])
        .annotate(parcels=Count("assignments__order__parcels"))
        .order_by("eta")
    )
    arrived = Assignment.objects.filter(
        order=OuterRef("pk"), released_at__isnull=True, stop__relay_point=relay
    ).values("stop__done_at")[:1]
    waiting: list[Order] = list(
        Order.objects.filter(
            status=Order.Status.AWAITING_PICKUP,
            assignments__released_at__isnull=True,
            assignments__stop__relay_point=relay,
        )
        .select_related("resident")
        .annotate(parcel_count=Count("parcels", distinct=True), arrived_at=Subquery(arrived))
        .order_by("arrived_at", "pk")
    )
    return relay, stops, waiting


# --- staff ----------------------------------------------------------------------------------------


def _staff_check(actor: User, neighbourhood: Neighbourhood) -> None:
    staff_require(actor, neighbourhood.pk)


def batch_for_staff(*, actor: User, batch_id: int) -> Batch:
    batch = (
        Batch.objects.select_related("neighbourhood__association", "hub")
        .prefetch_related(
            Prefetch(
                "routes",
                queryset=Route.objects.select_related("courier__user").prefetch_related(
                    Prefetch(
                        "stops",
                        queryset=Stop.objects.select_related("relay_point")
                        .annotate(parcels=Count("assignments__order__parcels"))
                        .order_by("position"),
                    )
                ),
            )
        )
        .filter(pk=batch_id)
        .first()
    )
    if batch is None:
        raise NotFoundError()
    _staff_check(actor, batch.neighbourhood)
    batch.impact_row = BatchImpact.objects.filter(batch=batch).first()  # type: ignore[attr-defined]
    return batch


IMPACT_FIELDS = (
    "orders",
    "parcels",
    "stops",
    "rounds",
    "vehicle_meters",
    "co2_grams",
    "per_parcel_meters",
    "per_parcel_trips",
    "per_parcel_co2_grams",
    "per_carrier_meters",
    "per_carrier_rounds",
    "per_carrier_stops",
    "per_carrier_co2_grams",
)


# Batches whose impact counts in the figures: planned, and not cancelled nor failed since.
COUNTED_BATCHES = (Batch.Status.PLANNED, Batch.Status.DISPATCHED, Batch.Status.COMPLETED)


def impact_meter_sums() -> dict[str, Any]:
    """Aggregates of ``BatchImpact`` rows: the meters of the plans per mode (``m_plan_<mode>``,
    from ``by_vehicle``) and of each baseline per mode (``m_carrier_<mode>``,
    ``m_parcel_<mode>``, by ``baseline_vehicle``), from which ``pooling.co2`` derives CO2e and
    its range with the factors of today. Put them before any aggregate named after a field of
    ``BatchImpact`` in the same ``annotate``/``aggregate``: they read the model's fields."""
    sums: dict[str, Any] = {}
    for mode in co2.modes():
        sums[f"m_plan_{mode}"] = Coalesce(
            Sum(Cast(KT(f"by_vehicle__{mode}__meters"), BigIntegerField())), 0
        )
        for prefix, field in (
            ("m_carrier_", "per_carrier_meters"),
            ("m_parcel_", "per_parcel_meters"),
        ):
            sums[f"{prefix}{mode}"] = Coalesce(
                Sum(Case(When(baseline_vehicle=mode, then=F(field)), default=Value(0))), 0
            )
    return sums


def impact_by_month(
    *, actor: User, neighbourhood_id: int, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """The impact of the neighbourhood's planned batches, summed per month (oldest first).

    Who may see it is checked on the primary; the sums are read from the read replica when there
    is one fit for it (``backend.replicas``)."""
    neighbourhood = (
        Neighbourhood.objects.select_related("association").filter(pk=neighbourhood_id).first()
    )
    if neighbourhood is None:
        raise NotStaffError()
    _staff_check(actor, neighbourhood)

    def read(using: str) -> list[dict[str, Any]]:
        rows = BatchImpact.objects.using(using).filter(
            batch__neighbourhood_id=neighbourhood.pk,
            batch__status__in=COUNTED_BATCHES,
        )
        if since is not None:
            rows = rows.filter(day__gte=since)
        if until is not None:
            rows = rows.filter(day__lte=until)
        months = (
            rows.annotate(month=TruncMonth("day"))
            .values("month")
            .annotate(
                # The meter sums first: they read the fields the other sums are named after.
                **impact_meter_sums(),
                batches=Count("pk"),
                **{f: Sum(f) for f in IMPACT_FIELDS},
            )
            .order_by("month")
        )
        return [
            {
                "month": row["month"],
                "batches": row["batches"],
                **{f: int(row[f] or 0) for f in IMPACT_FIELDS},
                "co2": co2.impact_co2_of_sums(row),
            }
            for row in months
        ]

    return on_replica(read)


def impact_of_resident(user: User, *, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """The person's delivered pooled parcels and their share of what pooling saved, for
    ``GET /me/impact``, in one query (the sharing rule: ``pooling.deliveries``)."""
    share = delivered_share(delivered_assignments(using=using).filter(order__resident=user))
    saved = share.co2_saved()
    return {
        "orders_delivered": share.orders,
        "parcels_delivered": share.parcels,
        "meters_saved": round(share.meters_saved),
        "co2_grams_saved": saved.central,
        "co2_grams_saved_low": saved.low,
        "co2_grams_saved_high": saved.high,
    }


# --- couriers -------------------------------------------------------------------------------------


def courier_of(user: User) -> Courier:
    courier = Courier.objects.filter(user=user, is_active=True).first()
    if courier is None:
        raise NotACourierError()
    return courier


def routes_of_courier(*, actor: User, since: date | None = None) -> QuerySet[Route]:
    courier = courier_of(actor)
    routes = (
        Route.objects.filter(courier=courier)
        .exclude(batch__status__in=[Batch.Status.CANCELLED, Batch.Status.FAILED])
        .select_related("batch")
        .annotate(stop_count=Count("stops"))
        .order_by("planned_start", "pk")
    )
    if since is not None:
        # Recent rounds, and every round not finished yet whatever its day.
        routes = routes.filter(Q(batch__day__gte=since) | ~Q(status=Route.Status.COMPLETED))
    return routes


def route_for_courier(*, actor: User, route_id: int) -> Route:
    """A round with its stops in order, each with its parcels; only for its courier."""
    active = Assignment.objects.filter(released_at__isnull=True).select_related("order")
    route = (
        Route.objects.select_related("batch__hub", "courier")
        .prefetch_related(
            Prefetch(
                "stops",
                queryset=Stop.objects.select_related("relay_point", "resident")
                .prefetch_related(
                    Prefetch("assignments", queryset=active, to_attr="active"),
                    "assignments__order__parcels",
                )
                .order_by("position"),
            )
        )
        .filter(pk=route_id)
        .first()
    )
    if route is None:
        raise NotFoundError()
    if route.courier.user_id != actor.pk:
        raise NotYourRouteError()
    return route
