"""What apps may send on the socket, validated, and the per-connection rate limits.

Inbound messages are JSON objects with a ``type``:

- ``{"type": "position", "lon": 2.35, "lat": 48.85, "at": "2026-05-16T17:02:11+02:00",
  "accuracy": 12}`` (``accuracy`` in meters, optional): the sender's position;
- ``{"type": "ping"}``: answered by ``{"type": "pong", "at": ...}``;
- ``{"type": "presence", "state": "background"}`` (or ``"foreground"``): the app went to the
  background (or came back); a socket in the background does not count as online, so the
  pushes that go only to people offline reach the phone.

A mistake is answered by ``{"type": "error", "code": ..., "detail": ..., "field": ...}`` and the
socket stays open; too many mistakes in a row close it (code 4429).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.inputs import InvalidCharacterError, MalformedJsonError, TooDeepError, json_parse

MAX_MESSAGE_CHARS = 1024
# A position measured this long ago is refused as stale (not counted as a mistake).
POSITION_MAX_AGE = timedelta(minutes=5)
# Clocks of phones drift: a position a little in the future is accepted.
POSITION_MAX_AHEAD = timedelta(minutes=1)
POSITION_KEYS = {"type", "lon", "lat", "at", "accuracy"}
PRESENCE_KEYS = {"type", "state"}
PRESENCE_STATES = ("foreground", "background")
MAX_ACCURACY_M = 100_000.0


class ProtocolError(Exception):
    def __init__(self, code: str, detail: str, field: str | None = None, *, strike: bool = True):
        super().__init__(detail)
        self.code, self.detail, self.field, self.strike = code, detail, field, strike

    def message(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "error", "code": self.code, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        return body


@dataclass(frozen=True)
class PositionReport:
    lon: float
    lat: float
    measured_at: datetime
    accuracy_m: float | None


def inbound_parse(text: str | None, binary: bytes | None) -> dict[str, Any]:
    """The inbound JSON object, with a string ``type``."""
    if text is None:
        raise ProtocolError("binary_unsupported", "Send text frames with JSON.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ProtocolError("too_large", f"Messages are at most {MAX_MESSAGE_CHARS} characters.")
    try:
        # The API's JSON rules: bounded depth, allowed characters (backend/inputs.py).
        message = json_parse(text)
    except TooDeepError:
        raise ProtocolError("too_deep", "The message is nested too deeply.") from None
    except InvalidCharacterError:
        raise ProtocolError(
            "invalid_character", "The message holds a character that is not allowed."
        ) from None
    except MalformedJsonError:
        raise ProtocolError("invalid_json", "The message is not JSON.") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("invalid_message", 'Expected a JSON object with a "type".', "type")
    return message


def _number(message: dict[str, Any], name: str, low: float, high: float) -> float:
    value = message.get(name)
    if value is None:
        raise ProtocolError("required", f"{name} is required.", name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProtocolError("invalid_number", f"{name} must be a number.", name)
    if not low <= value <= high:
        raise ProtocolError("out_of_range", f"{name} must be between {low:g} and {high:g}.", name)
    return float(value)


def position_parse(message: dict[str, Any], now: datetime) -> PositionReport:
    unknown = sorted(set(message) - POSITION_KEYS)
    if unknown:
        raise ProtocolError("unknown_field", f"Unknown field: {unknown[0]}.", unknown[0])
    lon = _number(message, "lon", -180.0, 180.0)
    lat = _number(message, "lat", -90.0, 90.0)
    accuracy = None
    if message.get("accuracy") is not None:
        accuracy = _number(message, "accuracy", 0.0, MAX_ACCURACY_M)
    raw = message.get("at")
    if raw is None:
        raise ProtocolError("required", "at is required.", "at")
    try:
        measured_at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        measured_at = None
    if measured_at is None or measured_at.tzinfo is None:
        raise ProtocolError("invalid_datetime", "at must be ISO 8601 with a time zone.", "at")
    if measured_at > now + POSITION_MAX_AHEAD:
        raise ProtocolError("in_the_future", "at is in the future.", "at")
    if measured_at < now - POSITION_MAX_AGE:
        raise ProtocolError(
            "stale_position", "This position is too old to keep.", "at", strike=False
        )
    return PositionReport(lon=lon, lat=lat, measured_at=measured_at, accuracy_m=accuracy)


def presence_parse(message: dict[str, Any]) -> bool:
    """Whether the app says it is in the background (``False``: in the foreground)."""
    unknown = sorted(set(message) - PRESENCE_KEYS)
    if unknown:
        raise ProtocolError("unknown_field", f"Unknown field: {unknown[0]}.", unknown[0])
    state = message.get("state")
    if state is None:
        raise ProtocolError("required", "state is required.", "state")
    if state not in PRESENCE_STATES:
        raise ProtocolError("invalid_choice", "state must be foreground or background.", "state")
    return state == "background"


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(self, *, rate: float, burst: float, clock: Any = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait(self) -> float:
        """Seconds until a token is back."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate if self.rate else math.inf
