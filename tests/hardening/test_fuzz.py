"""Fuzzing of the whole OpenAPI schema (schemathesis), as a resident, a courier and staff.

Every operation of /api/schema/ is sent generated requests, valid and invalid (schemathesis'
coverage phase: boundary values, wrong types, missing fields, NUL bytes, huge numbers; then
random ones), in process to the real WSGI application over the real database, seeded with the
demo (residents, items, loans, wanted requests, orders, a planned batch and its rounds). Path
parameters are drawn partly from the ids of real objects, so requests reach real rows too, and
the merchant webhook's generated bodies are signed with a real merchant key.

Each operation is fuzzed in depth as the actor it is made for (a courier for /courier/, staff
for /pooling/ and /moderation/, a resident elsewhere), and with a few random requests as each of
the two others. Each answer must not be a server error and must match the schema: a documented
status code, and the documented content type, headers and body.

Then each operation gets hostile input that no schema describes (``test_hostile_input``): the
strings of ``HOSTILE`` (NUL, control characters, unpaired surrogates, U+FFFE/U+FFFF, a
right-to-left override, a 1 MB string) in a query parameter and in a body field, numbers that
overflow, a body nested a thousand levels deep, and its body under the wrong ``Content-Type``. Besides the checks above,
a refused character must be a 400 ``invalid_character``, a deep body a 400 ``too_deep`` and the
wrong type a 415, unless the request is refused before its body is read (401, 403, 404, 409).
"""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.wsgi import application
from pooling.webhooks import signature_of
from tests.conftest import SHARES_THE_REPLICAS_WORKER
from tests.hardening.world import natural_actor, raw_schema, real_path_parameters

# On one pytest-xdist worker: the module's world is built once, in one transaction held across
# the module (on the replica tests' worker: tests/conftest.py).
pytestmark = [
    pytest.mark.fuzz,
    SHARES_THE_REPLICAS_WORKER,
    pytest.mark.django_db,
    pytest.mark.usefixtures("in_process_app"),
]

# Random requests per operation: as its own actor, then as each of the two others.
EXAMPLES = 6
OTHER_EXAMPLES = 2
# Generated requests per operation that are then spoiled in every way of test_hostile_input.
HOSTILE_EXAMPLES = 1
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _schema(*, coverage: bool, examples: int) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": examples,
                "deterministic": True,
                "database": "none",
                "allow-x00": True,
                "no-shrink": True,
            },
            "phases": {
                "examples": {"enabled": coverage},
                "coverage": {"enabled": coverage, "unexpected-methods": []},
                "stateful": {"enabled": False},
            },
        }
    )
    schema = schemathesis.openapi.from_dict(raw_schema(), config=config)
    schema.app = application

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        return real_path_parameters(context.operation, path_parameters)

    return schema


in_depth = _schema(coverage=True, examples=EXAMPLES)
lightly = _schema(coverage=False, examples=OTHER_EXAMPLES)
hostile = _schema(coverage=False, examples=HOSTILE_EXAMPLES)
SETTINGS = hypothesis_settings(deadline=None, suppress_health_check=list(HealthCheck))


WEBHOOK = "/api/v1/merchant/orders"
_keys = itertools.count(1)


def _signed(case, merchant: tuple[str, str]) -> dict[str, Any]:
    """A merchant webhook as its merchant sends it: the generated body, signed with a real key
    (so that the body's validation and the order's creation are fuzzed, not only the refusal)."""
    api_key, secret = merchant
    n = next(_keys)
    body = case.body
    if isinstance(body, dict) and "resident_email" in body and n % 2:
        body = {**body, "resident_email": "camille@demo.voisinage.fr"}  # a real resident
    if isinstance(body, NotSet):
        raw = b""
    elif isinstance(body, bytes | bytearray):
        raw = bytes(body)  # a generated body that is not JSON at all
    else:
        raw = json.dumps(body).encode()
    headers = {
        "X-Api-Key": api_key,
        "X-Signature": signature_of(secret, raw),
        "Idempotency-Key": f"fuzz-{n}",
    }
    return {"headers": headers, "data": raw}


@in_depth.parametrize()
@SETTINGS
def test_as_the_actor_it_is_made_for(case, actor_headers, fuzz_world):
    headers = actor_headers[natural_actor(case.operation.path)]
    if case.method.upper() == "POST" and not any(
        name.lower() == "idempotency-key" for name in (case.headers or {})
    ):
        # Every signed-in POST takes one (accounts/idempotency.py): when schemathesis did not
        # draw the optional header, a fresh key goes along, so retries' path is fuzzed too.
        headers = {**headers, "Idempotency-Key": f"fuzz-{uuid.uuid4()}"}
    if case.operation.path == WEBHOOK:
        signed = _signed(case, fuzz_world.merchant)
        case.call_and_validate(
            headers={**headers, **signed["headers"]}, data=signed["data"], checks=CHECKS
        )
        return
    case.call_and_validate(headers=headers, checks=CHECKS)


