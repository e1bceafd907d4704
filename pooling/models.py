"""Order pooling: merchants and their orders, receiving choices, relay points, hubs, couriers,
batches with their rounds and stops, and the impact of each batch.

Invariants live here as database constraints: one order per merchant and idempotency key; an
order is in at most one active batch (a partial unique index on the assignment table); one open
batch per neighbourhood and day; one stop per position in a round; windows that end after they
start; progress between 0 and 100.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# --- parcels: size and weight classes -------------------------------------------------------------


class ParcelSize(models.TextChoices):
    S = "s", _("small (shoe box)")
    M = "m", _("medium")
    L = "l", _("large")
    XL = "xl", _("extra large")


class ParcelWeight(models.TextChoices):
    LIGHT = "light", _("up to 2 kg")
    MEDIUM = "medium", _("up to 5 kg")
    HEAVY = "heavy", _("up to 15 kg")
    VERY_HEAVY = "very_heavy", _("up to 30 kg")


# Capacity is counted in volume units (a small parcel is one) and in kilograms (the upper bound of
# each weight class, so that a plan never overloads a vehicle).
SIZE_UNITS = {"s": 1, "m": 2, "l": 4, "xl": 8}
WEIGHT_KG = {"light": 2, "medium": 5, "heavy": 15, "very_heavy": 30}


class VehicleKind(models.TextChoices):
    CARGO_BIKE = "cargo_bike", _("cargo bike")
    FOOT = "foot", _("on foot (trolley)")
    VAN = "van", _("van")


class WalkProfile(models.TextChoices):
    """How the resident gets to a relay point: the geo profile their walking time is read with."""

    WALK = "walk", _("walking")
    SLOW = "slow", _("walking slowly")
    WHEELCHAIR = "wheelchair", _("wheelchair")


class ReceiveMode(models.TextChoices):
    HOME = "home", _("at home")
    RELAY = "relay", _("at a relay point (shop, locker, post office)")
    HOST = "host", _("at a neighbour host's")
    ANY = "any", _("wherever shortens the rounds (home, relay or host)")


class DropKind(models.TextChoices):
    HOME = "home", _("home")
    RELAY = "relay", _("relay point")
    HOST = "host", _("neighbour host")


# --- merchants ------------------------------------------------------------------------------------


class Merchant(models.Model):
    """A merchant's system that announces orders through the signed webhook.

    The API key is only stored as a SHA-256 hash. The signing secret must be readable to check
    HMAC signatures, so it is stored as given (keep the database encrypted at rest).
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    api_key_prefix = models.CharField(max_length=16, unique=True)
    api_key_hash = models.CharField(max_length=64, unique=True)
    signing_secret = models.CharField(max_length=128)
    default_carrier = models.CharField(max_length=60, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        constraints = [
            models.CheckConstraint(
                condition=~Q(signing_secret=""), name="pooling_merchant_secret_set"
            ),
        ]

    def __str__(self) -> str:
        return self.name


# --- places ---------------------------------------------------------------------------------------


class Hub(models.Model):
    """Where carriers drop a neighbourhood's parcels, and where every round starts and ends."""

    name = models.CharField(_("name"), max_length=120)
    neighbourhood = models.OneToOneField(
        "neighbourhoods.Neighbourhood",
        on_delete=models.PROTECT,
        related_name="pooling_hub",
        verbose_name=_("neighbourhood"),
    )
    location = models.PointField(srid=settings.GEO_SRID, geography=True, verbose_name=_("location"))
    address_label = models.CharField(max_length=200, blank=True, verbose_name=_("address"))
    # Local time of the daily cut-off: orders announced by then are planned for that day.
    cutoff_time = models.TimeField(default="07:00", verbose_name=_("daily cut-off time"))
    # Loading a vehicle at the hub before each round.
    loading_seconds = models.PositiveIntegerField(
        default=300, verbose_name=_("loading time (seconds)")
    )
    is_active = models.BooleanField(default=True, verbose_name=_("active"))

    class Meta:
        verbose_name = _("hub")
        verbose_name_plural = _("hubs")
        constraints = [
            models.CheckConstraint(
                condition=Q(loading_seconds__lte=3600), name="pooling_hub_loading_bounded"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Courier(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="courier",
        verbose_name=_("person"),
    )
    hub = models.ForeignKey(
        Hub, on_delete=models.PROTECT, related_name="couriers", verbose_name=_("hub")
    )
    vehicle = models.CharField(
        max_length=16, choices=VehicleKind.choices, verbose_name=_("vehicle")
    )
    capacity_units = models.PositiveSmallIntegerField(verbose_name=_("capacity (units)"))
    capacity_kg = models.PositiveSmallIntegerField(verbose_name=_("capacity (kg)"))
    shift_start = models.TimeField(verbose_name=_("shift starts"))
    shift_end = models.TimeField(verbose_name=_("shift ends"))
    is_active = models.BooleanField(default=True, verbose_name=_("active"))

    class Meta:
        verbose_name = _("courier")
        verbose_name_plural = _("couriers")
        constraints = [
            models.CheckConstraint(
                condition=Q(shift_end__gt=F("shift_start")), name="pooling_courier_shift_order"
            ),
            models.CheckConstraint(
                condition=Q(capacity_units__gt=0, capacity_kg__gt=0),
                name="pooling_courier_capacity_positive",
            ),
            models.CheckConstraint(
                condition=Q(vehicle__in=VehicleKind.values), name="pooling_courier_vehicle_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.vehicle})"


class RelayPoint(models.Model):
    """A shop, a locker, a post office, or a resident who volunteers to receive parcels for their
    block (a neighbour host, with the capacity and hours they offer)."""

    class Kind(models.TextChoices):
        SHOP = "shop", _("shop")
        LOCKER = "locker", _("locker")
        POST_OFFICE = "post_office", _("post office")
        NEIGHBOUR_HOST = "neighbour_host", _("neighbour host")

    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    name = models.CharField(_("name"), max_length=120)
    address_label = models.CharField(max_length=200, blank=True, verbose_name=_("address"))
    location = models.PointField(srid=settings.GEO_SRID, geography=True, verbose_name=_("location"))
    neighbourhood = models.ForeignKey(
        "neighbourhoods.Neighbourhood",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="relay_points",
        verbose_name=_("neighbourhood"),
    )
    # The host resident, or the shop's account: who is told about parcels to receive and who
    # sees the handover code the courier asks for.
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="operated_relay_points",
        verbose_name=_("operator (host or shop account)"),
    )
    capacity_per_day = models.PositiveSmallIntegerField(
        default=20, verbose_name=_("parcels per day")
    )
    opens_at = models.TimeField(default="09:00", verbose_name=_("opens at"))
    closes_at = models.TimeField(default="19:00", verbose_name=_("closes at"))
    handover_code = models.CharField(max_length=6)
    is_active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("relay point")
        verbose_name_plural = _("relay points")
        indexes = [GistIndex(fields=["location"], name="pooling_relay_location_gist")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="neighbour_host") | Q(operator__isnull=False),
                name="pooling_relay_host_has_operator",
            ),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="pooling_relay_hours_order"
            ),
            models.CheckConstraint(
                condition=Q(capacity_per_day__gt=0), name="pooling_relay_capacity_positive"
            ),
        ]

    @property
    def drop_kind(self) -> str:
        return DropKind.HOST if self.kind == self.Kind.NEIGHBOUR_HOST else DropKind.RELAY

    def __str__(self) -> str:
        return self.name


# --- residents' choices and orders ----------------------------------------------------------------


class ReceivingPreference(models.Model):
    """A resident's default way of receiving parcels, applied to the orders merchants announce."""

    resident = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="receiving_preference"
    )
    mode = models.CharField(max_length=8, choices=ReceiveMode.choices, default=ReceiveMode.HOME)
    relay_point = models.ForeignKey(
        RelayPoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    max_walk_seconds = models.PositiveIntegerField(default=600)
    walk_profile = models.CharField(
        max_length=16, choices=WalkProfile.choices, default=WalkProfile.WALK
    )
    # When the resident is usually in: [{"weekday": 0-6, "start": "18:00", "end": "20:30"}].
    home_windows = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(max_walk_seconds__lte=3600), name="pooling_preference_walk_bounded"
            ),
        ]


