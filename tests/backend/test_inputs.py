"""The input rules of backend/inputs.py, one class at a time: characters, JSON depth, numbers.

They are the same for every reader: the API's parsers (backend/parsers.py), the path and query
check (backend/security.py), the merchant webhook and the websocket's inbound messages.
"""

from __future__ import annotations

import json

import pytest
from django.http import QueryDict
from django.utils import translation

from backend.inputs import (
    InvalidCharacterError,
    MalformedJsonError,
    TooDeepError,
    depth_check,
    fields_check,
    has_invalid_character,
    json_parse,
    strings_check,
)
from notifications.protocol import ProtocolError, inbound_parse

# --- characters -----------------------------------------------------------------------------------

REFUSED = [
    *(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"),
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    "\ufffe",
    "\uffff",
]
ALLOWED = [
    "\t",
    "\n",
    "\r",
    " ",
    "é",
    "\x7f",  # DEL
    "\x85",  # a C1 control
    "\u200b",  # zero-width space
    "\u202e",  # right-to-left override
    "\ufdd0",  # a non-character other than U+FFFE/U+FFFF
    "\ufffd",
    "\U0001f600",
    "\U0010ffff",
]


@pytest.mark.parametrize("char", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
def test_refused_characters(char):
    assert has_invalid_character(f"ab{char}cd")
    with pytest.raises(InvalidCharacterError):
        json_parse(json.dumps({"title": f"ab{char}cd"}))
    with pytest.raises(InvalidCharacterError):
        json_parse(json.dumps({f"ti{char}tle": "x"}))


@pytest.mark.parametrize("char", ALLOWED, ids=lambda c: f"U+{ord(c):04X}")
def test_allowed_characters(char):
    assert not has_invalid_character(f"ab{char}cd")
    assert json_parse(json.dumps({"title": f"ab{char}cd"})) == {"title": f"ab{char}cd"}


def test_a_surrogate_pair_is_one_character_and_allowed():
    assert json_parse('"\\ud83d\\ude00"') == "\U0001f600"
    with pytest.raises(InvalidCharacterError):
        json_parse('"\\ude00\\ud83d"')  # the wrong way round: two unpaired surrogates


def test_an_escaped_backslash_is_not_an_escape():
    assert json_parse('"\\\\u0000"') == "\\u0000"


def test_the_refusal_names_the_field():
    with pytest.raises(InvalidCharacterError) as caught:
        json_parse('{"parcels": [{"size": "s"}, {"size": "m\\u0000"}]}')
    error = caught.value
    assert (error.status_code, error.code) == (400, "invalid_character")
    assert list(error.fields) == ["parcels.1.size"]
    assert str(error.message).startswith("parcels.1.size: ")
    with pytest.raises(InvalidCharacterError) as caught:
        json_parse('{"a": {"b\\u0000": 1}}')
    assert list(caught.value.fields) == ["a"]
    with pytest.raises(InvalidCharacterError) as caught:
        json_parse('"\\u0001"')
    assert list(caught.value.fields) == ["non_field_errors"]


def test_a_deep_value_is_walked_without_recursion():
    value: object = "a\x00b"
    for _ in range(100_000):
        value = [value]
    with pytest.raises(InvalidCharacterError):
        strings_check(value)


def test_forms_and_query_strings():
    fields_check(QueryDict("a=1&b=é&c=%09").lists())
    for query in ("a=%00", "a=x%01", "a%00=1", "a=%EF%BF%BE"):
        with pytest.raises(InvalidCharacterError):
            fields_check(QueryDict(query).lists())


# --- JSON depth -----------------------------------------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_depth_up_to_the_limit(settings):
    settings.API_JSON_MAX_DEPTH = 32
    depth_check(_nested(32))
    depth_check('{"a":' * 32 + "1" + "}" * 32)
    assert json_parse('{"a": [{"b": [1, 2, {"c": []}]}]}') == {"a": [{"b": [1, 2, {"c": []}]}]}
    with pytest.raises(TooDeepError) as caught:
        depth_check(_nested(33))
    assert (caught.value.status_code, caught.value.code) == (400, "too_deep")
    with pytest.raises(TooDeepError):
        depth_check('{"a":' * 33 + "1" + "}" * 33)
    settings.API_JSON_MAX_DEPTH = 3
    with pytest.raises(TooDeepError):
        json_parse('{"a": [{"b": [1]}]}')


def test_brackets_in_strings_do_not_count():
    text = json.dumps({"a": "[" * 5000 + '\\"{' * 100, "b": ["]]]", "\\"]})
    assert json_parse(text)["b"] == ["]]]", "\\"]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1000 + "]" * 1000,
        "[" * 100_000,  # never closed: the parser would recurse into it all
        '{"a":' * 1000,
        "[{" * 500 + "}]" * 500,
        "[" * 200 + "]" * 100,
    ],
    ids=["1000-deep", "100000-open", "1000-open-objects", "mixed", "half-closed"],
)
def test_deep_or_unclosed_bodies_are_refused_before_parsing(text):
    with pytest.raises(TooDeepError):
        json_parse(text)


def test_a_long_flat_body_is_fine():
    assert len(json_parse("[" + "[]," * 200_000 + "[]]")) == 200_001


@pytest.mark.parametrize("text", ['{"a": [1, 2}', "]", "[[]]]", '{"a": "x}', "[}"])
def test_malformed_json(text):
    with pytest.raises(MalformedJsonError) as caught:
        json_parse(text)
    assert (caught.value.status_code, caught.value.code) == (400, "parse_error")


def test_the_parse_error_says_where():
    with translation.override("en"), pytest.raises(MalformedJsonError) as caught:
        json_parse('{\n  "a": }')
    assert str(caught.value.message) == "The body is not valid JSON (line 2, column 8)."


def test_bytes_that_are_not_utf8():
    with pytest.raises(MalformedJsonError):
        json_parse(b'{"a": "\xff"}')
    assert json_parse('{"a": "é"}'.encode("latin-1"), encoding="latin-1") == {"a": "é"}


# --- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", str(2**63), str(-(2**63) - 1), "9" * 5000]
)
def test_numbers_out_of_range(number):
    with pytest.raises(MalformedJsonError):
        json_parse(f'{{"n": {number}}}')


@pytest.mark.parametrize(
    ("number", "value"),
    [
        (str(2**63 - 1), 2**63 - 1),
        (str(-(2**63)), -(2**63)),
        ("1e-400", 0.0),
        ("1.5", 1.5),
        ("1234567890123456789.5", 1234567890123456789.5),
        # An overflowing float is infinity, for the field that reads it to refuse.
        ("1e999", float("inf")),
    ],
)
def test_numbers_in_range(number, value):
    assert json_parse(f"[{number}]") == [value]


# --- the websocket's inbound messages follow the same rules ---------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[" * 500 + "]" * 500, "too_deep"),
        ('{"type": "ping\\u0000"}', "invalid_character"),
        ('{"type": "ping", "n": NaN}', "invalid_json"),
        ("{", "invalid_json"),
    ],
)
def test_websocket_messages(text, code):
    with pytest.raises(ProtocolError) as caught:
        inbound_parse(text, None)
    assert caught.value.code == code
    assert inbound_parse('{"type": "ping"}', None) == {"type": "ping"}
