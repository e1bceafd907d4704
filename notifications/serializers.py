"""Input and output shapes of the notifications API, named for the OpenAPI schema."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.serializers import StrictFieldsMixin
from notifications.models import Device

TOKEN_PATTERN = r"^[\x21-\x7e]+$"  # noqa: S105 (printable ASCII, no spaces)
LOCALE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(
        help_text="Open wss://<host>/ws/v1/events?ticket=<ticket>&last_id=<id> with it, once."
    )
    expires_in = serializers.FloatField(help_text="Seconds the ticket stays valid.")
    last_id = serializers.IntegerField(
        help_text="The id of your latest event: load your state, then connect with this "
        "last_id to miss nothing in between."
    )
    path = serializers.CharField(help_text="The websocket path: /ws/v1/events.")


class DeviceInputSerializer(StrictFieldsMixin, serializers.Serializer):
    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    token = serializers.RegexField(
        TOKEN_PATTERN,
        max_length=1024,
        help_text="The FCM registration token of the app on this device.",
        error_messages={"invalid": _("This is not a push token.")},
    )
    locale = serializers.RegexField(
        LOCALE_PATTERN,
        max_length=35,
        required=False,
        default="",
        allow_blank=True,
        help_text="The device's locale, e.g. fr-FR.",
        error_messages={"invalid": _("Use a locale such as fr-FR.")},
    )


class DeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["id", "platform", "locale", "created_at"]
        read_only_fields = fields