class Order(models.Model):
    class Source(models.TextChoices):
        MERCHANT = "merchant", _("announced by the merchant")
        RESIDENT = "resident", _("declared by the resident")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for a batch")
        PLANNED = "planned", _("planned")
        OUT_FOR_DELIVERY = "out_for_delivery", _("out for delivery")
        DELIVERED = "delivered", _("delivered")
        CANCELLED = "cancelled", _("cancelled")
        RETURNED = "returned", _("returned to the sender")

    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="pooled_orders",
        verbose_name=_("resident"),
    )
    source = models.CharField(max_length=16, choices=Source.choices, verbose_name=_("source"))
    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("merchant"),
    )
    merchant_name = models.CharField(max_length=120, verbose_name=_("merchant name"))
    merchant_reference = models.CharField(
        max_length=100, blank=True, verbose_name=_("merchant reference")
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    body_sha256 = models.CharField(max_length=64, blank=True)
    carrier = models.CharField(max_length=60, verbose_name=_("carrier"))
    tracking_number = models.CharField(max_length=80, blank=True, verbose_name=_("tracking number"))
    expected_on = models.DateField(verbose_name=_("expected on"))
    # Resolved from the resident's home: the neighbourhood whose hub receives the parcels.
    neighbourhood = models.ForeignKey(
        "neighbourhoods.Neighbourhood",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pooled_orders",
        verbose_name=_("neighbourhood"),
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    receive_mode = models.CharField(
        max_length=8, choices=ReceiveMode.choices, verbose_name=_("way of receiving")
    )
    relay_point = models.ForeignKey(
        RelayPoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("relay point"),
    )
    max_walk_seconds = models.PositiveIntegerField(
        default=600, verbose_name=_("longest walk (seconds)")
    )
    walk_profile = models.CharField(
        max_length=16,
        choices=WalkProfile.choices,
        default=WalkProfile.WALK,
        verbose_name=_("walking profile"),
    )
    # What the resident shows the courier at home delivery.
    delivery_code = models.CharField(max_length=6)
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("announced on"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated on"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered on"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled on"))

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(
                fields=["neighbourhood", "status", "expected_on"], name="pooling_order_pool"
            ),
            models.Index(fields=["resident", "-created_at"], name="pooling_order_resident"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=Q(merchant__isnull=False),
                name="pooling_order_idempotency_unique",
            ),
            models.CheckConstraint(
                condition=Q(source="resident")
                | (Q(merchant__isnull=False) & Q(idempotency_key__isnull=False)),
                name="pooling_order_merchant_has_key",
            ),
            models.CheckConstraint(
                condition=Q(max_walk_seconds__lte=3600), name="pooling_order_walk_bounded"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "cancelled", "returned", "delivered"])
                | Q(neighbourhood__isnull=False),
                name="pooling_order_planned_has_neighbourhood",
            ),
        ]

    def __str__(self) -> str:
        return f"order #{self.pk} ({self.merchant_name})"


class Parcel(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="parcels")
    size = models.CharField(max_length=4, choices=ParcelSize.choices)
    weight = models.CharField(max_length=12, choices=ParcelWeight.choices)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(size__in=ParcelSize.values), name="pooling_parcel_size_valid"
            ),
            models.CheckConstraint(
                condition=Q(weight__in=ParcelWeight.values), name="pooling_parcel_weight_valid"
            ),
        ]

    @property
    def units(self) -> int:
        return SIZE_UNITS[self.size]

    @property
    def kg(self) -> int:
        return WEIGHT_KG[self.weight]


class OrderWindow(models.Model):
    """A time when the resident is in, for a home delivery of this order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="windows")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="pooling_window_order"
            ),
        ]


# --- batches, rounds, stops -----------------------------------------------------------------------


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


class Stop(models.Model):
    """One place on a round, with every parcel dropped there (drops at one place are merged)."""

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
    proof = models.CharField(max_length=8, choices=Proof.choices, blank=True)
    proof_photo = models.ImageField(upload_to="pooling/proofs/%Y/%m/", blank=True)
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
