"""Residents' orders: their default way of receiving parcels, each order with its parcels and the
times the resident is in. One order per merchant and idempotency key."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from pooling.models.choices import (
    SIZE_UNITS,
    WEIGHT_KG,
    ParcelSize,
    ParcelWeight,
    ReceiveMode,
    WalkProfile,
)
from pooling.models.places import Merchant, RelayPoint


class DeliveryDetails(models.Model):
    """What a courier needs to reach a door in a French building: the door code (digicode), the
    floor, the building or staircase, free instructions and a phone number to call.

    A resident gives them as defaults (``ReceivingPreference``), copied to each new order, where
    they can be changed for that order; planning copies an order's to its home stop, and the
    courier sees them there only while the round is started. Erased with the addresses
    (``pooling.services.retention``, ``pooling.services.erasure``).
    """

    door_code = models.CharField(max_length=32, blank=True, verbose_name=_("door code"))
    floor = models.CharField(max_length=16, blank=True, verbose_name=_("floor"))
    building = models.CharField(max_length=60, blank=True, verbose_name=_("building or staircase"))
    instructions = models.CharField(
        max_length=500, blank=True, verbose_name=_("delivery instructions")
    )
    phone = models.CharField(max_length=32, blank=True, verbose_name=_("phone number"))

    DETAIL_FIELDS = ("door_code", "floor", "building", "instructions", "phone")

    class Meta:
        abstract = True

    def details_as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.DETAIL_FIELDS}


class ReceivingPreference(DeliveryDetails):
    """A resident's default way of receiving parcels, applied to the orders merchants announce,
    with the default delivery details of their home."""

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


class Order(DeliveryDetails):
    class Source(models.TextChoices):
        MERCHANT = "merchant", _("announced by the merchant")
        RESIDENT = "resident", _("declared by the resident")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for a batch")
        PLANNED = "planned", _("planned")
        OUT_FOR_DELIVERY = "out_for_delivery", _("out for delivery")
        # Left at a relay point or a neighbour host's: the resident picks it up with their code.
        AWAITING_PICKUP = "awaiting_pickup", _("waiting for you at the relay point")
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
    # What the resident shows the relay's operator (or neighbour host) to take the parcel: made
    # when the courier leaves it there, shown only to the resident.
    pickup_code = models.CharField(max_length=6, blank=True)
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
            models.CheckConstraint(
                condition=~Q(status="awaiting_pickup") | ~Q(pickup_code=""),
                name="pooling_order_awaiting_has_code",
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
