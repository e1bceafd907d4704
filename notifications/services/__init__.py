"""Every write of the notifications app. :func:`notify` is the one door out for events."""

from notifications.services.devices import (
    DeviceNotFoundError,
    DeviceRegistration,
    device_delete,
    device_register,
)
from notifications.services.digest import (
    email_digest_sweep,
    email_outbox_add,
    email_unsubscribe,
    unsubscribe_token,
    unsubscribe_url,
)
from notifications.services.events import (
    events_prune,
    notify,
    notify_many,
    push_enqueue,
    topic_subscribe,
    topic_unsubscribe,
)
from notifications.services.inbox import (
    NotificationNotFoundError,
    event_mark_read,
    events_mark_all_read,
)
from notifications.services.positions import (
    position_allowed,
    position_received,
    position_record,
    positions_purge,
)
from notifications.services.push import PushRun, push_outbox_deliver

__all__ = [
    "DeviceNotFoundError",
    "DeviceRegistration",
    "NotificationNotFoundError",
    "PushRun",
    "device_delete",
    "device_register",
    "email_digest_sweep",
    "email_outbox_add",
    "email_unsubscribe",
    "event_mark_read",
    "events_mark_all_read",
    "events_prune",
    "notify",
    "notify_many",
    "position_allowed",
    "position_received",
    "position_record",
    "positions_purge",
    "push_enqueue",
    "push_outbox_deliver",
    "topic_subscribe",
    "topic_unsubscribe",
    "unsubscribe_token",
    "unsubscribe_url",
]
