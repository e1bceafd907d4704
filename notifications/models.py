"""Each person's event log, the pushes still to send, push devices, topics and live positions.

The log is what makes reconnection lossless: every event reaches a person as a row of their log,
numbered ``seq`` 1, 2, 3... per person. The number is taken under a lock on the person's
:class:`EventStream` row, held until the transaction ends, so numbers become visible in order
and without holes; a client that saw ``seq`` n and reconnects asks for what follows n. (A global
sequence would not do: two transactions can commit in the opposite order of their ids, and a
client that saw the larger one would never be sent the smaller.)
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EventStream(models.Model):
    """The ``seq`` of a person's latest event (0 before the first)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(last_seq__gte=0), name="notifications_stream_seq_nonnegative"
            )
        ]

    def __str__(self) -> str:
        return f"stream of user {self.user_id} at {self.last_seq}"


class Event(models.Model):
    """One event in one person's log. Clients see ``seq`` as the event's ``id``."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    seq = models.BigIntegerField()
    type = models.CharField(max_length=64)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When the person marked it read in their inbox (null: unread). Set by
    # services/inbox.py only, and never unset.
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The unread count and ?unread=true: each person's unread events, by seq.
            models.Index(
                fields=["recipient", "seq"],
                condition=Q(read_at__isnull=True),
                name="notifications_event_unread",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "seq"], name="notifications_event_recipient_seq_unique"
            ),
            models.CheckConstraint(condition=Q(seq__gt=0), name="notifications_event_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.seq} for user {self.recipient_id}"


class PushOutbox(models.Model):
    """The push of one event, written in the event's transaction: a push survives a broker
    outage and is sent by whichever comes first, the task queued after commit or the sweep."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        SKIPPED = "skipped", _("skipped")
        EXPIRED = "expired", _("expired")
        FAILED = "failed", _("failed")

    event = models.OneToOneField(
        Event, on_delete=models.CASCADE, primary_key=True, related_name="push"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    # Why a push was skipped or failed: online, push_off, type_off, no_device, not_configured...
    reason = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Not before: now for a new push; the end of quiet hours; the next retry; a claim's lease.
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # After a partial failure, the devices still to try (null: every device of the recipient).
    device_ids = ArrayField(models.BigIntegerField(), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(status="pending"),
                name="notifications_push_pending",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "skipped", "expired", "failed"]),
                name="notifications_push_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"push of event {self.event_id}: {self.status}"


class Device(models.Model):
    """A phone or browser that receives pushes. A token belongs to one person at a time."""

    class Platform(models.TextChoices):
        ANDROID = "android", "Android"
        IOS = "ios", "iOS"
        WEB = "web", "Web"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices"
    )
    platform = models.CharField(max_length=8, choices=Platform.choices)
    token = models.CharField(max_length=1024, unique=True)
    locale = models.CharField(max_length=35, blank=True)
    # The signed-in session that registered it: ending the session removes the device, so a
    # logged-out phone stops receiving pushes.
    session = models.ForeignKey(
        "accounts.AuthSession",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="devices",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(platform__in=["android", "ios", "web"]),
                name="notifications_device_platform_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform} device {self.pk} of user {self.user_id}"


class TopicSubscription(models.Model):
    """A person listens to a topic (``neighbourhood.<id>``): an event sent to the topic is logged
    for each subscriber and travels to their sockets as one message per server process."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "user"], name="notifications_topic_user_unique"
            )
        ]
        indexes = [models.Index(fields=["user"], name="notifications_topic_by_user")]

    def __str__(self) -> str:
        return f"user {self.user_id} on {self.topic}"


class LastPosition(models.Model):
    """The latest position a person's app sent on its socket (couriers on their rounds)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    point = models.PointField(srid=settings.GEO_SRID, geography=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    measured_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(accuracy_m__isnull=True) | Q(accuracy_m__gte=0),
                name="notifications_position_accuracy_nonnegative",
            )
        ]

    def __str__(self) -> str:
        return f"position of user {self.user_id} at {self.measured_at:%Y-%m-%d %H:%M:%S}"


class EmailOutbox(models.Model):
    """An important event for someone who has no device to push it to: it goes into their next
    mail digest (at most one per ``NOTIFICATIONS_EMAIL_DIGEST_MINUTES``)."""

    event = models.OneToOneField(
        Event, on_delete=models.CASCADE, primary_key=True, related_name="email"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["recipient"],
                condition=Q(sent_at__isnull=True),
                name="notifications_email_due",
            )
        ]
