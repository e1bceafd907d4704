"""Input and output shapes of the notifications API, named for the OpenAPI schema."""

from __future__ import annotations

from django.conf import settings
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


# --- the inbox ------------------------------------------------------------------------------------

SEQ_MAX = 2**63 - 1  # an id is a PostgreSQL bigint


class InboxQuerySerializer(serializers.Serializer):
    before = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=SEQ_MAX,
        help_text="Only events with a lower id: the cursor of the `next` link.",
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=settings.API_MAX_PAGE_SIZE,
        default=20,
        help_text="Events per page.",
    )
    unread = serializers.BooleanField(
        required=False, default=False, help_text="true: only the unread events."
    )


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The event's id (its seq in your event log).")
    type = serializers.CharField(help_text="The event type (docs/events.md).")
    at = serializers.DateTimeField(help_text="When it happened.")
    # The metaclass moves declared fields out of the class: Serializer.data is untouched.
    data = serializers.DictField(help_text="The event's data, as on the socket.")  # type: ignore[assignment]
    read = serializers.BooleanField()
    title = serializers.CharField(
        allow_null=True, help_text="The push title in your language; null for a type without."
    )
    body = serializers.CharField(
        allow_null=True, help_text="The push body in your language; null for a type without."
    )
    link = serializers.CharField(
        allow_null=True,
        help_text="The deep link the app opens for it (voisinage://loans/381), as in its push; "
        "null for a type without.",
    )


class NotificationPageSerializer(serializers.Serializer):
    next = serializers.URLField(
        allow_null=True, help_text="The next (older) page; null on the last one."
    )
    results = NotificationSerializer(many=True)


class UnreadSerializer(serializers.Serializer):
    unread = serializers.IntegerField(help_text="How many of your events are unread.")
    last_id = serializers.IntegerField(
        help_text="The count covers your events up to this id: add the unread events that "
        "arrive on the socket with a higher one."
    )


class ReadAllInputSerializer(StrictFieldsMixin, serializers.Serializer):
    up_to = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=SEQ_MAX,
        help_text="Mark the events up to this id (the latest you have seen); default: all.",
    )


class ReadAllSerializer(UnreadSerializer):
    up_to = serializers.IntegerField(help_text="The events up to this id are read.")
