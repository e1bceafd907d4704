"""A neighbourhood's delivery day: the batch, its rounds and their stops, each order's assignment
to it, and the batch's impact.

An order is in at most one active batch (a partial unique index on the assignment table); one
open batch per neighbourhood and day; one stop per position in a round.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from pooling.models.choices import DropKind, VehicleKind
from pooling.models.orders import DeliveryDetails, Order
from pooling.models.places import Courier, Hub, RelayPoint


class Batch(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be planned")
        PLANNING = "planning", _("planning")
        PLANNED = "planned", _("planned")
        DISPATCHED = "dispatched", _("dispatched (a round has started)")
        COMPLETED = "completed", _("completed")
        FAILED = "failed", _("planning failed")
        CANCELLED = "cancelled", _("cancelled")

    OPEN = ("pending", "planning", "planned")
    # Batches whose assignments hold their orders.
    HOLDING = ("pending", "planning", "planned", "dispatched")

    neighbourhood = models.ForeignKey(
        "neighbourhoods.Neighbourhood",
        on_delete=models.PROTECT,
        related_name="pooling_batches",
        verbose_name=_("neighbourhood"),
    )
    hub = models.ForeignKey(
        Hub, on_delete=models.PROTECT, related_name="batches", verbose_name=_("hub")
    )
    day = models.DateField(verbose_name=_("day"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    progress_percent = models.PositiveSmallIntegerField(default=0)
    progress_stage = models.CharField(max_length=32, default="queued")
    # When a planning run last said where it was: a run silent for too long was lost (a worker
    # gone with its message) and the cut-off sweep queues the batch again.
    progress_at = models.DateTimeField(null=True, blank=True)
    # Every plan (and re-plan) increments it; a plan only lands on the version it started from.
    version = models.PositiveIntegerField(default=0)
    replan_requested = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error_code = models.CharField(max_length=64, blank=True)
    # Orders left out of the plan, and why: [{"order_id": 3, "reason": "no_route"}].
    left_out = models.JSONField(default=list, blank=True)
    # When the fleet was too small for the day: the stops and orders left out for that reason
    # and an estimate of the courier-hours and couriers missing ({} otherwise).
    shortfall = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("delivery day")
        verbose_name_plural = _("delivery days")
        constraints = [
            models.UniqueConstraint(
                fields=["neighbourhood", "day"],
                condition=Q(status__in=["pending", "planning", "planned"]),
                name="pooling_batch_one_open_per_day",
            ),
            models.CheckConstraint(
                condition=Q(progress_percent__lte=100), name="pooling_batch_progress_range"
            ),
        ]

    def __str__(self) -> str:
        return f"batch #{self.pk} {self.neighbourhood_id} {self.day}"


class Route(models.Model):
    """One round of one courier: from the hub, through its stops, back to the hub."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        STARTED = "started", _("started")
        COMPLETED = "completed", _("completed")

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="routes")
    courier = models.ForeignKey(Courier, on_delete=models.PROTECT, related_name="routes")
    number = models.PositiveSmallIntegerField()
    vehicle = models.CharField(max_length=16, choices=VehicleKind.choices)
    profile = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    planned_start = models.DateTimeField()
    planned_end = models.DateTimeField()
    meters = models.PositiveIntegerField()
    seconds = models.PositiveIntegerField()
    load_units = models.PositiveIntegerField()
    load_kg = models.PositiveIntegerField()
    # The last leg, from the last stop back to the hub.
    return_meters = models.PositiveIntegerField(default=0)
    return_path = models.LineStringField(srid=settings.GEO_SRID, null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_position = models.PointField(srid=settings.GEO_SRID, null=True, blank=True)
    last_position_at = models.DateTimeField(null=True, blank=True)
    # When the places of this round's homes were erased (retention: POOLING_ADDRESS_DAYS after its
    # orders ended): home and host stops keep their blur cell only, paths are cleared; meters,
    # seconds, loads and counts stay for the statistics.
    addresses_erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["planned_start", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "courier", "number"], name="pooling_route_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(planned_end__gte=F("planned_start")), name="pooling_route_time_order"
            ),
        ]


