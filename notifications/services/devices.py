"""Push devices: a person registers the token of each phone or browser, and removes it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from backend.errors import NotFoundError
from notifications.models import Device


class DeviceNotFoundError(NotFoundError):
    code = "device_not_found"
    default_message = _("No such device.")


@dataclass(frozen=True)
class DeviceRegistration:
    device: Device
    created: bool


def device_register(
    *,
    user_id: int,
    platform: str,
    token: str,
    locale: str = "",
    session_id: str | None = None,
) -> DeviceRegistration:
    """Registers ``token`` for ``user_id``. A token is unique: registering it again updates it,
    and a token last registered by someone else (a phone that changed hands, another account on
    the same phone) moves to ``user_id``, so pushes never reach the previous account.
    ``session_id``: the signed-in session it belongs to (ending the session removes it)."""
    with transaction.atomic():
        device, created = Device.objects.select_for_update().get_or_create(
            token=token,
            defaults={
                "user_id": user_id,
                "platform": platform,
                "locale": locale,
                "session_id": session_id,
            },
        )
        if not created:
            device.user_id = user_id
            device.platform = platform
            device.locale = locale
            device.session_id = session_id
            device.save(update_fields=["user", "platform", "locale", "session", "updated_at"])
    return DeviceRegistration(device=device, created=created)


def device_delete(*, user_id: int, device_id: int) -> None:
    """Removes one of ``user_id``'s devices; anyone else's is :class:`DeviceNotFoundError`."""
    deleted, _ = Device.objects.filter(pk=device_id, user_id=user_id).delete()
    if not deleted:
        raise DeviceNotFoundError()
