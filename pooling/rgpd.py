"""Pooling's part of the RGPD's rights (see accounts.rgpd and pooling.services.erasure)."""

from __future__ import annotations

import posixpath

from accounts.models import User
from accounts.rgpd import Blocker, ExportWriter, RgpdHandler, rows
from pooling.models import Courier, Order, Parcel, ReceivingPreference, RelayPoint, Stop
from pooling.services.erasure import courier_routes_under_way, resident_erase


def _blockers(user: User) -> list[Blocker]:
    return [
        Blocker(kind="route", id=route.pk, label=f"#{route.number}", role="courier")
        for route in courier_routes_under_way(user)
    ]


def _erase(user: User) -> list[str]:
    return resident_erase(user=user)


def _export(user: User, writer: ExportWriter) -> None:
    orders = Order.objects.filter(resident=user).order_by("pk")
    writer.json(
        "pooling/orders.json",
        rows(
            orders.values(
                "id",
                "source",
                "merchant_name",
                "merchant_reference",
                "carrier",
                "tracking_number",
                "expected_on",
                "status",
                "receive_mode",
                "relay_point_id",
                "max_walk_seconds",
                "walk_profile",
                "attempts",
                "created_at",
                "delivered_at",
                "cancelled_at",
            )
        ),
    )
    writer.json(
        "pooling/parcels.json",
        rows(
            Parcel.objects.filter(order__resident=user)
            .order_by("pk")
            .values("id", "order_id", "size", "weight")
        ),
    )
    writer.json(
        "pooling/receiving_preference.json",
        rows(
            ReceivingPreference.objects.filter(resident=user).values(
                "mode", "relay_point_id", "max_walk_seconds", "walk_profile", "home_windows"
            )
        ),
    )
    deliveries = []
    for stop in Stop.objects.filter(resident=user).order_by("pk"):
        entry = {
            "stop_id": stop.pk,
            "status": stop.status,
            "done_at": stop.done_at.isoformat() if stop.done_at else None,
            "proof": stop.proof,
            "fail_reason": stop.fail_reason,
            "proof_photo": None,
        }
        if stop.proof_photo:
            name = f"pooling/proofs/{stop.pk}{posixpath.splitext(stop.proof_photo.name)[1]}"
            if writer.file(name, stop.proof_photo.name):
                entry["proof_photo"] = name
        deliveries.append(entry)
    writer.json("pooling/deliveries.json", deliveries)
    writer.json(
        "pooling/courier.json",
        rows(
            Courier.objects.filter(user=user).values(
                "hub_id", "vehicle", "capacity_units", "capacity_kg", "shift_start", "shift_end"
            )
        ),
    )
    writer.json(
        "pooling/relay_points.json",
        rows(
            RelayPoint.objects.filter(operator=user)
            .order_by("pk")
            .values("id", "kind", "name", "address_label", "location", "is_active")
        ),
    )


HANDLER = RgpdHandler(
    name="pooling",
    covers=(
        # Undelivered orders cancelled (couriers told); the rest kept with the former member.
        ("pooling.Order", "resident"),
        # Deleted.
        ("pooling.ReceivingPreference", "resident"),
        # Kept with the former member, the home blurred, the proof photo deleted.
        ("pooling.Stop", "resident"),
        # A hosted relay stops and forgets its address; a shop's account is let go.
        ("pooling.RelayPoint", "operator"),
        # Deactivated; kept for the rounds it drove.
        ("pooling.Courier", "user"),
        # Kept: a batch some staff member asked for.
        ("pooling.Batch", "requested_by"),
    ),
    erase=_erase,
    export=_export,
    blockers=_blockers,
    order=20,
)