@lightly.parametrize()
@SETTINGS
def test_as_the_other_actors(case, actor_headers):
    natural = natural_actor(case.operation.path)
    for actor, headers in actor_headers.items():
        if actor != natural:
            case.call_and_validate(headers=headers, checks=CHECKS)


# --- hostile input --------------------------------------------------------------------------------

# (string, whether the API refuses it, whether a URL can carry it). Unpaired surrogates have no
# UTF-8 bytes: they are sent in bodies only, as JSON escapes.
HOSTILE = [
    ("\x00", True, True),
    ("a\x00b", True, True),
    ("\x01\x1b[31m\x1f", True, True),
    ("\ud800", True, False),
    ("x\udfffy", True, False),
    ("\ufffe", True, True),
    ("\uffff", True, True),
    ("\u202egnp.exe", False, True),  # a right-to-left override: text, shown as the apps decide
    ("\x7f\x85\u200b", False, True),  # DEL, a C1 control, a zero-width space: text as well
    ("x" * 1_000_000, False, True),
]
DEEP = ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000]
# Numbers as written in JSON: floats that overflow to infinity (each field must refuse them, or
# keep them without a 5xx) and an integer beyond 64 bits (refused while parsing).
HUGE_NUMBERS = [("1e999", False), ("-1e999", False), (str(10**30), True)]
WRONG_TYPES = ["text/plain", "application/xml"]
BEFORE_THE_BODY = {401, 403, 404, 409, 429}


def _with_string(body: Any, value: str) -> Any:
    """``body`` with its first string field (or a new field) set to ``value``."""
    if not isinstance(body, dict):
        return {"note": value}
    for key, current in body.items():
        if isinstance(current, str):
            return {**body, key: value}
    return {**body, "note": value}


def _with_number(body: Any, literal: str) -> str | None:
    """``body`` as JSON with its first number written as ``literal`` (None: it has none)."""
    if not isinstance(body, dict):
        return None
    for key, current in body.items():
        if isinstance(current, int | float) and not isinstance(current, bool):
            return json.dumps({**body, key: "__number__"}).replace('"__number__"', literal)
    return None


def _send(case, headers, merchant, *, data=None, content_type=None, params=None):
    """One spoiled request of ``case``, checked against the schema like every other."""
    extra = dict(headers)
    kwargs: dict[str, Any] = {}
    if data is not None:
        raw = data.encode() if isinstance(data, str) else data
        extra["Content-Type"] = content_type or "application/json"
        if case.operation.path == WEBHOOK:
            extra.update(_signed(case, merchant)["headers"])
            extra["X-Signature"] = signature_of(merchant[1], raw)
        kwargs["data"] = raw
    response = case.call(headers=extra, params=params, **kwargs)
    case.validate_response(response, checks=CHECKS)
    return response


def _problem(response, status: int, code: str, *, always: bool = False) -> str | None:
    """What is wrong with ``response`` if it is not ``status`` with ``code`` (a refusal that
    comes before the body is read is fine, unless ``always``)."""
    if response.status_code in BEFORE_THE_BODY and not always:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if response.status_code == status and isinstance(body, dict) and body.get("code") == code:
        return None
    return f"expected {status} {code}: {response.status_code} {response.content[:160]!r}"


@hostile.parametrize()
@SETTINGS
def test_hostile_input(case, actor_headers, fuzz_world):
    headers = actor_headers[natural_actor(case.operation.path)]
    merchant = fuzz_world.merchant
    wrong = []
    name = next(iter(case.query), "q")
    for value, refused, in_url in HOSTILE:
        if in_url:
            response = _send(case, headers, merchant, params={name: value})
            # Refused before authentication, whoever asks.
            if refused and (problem := _problem(response, 400, "invalid_character", always=True)):
                wrong.append(f"query {value[:20]!r}: {problem}")
    body = None if isinstance(case.body, NotSet) else case.body
    takes_json = case.media_type == "application/json"
    if takes_json:
        for value, refused, _in_url in HOSTILE:
            response = _send(case, headers, merchant, data=json.dumps(_with_string(body, value)))
            if refused and (problem := _problem(response, 400, "invalid_character")):
                wrong.append(f"body {value[:20]!r}: {problem}")
        for deep in DEEP:
            response = _send(case, headers, merchant, data=deep)
            if problem := _problem(response, 400, "too_deep"):
                wrong.append(f"deep body: {problem}")
        for literal, refused in HUGE_NUMBERS:
            raw = _with_number(body, literal)
            if raw is not None:
                response = _send(case, headers, merchant, data=raw)
                if refused and (problem := _problem(response, 400, "parse_error")):
                    wrong.append(f"number {literal}: {problem}")
    if case.media_type is not None and case.operation.path != WEBHOOK:
        raw = json.dumps(body) if takes_json else "x"
        for content_type in WRONG_TYPES:
            response = _send(case, headers, merchant, data=raw, content_type=content_type)
            if problem := _problem(response, 415, "unsupported_media_type"):
                wrong.append(f"{content_type}: {problem}")
    assert not wrong, "\n".join(wrong)
