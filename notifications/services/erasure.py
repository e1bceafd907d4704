"""What the notifications app forgets of a person whose account is deleted (RGPD art. 17)."""

from __future__ import annotations

from django.db import transaction

from notifications.models import (
    Device,
    EmailOutbox,
    Event,
    EventStream,
    LastPosition,
    TopicSubscription,
)


@transaction.atomic
def notifications_forget(*, user_id: int) -> dict[str, int]:
    """Deletes the person's devices, topics, last position, mail digest and event log (their
    pushes go with the events). Returns how many rows of each went."""
    counts = {
        "devices": Device.objects.filter(user_id=user_id).delete()[0],
        "topics": TopicSubscription.objects.filter(user_id=user_id).delete()[0],
        "positions": LastPosition.objects.filter(user_id=user_id).delete()[0],
        "emails": EmailOutbox.objects.filter(recipient_id=user_id).delete()[0],
        "events": Event.objects.filter(recipient_id=user_id).delete()[0],
    }
    EventStream.objects.filter(user_id=user_id).delete()
    return counts
