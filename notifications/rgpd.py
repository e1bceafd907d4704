"""The notifications app's part of the RGPD's rights (see accounts.rgpd)."""

from __future__ import annotations

from accounts.models import User
from accounts.rgpd import ExportWriter, RgpdHandler, rows
from notifications.models import Device, Event, LastPosition, TopicSubscription
from notifications.services.erasure import notifications_forget


def _erase(user: User) -> list[str]:
    notifications_forget(user_id=user.pk)
    return []


def _export(user: User, writer: ExportWriter) -> None:
    writer.json(
        "notifications/events.json",
        rows(
            Event.objects.filter(recipient=user)
            .order_by("seq")
            .values("seq", "type", "data", "created_at", "read_at")
        ),
    )
    writer.json(
        "notifications/devices.json",
        rows(
            Device.objects.filter(user=user)
            .order_by("pk")
            .values("id", "platform", "locale", "created_at")
        ),
    )
    writer.json(
        "notifications/topics.json",
        rows(TopicSubscription.objects.filter(user=user).values("topic", "created_at")),
    )
    writer.json(
        "notifications/last_position.json",
        rows(LastPosition.objects.filter(user=user).values("point", "accuracy_m", "measured_at")),
    )


HANDLER = RgpdHandler(
    name="notifications",
    covers=(
        ("notifications.EventStream", "user"),
        ("notifications.Event", "recipient"),
        ("notifications.Device", "user"),
        ("notifications.TopicSubscription", "user"),
        ("notifications.LastPosition", "user"),
        ("notifications.EmailOutbox", "recipient"),
    ),
    erase=_erase,
    export=_export,
    order=90,
)
