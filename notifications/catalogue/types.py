"""The shape of an event type: its fields and their kinds, how it pushes, and its texts."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import translation
from django.utils.functional import Promise

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
class Subject:
    """What events of a type are about, named by one of their integer fields:
    ``Subject("loan", "loans", "loan_id")`` gives the event ``{"loan_id": 381, ...}`` the
    collapse key ``loan-381`` (a newer push about loan 381 replaces the older one on the phone)
    and the deep link ``voisinage://loans/381`` (the scheme is ``APP_LINK_SCHEME``)."""

    name: str
    path: str
    field: str

    def collapse_key(self, data: Mapping[str, Any]) -> str:
        return f"{self.name}-{data[self.field]}"

    def link(self, data: Mapping[str, Any], scheme: str) -> str:
        return f"{scheme}://{self.path}/{data[self.field]}"


LOAN_SUBJECT = Subject("loan", "loans", "loan_id")
ITEM_SUBJECT = Subject("item", "items", "item_id")
CONVERSATION_SUBJECT = Subject("conversation", "conversations", "conversation_id")
ORDER_SUBJECT = Subject("order", "orders", "order_id")
WANTED_SUBJECT = Subject("wanted", "wanted", "wanted_id")
ROUTE_SUBJECT = Subject("route", "routes", "route_id")
MEMBERSHIP_SUBJECT = Subject("membership", "neighbourhoods", "neighbourhood_id")
ANNOUNCEMENT_SUBJECT = Subject("announcement", "neighbourhoods", "neighbourhood_id")
RELAY_POINT_SUBJECT = Subject("relay_point", "relay-points", "relay_point_id")


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
    # Important enough to reach people without the app: a recipient with no push device, a
    # verified address and mail on gets it in their next mail digest (services/digest.py).
    email: bool = False
    # ...and only when the data match: {"place": ("relay", "host")} (empty: always).
    email_only_if: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    # What the event is about: its pushes' collapse key and its deep link. None: the collapse
    # key is the type's name (its pushes replace each other) and there is no link.
    subject: Subject | None = None

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

    def mails(self, data: Mapping[str, Any]) -> bool:
        """Whether an event of this type with ``data`` goes into mail digests."""
        return self.email and all(
            data.get(name) in values for name, values in self.email_only_if.items()
        )

    def collapse_key(self, data: Mapping[str, Any]) -> str:
        """Pushes with the same key replace each other on the phone: those about one subject."""
        if self.subject is None or data.get(self.subject.field) is None:
            return self.name
        return self.subject.collapse_key(data)

    def link(self, data: Mapping[str, Any]) -> str | None:
        """The deep link the app routes for an event with ``data`` (``None``: none)."""
        if self.subject is None or data.get(self.subject.field) is None:
            return None
        return self.subject.link(data, settings.APP_LINK_SCHEME)

    def push_text(self, data: Mapping[str, Any], language: str) -> tuple[str, str]:
        """The push title and body in ``language``, filled in from ``data``."""
        assert self.title is not None and self.body is not None
        values = {key: data[key] for key in self.fields}
        with translation.override(language):
            return str(self.title) % values, str(self.body) % values


def define(*types: EventType) -> dict[str, EventType]:
    catalogue: dict[str, EventType] = {}
    for event_type in types:
        assert NAME.match(event_type.name), event_type.name
        assert event_type.name not in catalogue, event_type.name
        if event_type.subject is not None:
            # The subject's id is a required integer of the type's data.
            assert event_type.fields.get(event_type.subject.field) is Kind.INTEGER, event_type.name
        catalogue[event_type.name] = event_type
    return catalogue


INT, NUM, STR, BOOL, TIME = Kind.INTEGER, Kind.NUMBER, Kind.STRING, Kind.BOOLEAN, Kind.DATETIME
