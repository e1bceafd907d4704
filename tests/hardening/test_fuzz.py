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
"""

from __future__ import annotations

import itertools
import json
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
from tests.hardening.world import natural_actor, raw_schema, real_path_parameters

# On one pytest-xdist worker: the module's world is built once.
pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.xdist_group("fuzz"),
    pytest.mark.django_db,
    pytest.mark.usefixtures("in_process_app"),
]

# Random requests per operation: as its own actor, then as each of the two others.
EXAMPLES = 6
OTHER_EXAMPLES = 2
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
