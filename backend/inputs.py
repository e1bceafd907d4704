"""What the API accepts as text and as JSON: the rules, in one place.

**Characters.** Every string a client sends (a query parameter's name or value, a path, any key
or string of a JSON body, a form or multipart text field, an uploaded file's name) may hold the
characters XML 1.0 allows, and nothing else: tab, line feed, carriage return, U+0020 to U+D7FF,
U+E000 to U+FFFD and U+10000 to U+10FFFF. So NUL (which PostgreSQL cannot store in text and
answers with an error), the other C0 control characters, unpaired surrogates (which no UTF-8
encoder can write) and the non-characters U+FFFE and U+FFFF are refused with 400
``invalid_character``. DEL, the C1 controls and the bidirectional marks (U+202E...) are text that
PostgreSQL stores; they are allowed (showing them safely is the apps' business).

**JSON.** :func:`json_parse` is the one JSON reader of request bodies (the API's parser, the
merchant webhook, the websocket's inbound messages): it refuses, before parsing, a body nested
more than ``API_JSON_MAX_DEPTH`` levels (Python's parser recurses once per level and fails with
``RecursionError`` near a thousand), without recursion itself; it refuses ``NaN`` and ``Infinity``
(not JSON) and integers outside 64 bits (no column stores them); then the characters above, in
every key and string. A float that overflows (``1e999``) is read as infinity and left to the
field that reads it (coordinates refuse it with their own message).

Where each check runs: backend/security.py (path and query string of every request),
backend/parsers.py (every body the API parses). See docs/security.md, "Input rejection".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from backend.errors import DomainError

# The characters XML 1.0 allows (its "Char" production); anything else is refused.
INVALID_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# JSON escapes that may decode to a refused character (C0 controls, \b and \f among them,
# surrogates, U+FFFE/U+FFFF): a body with none of them (and no refused character written as it
# is) needs no walk.
_SUSPICIOUS_ESCAPE = re.compile(r"\\(?:[bf]|u(?:00[01]|[dD][89a-fA-F]|[fF][fF][fF][eEfF]))")

# A JSON string, its escapes included (the "unrolled loop" form: linear, no backtracking).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")

INT64 = 2**63
# Digits as "9": an integer that may not fit in 64 bits then shows as 19 nines in a row (as many
# digits as 2**63 has), found by a plain substring search.
_DIGITS = bytes.maketrans(b"0123456789", b"9999999999")
_LONG_NUMBER = b"9" * 19


class InvalidCharacterError(DomainError):
    code = "invalid_character"
    default_message = _(
        "Text may not hold control characters (but tab and line breaks), unpaired surrogates, "
        "U+FFFE or U+FFFF."
    )


class TooDeepError(DomainError):
    code = "too_deep"
    default_message = _("The JSON body is nested too deeply.")


class MalformedJsonError(DomainError):
    code = "parse_error"
    default_message = _("The body is not valid JSON.")


def has_invalid_character(text: str) -> bool:
    return INVALID_CHARACTER.search(text) is not None


def invalid_character(field: str | None = None) -> InvalidCharacterError:
    """The refusal, naming the field (a query parameter, a dotted path in a body) if known."""
    message = str(InvalidCharacterError.default_message)
    field = (field or "")[:100]  # a name the client chose: echoed, but not at any length
    if not field:
        return InvalidCharacterError(message, fields={"non_field_errors": [message]})
    return InvalidCharacterError(f"{field}: {message}", fields={field: [message]})


def strings_check(data: Any) -> None:
    """Refuses any key or string, at any depth of ``data`` (parsed JSON, lists, dicts), that
    holds a refused character. Iterative, and linear in the size of ``data``: a deep value
    cannot exhaust the stack (each value keeps a link to its parent, the path is spelled out
    only for the refusal)."""
    parents: list[tuple[Any, int]] = []  # (key, index of the parent's entry; -1: the top)
    stack: list[tuple[Any, int]] = [(data, -1)]
    while stack:
        value, node = stack.pop()
        if isinstance(value, str):
            if INVALID_CHARACTER.search(value):
                raise invalid_character(_path(parents, node))
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and INVALID_CHARACTER.search(key):
                    raise invalid_character(_path(parents, node))
                parents.append((key, node))
                stack.append((item, len(parents) - 1))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                parents.append((index, node))
                stack.append((item, len(parents) - 1))


def _path(parents: list[tuple[Any, int]], node: int) -> str:
    keys = []
    while node >= 0:
        key, node = parents[node]
        keys.append(str(key))
    return ".".join(reversed(keys))


def fields_check(items: Iterable[tuple[str, list[Any]]]) -> None:
    """The same for the name and values of each field of a form or a query string
    (``QueryDict.lists()``); values that are not text (uploaded files) are skipped."""
    for name, values in items:
        if INVALID_CHARACTER.search(name):
            raise invalid_character()
        for value in values:
            if isinstance(value, str) and INVALID_CHARACTER.search(value):
                raise invalid_character(name)


def depth_check(text: str, limit: int | None = None) -> None:
    """Refuses JSON text nested deeper than ``limit`` (``API_JSON_MAX_DEPTH``), without parsing
    it and without recursion.

    Strings are removed (their brackets do not count), then everything but brackets, and every
    ``{}`` becomes ``[]``; each pass then removes the innermost pairs, so valid JSON nested ``n``
    deep is empty after exactly ``n`` passes, and ``limit + 1`` opening brackets in a row end the
    count at once. Brackets that never pair up are malformed JSON, refused here too (the parser
    would recurse into them before failing), as too deep when there are more than ``limit``.
    Each pass is one ``str.replace`` over what is left, at most ``limit + 1`` of them: a few
    milliseconds for a body of 1 MiB.
    """
    limit = settings.API_JSON_MAX_DEPTH if limit is None else limit
    if "[" not in text and "{" not in text:
        return
    skeleton = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    skeleton = skeleton.replace("{", "[").replace("}", "]")
    in_a_row = "[" * (limit + 1)
    for passes in range(limit + 1):
        if not skeleton:
            return
        if in_a_row in skeleton:
            break
        shorter = skeleton.replace("[]", "")
        if shorter == skeleton:  # nothing pairs up: "]]][[["
            if passes + skeleton.count("[") > limit:
                break
            raise MalformedJsonError()
        skeleton = shorter
    raise TooDeepError(
        _("The JSON body is nested too deeply: at most %(limit)d levels.") % {"limit": limit}
    )


class _NumberError(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _NumberError(name)


def _int(text: str) -> int:
    # Python refuses integers of more than 4,300 digits itself; 64 bits need at most 20.
    if len(text) > 20:  # a sign and 19 digits at most
        raise _NumberError(text)
    value = int(text)
    if not -INT64 <= value < INT64:
        raise _NumberError(text)
    return value


def json_parse(raw: bytes | str, *, encoding: str = "utf-8", limit: int | None = None) -> Any:
    """Parses a JSON body under the rules of this module (see its docstring).

    Raises :class:`TooDeepError`, :class:`MalformedJsonError` (not JSON, not text in
    ``encoding``, NaN, Infinity, an integer beyond 64 bits) or :class:`InvalidCharacterError`,
    all 400s in the
    API's error format.
    """
    utf8: bytes | None = None
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise MalformedJsonError(
                _("The body is not valid %(encoding)s text.") % {"encoding": encoding}
            ) from None
        if encoding.lower() in ("utf-8", "utf8"):
            utf8 = bytes(raw)
    else:
        text = raw
    depth_check(text, limit)
    if utf8 is None:
        utf8 = text.encode("utf-8", "surrogatepass")
    try:
        if _LONG_NUMBER in utf8.translate(_DIGITS):  # an integer may not fit: check each one
            parsed = json.loads(text, parse_constant=_constant, parse_int=_int)
        else:  # Python's own number parsing, at full speed
            parsed = json.loads(text, parse_constant=_constant)
    except _NumberError:
        raise MalformedJsonError(
            _("The JSON body holds NaN, Infinity or an integer beyond 64 bits.")
        ) from None
    except json.JSONDecodeError as error:
        raise MalformedJsonError(
            _("The body is not valid JSON (line %(line)d, column %(column)d).")
            % {"line": error.lineno, "column": error.colno}
        ) from None
    except (ValueError, RecursionError):  # pragma: no cover - the checks above come first
        raise MalformedJsonError() from None
    if INVALID_CHARACTER.search(text) or _SUSPICIOUS_ESCAPE.search(text):
        strings_check(parsed)
    return parsed
