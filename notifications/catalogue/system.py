"""Events of the neighbourhood as a whole and of the event stream itself."""

from __future__ import annotations

from notifications.catalogue.types import (
    ANNOUNCEMENT_SUBJECT,
    INT,
    STR,
    EventType,
    Push,
)

SYSTEM: tuple[EventType, ...] = (
    EventType(
        name="neighbourhood.announcement",
        subject=ANNOUNCEMENT_SUBJECT,
        description="The association's announcement to every member of a neighbourhood (sent "
        "to the topic neighbourhood.<id>).",
        fields={"neighbourhood_id": INT, "title": STR, "text": STR},
        example={
            "neighbourhood_id": 3,
            "title": "Tournée groupée",
            "text": "Les livraisons de samedi passent à vendredi soir.",
        },
        title="%(title)s",
        body="%(text)s",
    ),
    EventType(
        name="system.resync",
        description="Your copy of the state may be stale: fetch it again from the API. Sent "
        "when you reconnect with an id older than the log keeps (reason log_expired), too far "
        "behind (too_far_behind), or unknown to the server (unknown_id); the server may also "
        "send it to everyone (reason maintenance). Never pushed.",
        fields={"reason": STR},
        example={"reason": "log_expired"},
        push=Push.NEVER,
    ),
)
