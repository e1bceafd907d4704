"""What apps may send on the socket, checked without a socket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifications.protocol import (
    ProtocolError,
    TokenBucket,
    inbound_parse,
    position_parse,
    presence_parse,
)

NOW = datetime(2026, 5, 16, 15, 0, tzinfo=UTC)
POSITION = {"type": "position", "lon": 2.3622, "lat": 48.8572, "at": NOW.isoformat()}


def refused(call, *args) -> ProtocolError:
    with pytest.raises(ProtocolError) as error:
        call(*args)
    return error.value


def test_a_position_is_parsed():
    report = position_parse({**POSITION, "accuracy": 12}, NOW)
    assert (report.lon, report.lat, report.measured_at, report.accuracy_m) == (
        2.3622,
        48.8572,
        NOW,
        12.0,
    )
    assert position_parse({**POSITION, "lon": -180, "lat": 90}, NOW).accuracy_m is None


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"lon": 180.0001}, "out_of_range", "lon"),
        ({"lat": -90.5}, "out_of_range", "lat"),
        ({"lat": None}, "required", "lat"),
        ({"lon": "2.3"}, "invalid_number", "lon"),
        ({"lon": float("inf")}, "invalid_number", "lon"),
        ({"accuracy": -1}, "out_of_range", "accuracy"),
        ({"at": 1715000000}, "invalid_datetime", "at"),
        ({"at": "yesterday"}, "invalid_datetime", "at"),
        ({"at": (NOW + timedelta(minutes=2)).isoformat()}, "in_the_future", "at"),
        ({"at": (NOW - timedelta(minutes=6)).isoformat()}, "stale_position", "at"),
        ({"heading": 90}, "unknown_field", "heading"),
    ],
)
def test_a_wrong_position_is_refused_with_a_code_and_a_field(change, code, field):
    error = refused(position_parse, {**POSITION, **change}, NOW)
    assert (error.code, error.field) == (code, field)
    assert error.message() == {
        "type": "error",
        "code": code,
        "detail": error.detail,
        "field": field,
    }
    assert error.strike is (code != "stale_position")


@pytest.mark.parametrize(
    ("text", "binary", "code"),
    [
        (None, b"\x00", "binary_unsupported"),
        ("x" * 1025, None, "too_large"),
        ("{", None, "invalid_json"),
        ('"position"', None, "invalid_message"),
        ('{"type": 3}', None, "invalid_message"),
    ],
)
def test_a_malformed_message_is_refused(text, binary, code):
    assert refused(inbound_parse, text, binary).code == code


def test_the_app_says_background_or_foreground():
    assert presence_parse({"type": "presence", "state": "background"}) is True
    assert presence_parse({"type": "presence", "state": "foreground"}) is False


@pytest.mark.parametrize(
    ("message", "code", "field"),
    [
        ({"type": "presence"}, "required", "state"),
        ({"type": "presence", "state": "asleep"}, "invalid_choice", "state"),
        ({"type": "presence", "state": ["background"]}, "invalid_choice", "state"),
        ({"type": "presence", "state": "background", "since": 3}, "unknown_field", "since"),
    ],
)
def test_a_wrong_presence_is_refused(message, code, field):
    error = refused(presence_parse, message)
    assert (error.code, error.field, error.strike) == (code, field, True)


def test_the_token_bucket_allows_a_burst_then_the_rate():
    clock = [0.0]
    bucket = TokenBucket(rate=0.5, burst=2, clock=lambda: clock[0])
    assert [bucket.take(), bucket.take(), bucket.take()] == [True, True, False]
    assert bucket.wait() == pytest.approx(2.0)
    clock[0] = 1.0
    assert bucket.take() is False
    clock[0] = 2.0
    assert bucket.take() is True
    clock[0] = 100.0
    assert [bucket.take(), bucket.take(), bucket.take()] == [True, True, False]
