"""Who and where: merchants' systems that announce orders, hubs where every round starts and ends,
couriers, and relay points (shops, lockers, post offices, neighbour hosts)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from geo.models import SnappedPlace
from pooling.models.choices import DropKind, VehicleKind

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


class Hub(SnappedPlace):
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
    # Derived from the courier's duty changes (``CourierDutyChange``, by their own clock): whether
    # they are at work now, and since when. Positions are taken only on duty.
    on_duty = models.BooleanField(default=False, verbose_name=_("on duty"))
    on_duty_since = models.DateTimeField(null=True, blank=True, verbose_name=_("since"))
    # The latest position measured (by the courier's clock), whatever the round: a round started
    # later from an offline queue takes it. Purged with the rounds' positions.
    last_position = models.PointField(srid=settings.GEO_SRID, null=True, blank=True)
    last_position_at = models.DateTimeField(null=True, blank=True)

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


class CourierDutyChange(models.Model):
    """A courier going on or off duty, at the time of their own clock (``at``): sent late from an
    offline queue, changes are applied by that time, not by their arrival. Starting a round is
    going on duty. One change per courier and instant: a change sent twice is kept once."""

    courier = models.ForeignKey(Courier, on_delete=models.CASCADE, related_name="duty_changes")
    on_duty = models.BooleanField()
    at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["courier", "at"]
        constraints = [
            models.UniqueConstraint(fields=["courier", "at"], name="pooling_duty_change_once"),
        ]


class RelayPoint(SnappedPlace):
    """A shop, a locker, a post office, or a resident who volunteers to receive parcels for their
    block (a neighbour host, with the capacity and hours they offer)."""

    # Searches reach the place shown to others (a neighbour host's blur cell, never the home).
    snapped_field = "public_location"

    class Kind(models.TextChoices):
        SHOP = "shop", _("shop")
        LOCKER = "locker", _("locker")
        POST_OFFICE = "post_office", _("post office")
        NEIGHBOUR_HOST = "neighbour_host", _("neighbour host")

    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    name = models.CharField(_("name"), max_length=120)
    address_label = models.CharField(max_length=200, blank=True, verbose_name=_("address"))
    location = models.PointField(srid=settings.GEO_SRID, geography=True, verbose_name=_("location"))
    # What others see: the location itself for a shop, a locker or a post office; for a neighbour
    # host, whose location is their home, the centre of its blur cell (``geo.privacy``). Set by
    # the services (``relay_point_create``, ``relay_point_update``, ``relays_follow_home``).
    public_location = models.PointField(
        srid=settings.GEO_SRID, geography=True, verbose_name=_("location shown to others")
    )
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
    # What a courier needs to find it and hand over (the back door, ring twice, the locker's
    # bay): shown to the courier on the round, with the opening hours.
    instructions = models.CharField(
        max_length=500, blank=True, verbose_name=_("instructions for couriers")
    )
    is_active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("relay point")
        verbose_name_plural = _("relay points")
        indexes = [
            GistIndex(fields=["location"], name="pooling_relay_location_gist"),
            GistIndex(fields=["public_location"], name="pooling_relay_public_loc_gist"),
        ]
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
