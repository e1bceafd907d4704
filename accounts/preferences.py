"""Notification preferences: what a resident wants to be told, and when.

Stored in ``User.notification_preferences`` as the keys the resident chose; the effective
preferences fill in the defaults::

    {
        "push": true,
        "email": true,   # important events by mail digest when no device is registered
        "quiet_hours": {"start": "22:00", "end": "07:00"} | null,
        "types": {"loan_requested": true, ...}   # one entry per notification type
    }
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

# The kinds of notification a resident can turn off one by one. A notification whose type is not
# listed here is always sent (account security, for instance).
NOTIFICATION_TYPES: tuple[str, ...] = (
    "loan_requested",
    "loan_accepted",
    "loan_declined",
    "loan_cancelled",
    "loan_reminder",
    "loan_returned",
    "loan_disputed",
    "message_received",
    "wanted_match",
    "order_update",
    "delivery_update",
    "membership_update",
)

PREFERENCE_KEYS = frozenset({"push", "email", "quiet_hours", "types"})
QUIET_HOURS_KEYS = frozenset({"start", "end"})
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class QuietHours(TypedDict):
    start: str
    end: str


class NotificationPreferences(TypedDict):
    push: bool
    email: bool
    quiet_hours: QuietHours | None
    types: dict[str, bool]


def notification_preferences_effective(stored: Any) -> NotificationPreferences:
    """The stored choices over the defaults; anything malformed in storage counts as unset."""
    stored = stored if isinstance(stored, dict) else {}
    push = stored.get("push")
    email = stored.get("email")
    quiet = stored.get("quiet_hours")
    quiet_hours: QuietHours | None = None
    if (
        isinstance(quiet, dict)
        and isinstance(quiet.get("start"), str)
        and isinstance(quiet.get("end"), str)
        and HHMM.match(quiet["start"])
        and HHMM.match(quiet["end"])
    ):
        quiet_hours = {"start": quiet["start"], "end": quiet["end"]}
    stored_types = stored.get("types")
    stored_types = stored_types if isinstance(stored_types, dict) else {}
    types = {
        name: stored_types[name] if isinstance(stored_types.get(name), bool) else True
        for name in NOTIFICATION_TYPES
    }
    return {
        "push": push if isinstance(push, bool) else True,
        "email": email if isinstance(email, bool) else True,
        "quiet_hours": quiet_hours,
        "types": types,
    }


def notification_preferences_merge(current: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` applied: top-level keys replace, ``types`` merge by type.

    ``changes`` has been validated (see ``NotificationPreferencesInputSerializer``).
    """
    merged: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
    for key in PREFERENCE_KEYS & changes.keys():
        if key == "types":
            types = merged.get("types")
            merged["types"] = {**(types if isinstance(types, dict) else {}), **changes["types"]}
        else:
            merged[key] = changes[key]
    return merged
