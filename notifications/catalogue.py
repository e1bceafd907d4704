"""The catalogue of events: every type the code may emit, the data it carries, how it pushes.

:func:`notifications.services.notify` refuses a type that is not here and data that does not
match its fields. ``docs/events.md`` carries the rendering of this catalogue (``manage.py
events_doc`` writes it) and a test fails when the two differ, or when code anywhere calls
``notify`` with a type this catalogue lacks.

Push texts are translated (French and English) and formatted with the event's data, so every
placeholder of a title or body is a required field of its type.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

NAME = re.compile(r"^[a-z]+(\.[a-z_]+)+$")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# FCM accepts 4 KB of data per message: the event's data must leave room for the texts.
DATA_MAX_BYTES = 2048


class UnknownEventTypeError(ValueError):
    """A programming error: the type is not in the catalogue (add it, and to docs/events.md)."""


class InvalidEventDataError(ValueError):
    """A programming error: the data does not match the fields of its type."""


class Push(enum.StrEnum):
    NEVER = "never"  # live on the socket and in the log only
    OFFLINE = "offline"  # a push to people without an open socket
    ALWAYS = "always"  # a push even when a socket is open (reminders)


class Kind(enum.StrEnum):
    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "datetime"  # ISO 8601 with a time zone, as a string

    def accepts(self, value: Any) -> bool:
        if self is Kind.INTEGER:
            return isinstance(value, int) and not isinstance(value, bool)
        if self is Kind.NUMBER:
            return isinstance(value, int | float) and not isinstance(value, bool)
        if self is Kind.BOOLEAN:
            return isinstance(value, bool)
        if not isinstance(value, str):
            return False
        if self is Kind.DATETIME:
            try:
                return datetime.fromisoformat(value).tzinfo is not None
            except ValueError:
                return False
        return True


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    fields: Mapping[str, Kind]
    example: Mapping[str, Any]
    optional: Mapping[str, Kind] = field(default_factory=dict)
    push: Push = Push.OFFLINE
    # Urgent pushes ignore quiet hours and go out with high priority.
    urgent: bool = False
    # The key of accounts.preferences.NOTIFICATION_TYPES that turns this push off; None:
    # only the general "push" switch does.
    preference: str | None = None
    # Translated texts, or plain "%(field)s" to show a field as it is.
    title: Promise | str | None = None
    body: Promise | str | None = None
    # A push not delivered within this time after the event is dropped.
    push_ttl: timedelta = timedelta(days=1)

    def validate(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` as stored and sent (JSON types only), or :class:`InvalidEventDataError`."""
        if not isinstance(data, Mapping):
            raise InvalidEventDataError(f"{self.name}: data must be a mapping")
        try:
            encoded = json.dumps(dict(data), cls=DjangoJSONEncoder, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise InvalidEventDataError(f"{self.name}: data is not JSON: {error}") from error
        if len(encoded.encode()) > DATA_MAX_BYTES:
            raise InvalidEventDataError(f"{self.name}: data is over {DATA_MAX_BYTES} bytes")
        normalised: dict[str, Any] = json.loads(encoded)
        missing = sorted(set(self.fields) - set(normalised))
        unknown = sorted(set(normalised) - set(self.fields) - set(self.optional))
        if missing or unknown:
            raise InvalidEventDataError(f"{self.name}: missing {missing}, unknown {unknown}")
        for name, value in normalised.items():
            kind = self.fields.get(name) or self.optional[name]
            if value is None and name in self.optional:
                continue
            if not kind.accepts(value):
                raise InvalidEventDataError(f"{self.name}: {name} must be {kind.value}")
        return normalised

    def push_text(self, data: Mapping[str, Any], language: str) -> tuple[str, str]:
        """The push title and body in ``language``, filled in from ``data``."""
        assert self.title is not None and self.body is not None
        values = {key: data[key] for key in self.fields}
        with translation.override(language):
            return str(self.title) % values, str(self.body) % values


def _define(*types: EventType) -> dict[str, EventType]:
    catalogue: dict[str, EventType] = {}
    for event_type in types:
        assert NAME.match(event_type.name), event_type.name
        assert event_type.name not in catalogue, event_type.name
        catalogue[event_type.name] = event_type
    return catalogue


INT, NUM, STR, BOOL, TIME = Kind.INTEGER, Kind.NUMBER, Kind.STRING, Kind.BOOLEAN, Kind.DATETIME
LOAN = {"loan_id": INT, "item_id": INT, "item_title": STR}
LOAN_EXAMPLE = {"loan_id": 381, "item_id": 52, "item_title": "Perceuse Bosch"}
STARTS, ENDS = "2026-05-16T09:00:00+02:00", "2026-05-18T18:00:00+02:00"

CATALOGUE: dict[str, EventType] = _define(
    EventType(
        name="loan.requested",
        description="A neighbour asks to borrow one of your items (sent to the owner).",
        fields={
            **LOAN,
            "borrower_id": INT,
            "borrower_name": STR,
            "starts_at": TIME,
            "ends_at": TIME,
        },
        example={
            **LOAN_EXAMPLE,
            "borrower_id": 17,
            "borrower_name": "Camille",
            "starts_at": STARTS,
            "ends_at": ENDS,
        },
        preference="loan_requested",
        title=_("New loan request"),
        body=_("%(borrower_name)s would like to borrow “%(item_title)s”."),
    ),
    EventType(
        name="loan.accepted",
        description="The owner accepted your loan request (sent to the borrower).",
        fields={**LOAN, "owner_id": INT, "owner_name": STR, "starts_at": TIME, "ends_at": TIME},
        example={
            **LOAN_EXAMPLE,
            "owner_id": 8,
            "owner_name": "Léa",
            "starts_at": STARTS,
            "ends_at": ENDS,
        },
        preference="loan_accepted",
        title=_("Loan accepted"),
        body=_("%(owner_name)s agreed to lend you “%(item_title)s”."),
    ),
    EventType(
        name="loan.declined",
        description="The owner declined your loan request (sent to the borrower).",
        fields={**LOAN, "owner_name": STR},
        optional={"reason": STR},
        example={**LOAN_EXAMPLE, "owner_name": "Léa", "reason": "Déjà prêtée ce week-end."},
        preference="loan_declined",
        title=_("Loan declined"),
        body=_("%(owner_name)s cannot lend you “%(item_title)s” this time."),
    ),
    EventType(
        name="loan.cancelled",
        description="The other party cancelled a loan that had not started.",
        fields={**LOAN, "cancelled_by_name": STR},
        example={**LOAN_EXAMPLE, "cancelled_by_name": "Camille"},
        preference="loan_cancelled",
        title=_("Loan cancelled"),
        body=_("%(cancelled_by_name)s cancelled the loan of “%(item_title)s”."),
    ),
    EventType(
        name="loan.handover_confirmed",
        description="Both parties confirmed that the item changed hands (sent to both).",
        fields={**LOAN, "ends_at": TIME},
        example={**LOAN_EXAMPLE, "ends_at": ENDS},
        title=_("Handover confirmed"),
        body=_("The handover of “%(item_title)s” is confirmed."),
    ),
    EventType(
        name="loan.returned",
        description="The borrower returned the item (sent to the owner, who confirms it).",
        fields={**LOAN, "borrower_name": STR},
        example={**LOAN_EXAMPLE, "borrower_name": "Camille"},
        preference="loan_returned",
        title=_("Item returned"),
        body=_("%(borrower_name)s returned “%(item_title)s”."),
    ),
    EventType(
        name="loan.return_confirmed",
        description="The owner confirmed the return and the item's condition (sent to the borrower).",
        fields={**LOAN, "condition": STR},
        example={**LOAN_EXAMPLE, "condition": "fine"},
        preference="loan_returned",
        title=_("Return confirmed"),
        body=_("The return of “%(item_title)s” is confirmed. Thank you!"),
    ),
    EventType(
        name="loan.disputed",
        description="The other party opened a dispute on a loan; the association will look at it.",
        fields={**LOAN, "opened_by_name": STR},
        example={**LOAN_EXAMPLE, "opened_by_name": "Camille"},
        urgent=True,
        title=_("Dispute opened"),
        body=_("%(opened_by_name)s opened a dispute about “%(item_title)s”."),
    ),
    EventType(
        name="loan.dispute_settled",
        description="The association settled a dispute: the loan is closed; resolution says "
        "what was decided (sent to both parties).",
        fields={**LOAN, "resolution": STR},
        example={**LOAN_EXAMPLE, "resolution": "Le mandrin a été rendu ; le prêt est clos."},
        urgent=True,
        title=_("Dispute settled"),
        body=_("The association settled the dispute about “%(item_title)s”."),
    ),
    EventType(
        name="loan.renewed",
        description="The borrower extended a loan, as nothing conflicted (sent to the owner).",
        fields={**LOAN, "ends_at": TIME, "borrower_name": STR},
        example={**LOAN_EXAMPLE, "ends_at": ENDS, "borrower_name": "Camille"},
        preference="loan_accepted",
        title=_("Loan extended"),
        body=_("%(borrower_name)s keeps “%(item_title)s” a little longer."),
    ),
    EventType(
        name="loan.expired",
        description="Your request got no answer in time and expired (sent to the borrower).",
        fields=dict(LOAN),
        example=dict(LOAN_EXAMPLE),
        preference="loan_declined",
        title=_("Request expired"),
        body=_("Your request for “%(item_title)s” got no answer in time."),
    ),
    EventType(
        name="wanted.ask",
        description="A neighbour who opted in to “ask me too” is asked about a wanted request they have no listing for.",
        fields={"wanted_id": INT, "wanted_title": STR, "minutes_away": INT},
        example={"wanted_id": 12, "wanted_title": "Appareil à raclette", "minutes_away": 6},
        preference="wanted_match",
        title=_("A neighbour needs something"),
        body=_("Someone %(minutes_away)s min away is looking for “%(wanted_title)s”."),
    ),
    EventType(
        name="membership.decided",
        description="The association approved, refused or suspended your membership of a neighbourhood.",
        fields={"neighbourhood_id": INT, "neighbourhood_name": STR, "status": STR},
        optional={"reason": STR},
        example={"neighbourhood_id": 3, "neighbourhood_name": "Le Marais", "status": "active"},
        push=Push.ALWAYS,
        title=_("Your membership"),
        body=_("Your membership of %(neighbourhood_name)s is now %(status)s."),
    ),
    EventType(
        name="loan.reminder.starts_tomorrow",
        description="Reminder the day before a loan starts (sent to both parties).",
        fields={**LOAN, "starts_at": TIME, "other_party_name": STR},
        example={**LOAN_EXAMPLE, "starts_at": STARTS, "other_party_name": "Léa"},
        push=Push.ALWAYS,
        preference="loan_reminder",
        title=_("Loan tomorrow"),
        body=_("Your loan of “%(item_title)s” with %(other_party_name)s starts tomorrow."),
    ),
    EventType(
        name="loan.reminder.due_tomorrow",
        description="Reminder the day before the item is due back (sent to the borrower).",
        fields={**LOAN, "ends_at": TIME, "owner_name": STR},
        example={**LOAN_EXAMPLE, "ends_at": ENDS, "owner_name": "Léa"},
        push=Push.ALWAYS,
        preference="loan_reminder",
        title=_("Return due tomorrow"),
        body=_("Please return “%(item_title)s” to %(owner_name)s tomorrow."),
    ),
    EventType(
        name="loan.reminder.overdue",
        description="The item was not returned on time (sent to the borrower, daily).",
        fields={**LOAN, "ends_at": TIME, "days_overdue": INT, "owner_name": STR},
        example={**LOAN_EXAMPLE, "ends_at": ENDS, "days_overdue": 2, "owner_name": "Léa"},
        push=Push.ALWAYS,
        preference="loan_reminder",
        title=_("Loan overdue"),
        body=_("“%(item_title)s” is overdue: please return it to %(owner_name)s."),
    ),
    EventType(
        name="wanted.match",
        description="An item nearby matches one of your wanted requests.",
        fields={
            "wanted_id": INT,
            "wanted_title": STR,
            "item_id": INT,
            "item_title": STR,
            "minutes_away": INT,
        },
        example={
            "wanted_id": 12,
            "wanted_title": "Une perceuse samedi",
            "item_id": 52,
            "item_title": "Perceuse Bosch",
            "minutes_away": 6,
        },
        preference="wanted_match",
        title=_("Someone nearby has it"),
        body=_("“%(item_title)s” is %(minutes_away)s min away for “%(wanted_title)s”."),
    ),
    EventType(
        name="wanted.offer",
        description="A neighbour offers to help with one of your wanted requests.",
        fields={"wanted_id": INT, "wanted_title": STR, "offer_id": INT, "neighbour_name": STR},
        example={
            "wanted_id": 12,
            "wanted_title": "Une perceuse samedi",
            "offer_id": 44,
            "neighbour_name": "Karim",
        },
        preference="wanted_match",
        title=_("New offer"),
        body=_("%(neighbour_name)s can help with “%(wanted_title)s”."),
    ),
    EventType(
        name="message.new",
        description="A new message in one of your conversations (preview: 140 characters).",
        fields={
            "conversation_id": INT,
            "message_id": INT,
            "sender_id": INT,
            "sender_name": STR,
            "preview": STR,
        },
        example={
            "conversation_id": 9,
            "message_id": 2051,
            "sender_id": 17,
            "sender_name": "Camille",
            "preview": "Je passe la prendre vers 18 h ?",
        },
        preference="message_received",
        title=_("Message from %(sender_name)s"),
        body="%(preview)s",
    ),
    EventType(
        name="order.planned",
        description="Your order is in a planned delivery batch, with its time window.",
        fields={
            "order_id": INT,
            "merchant_name": STR,
            "window_start": TIME,
            "window_end": TIME,
            "delivery_mode": STR,
        },
        example={
            "order_id": 733,
            "merchant_name": "Librairie du Marais",
            "window_start": "2026-05-16T17:00:00+02:00",
            "window_end": "2026-05-16T19:00:00+02:00",
            "delivery_mode": "relay",
        },
        preference="order_update",
        title=_("Delivery planned"),
        body=_("Your order from %(merchant_name)s is planned for delivery."),
    ),
    EventType(
        name="order.eta",
        description="A new estimated arrival time for your order (live only: never pushed).",
        fields={"order_id": INT, "route_id": INT, "eta": TIME, "minutes": INT},
        example={
            "order_id": 733,
            "route_id": 61,
            "eta": "2026-05-16T17:42:00+02:00",
            "minutes": 25,
        },
        push=Push.NEVER,
        preference="order_update",
    ),
    EventType(
        name="order.courier_nearby",
        description="The courier is a few minutes away from your delivery place.",
        fields={"order_id": INT, "route_id": INT, "minutes_away": INT},
        example={"order_id": 733, "route_id": 61, "minutes_away": 5},
        urgent=True,
        preference="delivery_update",
        title=_("Courier nearby"),
        body=_("Your courier is about %(minutes_away)s min away."),
        push_ttl=timedelta(minutes=15),
    ),
    EventType(
        name="order.delivered",
        description="Your order was delivered (place: home, relay or neighbour; proof: photo "
        "or code).",
        fields={
            "order_id": INT,
            "merchant_name": STR,
            "delivered_at": TIME,
            "place": STR,
            "proof": STR,
        },
        example={
            "order_id": 733,
            "merchant_name": "Librairie du Marais",
            "delivered_at": "2026-05-16T17:44:10+02:00",
            "place": "relay",
            "proof": "code",
        },
        preference="delivery_update",
        title=_("Order delivered"),
        body=_("Your order from %(merchant_name)s has been delivered."),
    ),
    EventType(
        name="order.failed",
        description="The delivery failed; next_step says what happens (retry, relay, return).",
        fields={"order_id": INT, "merchant_name": STR, "reason": STR, "next_step": STR},
        example={
            "order_id": 733,
            "merchant_name": "Librairie du Marais",
            "reason": "absent",
            "next_step": "relay",
        },
        preference="delivery_update",
        title=_("Delivery failed"),
        body=_("Your order from %(merchant_name)s could not be delivered."),
    ),
    EventType(
        name="order.unplanned",
        description="The order is not in the planned rounds (any more): it waits for the next "
        "batch. reason: no_drop_within_walking_limit (no relay point or host within the walk "
        "you accept), not_in_during_shifts (your windows miss the couriers' hours), "
        "no_capacity_or_window (the rounds are full), no_home, not_planned.",
        fields={"order_id": INT, "merchant_name": STR, "reason": STR},
        example={
            "order_id": 733,
            "merchant_name": "Librairie du Marais",
            "reason": "no_drop_within_walking_limit",
        },
        preference="delivery_update",
        title=_("Delivery not planned yet"),
        body=_(
            "Your order from %(merchant_name)s is not in today's rounds; it waits for the next."
        ),
    ),
    EventType(
        name="relay.parcels_to_receive",
        description="Parcels of a planned batch will arrive at the relay point you host.",
        fields={
            "relay_point_id": INT,
            "relay_name": STR,
            "batch_id": INT,
            "parcels": INT,
            "window_start": TIME,
            "window_end": TIME,
        },
        example={
            "relay_point_id": 4,
            "relay_name": "Épicerie Rue Vieille-du-Temple",
            "batch_id": 88,
            "parcels": 7,
            "window_start": "2026-05-16T15:00:00+02:00",
            "window_end": "2026-05-16T16:00:00+02:00",
        },
        preference="delivery_update",
        title=_("Parcels to receive"),
        body=_("%(parcels)s parcel(s) will arrive at %(relay_name)s."),
    ),
    EventType(
        name="route.stop_added",
        description="A stop was added to the courier's route (sent to the courier).",
        fields={
            "route_id": INT,
            "stop_id": INT,
            "position": INT,
            "address_label": STR,
            "eta": TIME,
        },
        example={
            "route_id": 61,
            "stop_id": 903,
            "position": 4,
            "address_label": "12 rue des Rosiers",
            "eta": "2026-05-16T17:20:00+02:00",
        },
        urgent=True,
        title=_("Stop added"),
        body=_("A stop was added to your route: %(address_label)s."),
        push_ttl=timedelta(hours=2),
    ),
    EventType(
        name="route.updated",
        description="The courier's route changed (order of stops, ETAs): fetch it again.",
        fields={"route_id": INT, "version": INT, "stops": INT},
        example={"route_id": 61, "version": 3, "stops": 9},
        title=_("Route updated"),
        body=_("Your route now has %(stops)s stops."),
        push_ttl=timedelta(hours=2),
    ),
    EventType(
        name="route.cancelled",
        description="A re-plan removed this route of the courier's (its stops went to other "
        "rounds): drop it.",
        fields={"route_id": INT, "batch_id": INT},
        example={"route_id": 61, "batch_id": 88},
        title=_("Route cancelled"),
        body=_("One of your routes was cancelled by a new plan."),
        push_ttl=timedelta(hours=2),
    ),
    EventType(
        name="neighbourhood.announcement",
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


def event_type_get(name: str) -> EventType:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownEventTypeError(
            f"unknown event type {name!r}: add it to notifications/catalogue.py"
        ) from None


def catalogue_markdown() -> str:
    """The per-type reference of docs/events.md, rendered from the catalogue."""
    push_words = {
        Push.NEVER: "never (socket and log only)",
        Push.OFFLINE: "when no socket is open",
        Push.ALWAYS: "always, even with a socket open",
    }
    lines: list[str] = []
    for event_type in sorted(CATALOGUE.values(), key=lambda t: t.name):
        lines += [f"### `{event_type.name}`", "", event_type.description, ""]
        lines += ["| field | type | required |", "| --- | --- | --- |"]
        lines += [f"| `{name}` | {kind.value} | yes |" for name, kind in event_type.fields.items()]
        lines += [f"| `{name}` | {kind.value} | no |" for name, kind in event_type.optional.items()]
        lines.append("")
        push = push_words[event_type.push]
        if event_type.push is not Push.NEVER:
            push += "; urgent (ignores quiet hours)" if event_type.urgent else ""
            push += (
                f"; turned off by preference `{event_type.preference}`"
                if (event_type.preference)
                else "; turned off only by the general push switch"
            )
            push += f"; dropped after {_duration(event_type.push_ttl)}"
        lines += [f"Push: {push}.", ""]
        if event_type.title is not None:
            for language in ("en", "fr"):
                title, body = event_type.push_text(event_type.example, language)
                lines.append(f"- {language}: **{title}** — {body}")
            lines.append("")
        envelope = {
            "id": 42,
            "type": event_type.name,
            "at": "2026-05-15T18:03:12.415000+02:00",
            "data": event_type.example,
        }
        lines += ["```json", json.dumps(envelope, ensure_ascii=False, indent=2), "```", ""]
    return "\n".join(lines)


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400} day(s)"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    return f"{seconds // 60} minutes"