class Stop(DeliveryDetails):
    """One place on a round, with every parcel dropped there (drops at one place are merged).

    A home stop carries its resident's delivery details (copied from the order at planning),
    shown to the courier only while the round is started. ``action_at`` is the courier's own
    clock time of the last action applied to the stop: an action sent later from an offline
    queue with an older time is stale and changes nothing."""

    class Status(models.TextChoices):
        PENDING = "pending", _("to do")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    class FailReason(models.TextChoices):
        ABSENT = "absent", _("nobody there")
        REFUSED = "refused", _("refused")
        NO_ACCESS = "no_access", _("could not get in")
        CLOSED = "closed", _("relay closed")
        DAMAGED = "damaged", _("parcel damaged")
        OTHER = "other", _("other")

    class Proof(models.TextChoices):
        CODE = "code", _("code shown by the recipient")
        PHOTO = "photo", _("photo")
        SIGNATURE = "signature", _("signature")

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="stops")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=DropKind.choices)
    relay_point = models.ForeignKey(
        RelayPoint, on_delete=models.PROTECT, null=True, blank=True, related_name="stops"
    )
    # The home's resident, for a home stop (the place is their home: never shown to others).
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    location = models.PointField(srid=settings.GEO_SRID)
    label = models.CharField(max_length=200, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    service_seconds = models.PositiveIntegerField()
    eta = models.DateTimeField()
    planned_arrival = models.DateTimeField()
    meters_from_previous = models.PositiveIntegerField()
    seconds_from_previous = models.PositiveIntegerField()
    path = models.LineStringField(srid=settings.GEO_SRID, null=True, blank=True)
    load_units = models.PositiveIntegerField()
    load_kg = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    done_at = models.DateTimeField(null=True, blank=True)
    proof = models.CharField(max_length=12, choices=Proof.choices, blank=True)
    proof_photo = models.ImageField(upload_to="pooling/proofs/%Y/%m/", blank=True)
    # A PNG or a sanitised SVG drawing, private like the photos (never under /media/items/).
    proof_signature = models.FileField(upload_to="pooling/signatures/%Y/%m/", blank=True)
    proof_notes = models.CharField(max_length=500, blank=True)
    action_at = models.DateTimeField(null=True, blank=True)
    fail_reason = models.CharField(max_length=16, choices=FailReason.choices, blank=True)
    nearby_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["route", "position"]
        constraints = [
            models.UniqueConstraint(fields=["route", "position"], name="pooling_stop_position"),
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")), name="pooling_stop_window_order"
            ),
            models.CheckConstraint(
                condition=Q(kind="home", resident__isnull=False, relay_point__isnull=True)
                | (~Q(kind="home") & Q(relay_point__isnull=False, resident__isnull=True)),
                name="pooling_stop_place_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | ~Q(proof=""), name="pooling_stop_proof"
            ),
            models.CheckConstraint(
                condition=Q(action_at__isnull=True) | ~Q(status="pending"),
                name="pooling_stop_action_done",
            ),
        ]


class Assignment(models.Model):
    """An order in a batch: where it is dropped, on which stop, and how it ended.

    ``released_at`` is set when the order leaves the batch (cancelled, failed, left out or the
    batch abandoned): a partial unique index keeps every order in at most one active batch.
    """

    class Outcome(models.TextChoices):
        PLANNED = "planned", _("planned")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")
        RELEASED = "released", _("released")

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="assignments")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="assignments")
    stop = models.ForeignKey(
        Stop, on_delete=models.SET_NULL, null=True, blank=True, related_name="assignments"
    )
    drop_kind = models.CharField(max_length=8, choices=DropKind.choices, blank=True)
    relay_point = models.ForeignKey(
        RelayPoint, on_delete=models.PROTECT, null=True, blank=True, related_name="assignments"
    )
    # The resident's walk from home to the relay or host, with their profile.
    walk_seconds = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.PLANNED)
    release_reason = models.CharField(max_length=32, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    notified_eta = models.DateTimeField(null=True, blank=True)
    planned_window_start = models.DateTimeField(null=True, blank=True)
    planned_window_end = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(released_at__isnull=True),
                name="pooling_order_in_one_active_batch",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(outcome__in=["failed", "released"]),
                name="pooling_assignment_release_outcome",
            ),
        ]


class BatchImpact(models.Model):
    """The plan's vehicle-km, stops, rounds and CO2 against two baselines on the same graph:
    (a) one trip per parcel from the hub; (b) each carrier delivering its own parcels in its
    own optimised round. Meters and grams inside; km and kg at the API edge."""

    batch = models.OneToOneField(Batch, on_delete=models.CASCADE, related_name="impact")
    day = models.DateField()
    orders = models.PositiveIntegerField()
    parcels = models.PositiveIntegerField()
    stops = models.PositiveIntegerField()
    rounds = models.PositiveIntegerField()
    vehicle_meters = models.PositiveIntegerField()
    co2_grams = models.PositiveIntegerField()
    # {"cargo_bike": {"meters": ..., "co2_grams": ..., "rounds": ...}, ...}
    by_vehicle = models.JSONField(default=dict)
    per_parcel_meters = models.PositiveIntegerField()
    per_parcel_trips = models.PositiveIntegerField()
    per_parcel_co2_grams = models.PositiveIntegerField()
    per_carrier_meters = models.PositiveIntegerField()
    per_carrier_rounds = models.PositiveIntegerField()
    per_carrier_stops = models.PositiveIntegerField()
    per_carrier_co2_grams = models.PositiveIntegerField()
    baseline_vehicle = models.CharField(max_length=16, default=VehicleKind.VAN)
    solve_seconds = models.FloatField(default=0.0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["day"], name="pooling_impact_day")]
