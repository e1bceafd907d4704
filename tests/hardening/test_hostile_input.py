"""Hostile input on every route of the URL configuration: no answer is a 500.

The routes come from the resolver (every method of every view outside the admin, the action
routes expanded, as tests/hardening/test_authz_matrix.py does), each called as the actor its
authorization entry names (``MATRIX``), with its real ids and its valid body, over the same
seeded world, then spoiled one way at a time:

- ``nul_query``: a NUL in a query parameter's value and name;
- ``nul_path``: a NUL as a path segment (an id, or after the last segment);
- ``deep_json``: a JSON body nested a thousand levels deep, arrays and objects;
- ``empty_multipart``: a multipart body, empty, then with no boundary at all;
- ``wrong_content_type``: the valid body, sent as ``text/plain`` and as XML;
- ``trailing_slash``: the route with its trailing slash added or removed;
- ``malformed_id``: ids that are not ids (``null,null``, ``-1``, ``1.5``, 20 digits...).

Each request is sent with ``DEBUG`` off (in English) and on (in French, as ``make run``). Every
answer must be under 500, carry ``Content-Language`` (the language asked), and, when it is an
error, be JSON in the error format with a ``code``; a refused write must leave the row counts of
the main tables, and every table's writes in the transaction, unchanged. What each class must
answer exactly (400 ``invalid_character``, 400 ``too_deep``, 415, the same answer with and
without the slash) is asserted too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from backend.parsers import FormParser, JSONParser, MultiPartParser
from pooling.webhooks import signature_of
from tests.accounts.factories import access_token_for
from tests.conftest import SHARES_THE_REPLICAS_WORKER
from tests.hardening import test_authz_matrix as authz
from tests.hardening.test_authz_matrix import (
    ACTION_VALUES,
    MATRIX,
    Entry,
    World,
    api_endpoints,
    entry_key,
)
from tests.hardening.world import ensure_street_graph

# On one pytest-xdist worker: the module's world is built once, in one transaction held across
# the module (on the replica tests' worker: tests/conftest.py).
pytestmark = [SHARES_THE_REPLICAS_WORKER, pytest.mark.django_db]

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
WEBHOOK = "/api/v1/merchant/orders"
# The tables whose rows a refused request must leave as they were.
MAIN_TABLES = [
    "accounts.User",
    "neighbourhoods.Membership",
    "sharing.Item",
    "sharing.ItemPhoto",
    "sharing.BlockedPeriod",
    "sharing.Loan",
    "sharing.WantedRequest",
    "sharing.Offer",
    "sharing.Conversation",
    "sharing.Message",
    "sharing.Rating",
    "sharing.Report",
    "notifications.Device",
    "notifications.Event",
    "pooling.Order",
    "pooling.Batch",
    "pooling.Route",
    "pooling.Stop",
]
DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
MALFORMED_IDS = ["null,null", "-1", "1.5", "abc", "%20", "0x1f", "99999999999999999999", "0"]


# --- the routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    route: str  # as the resolver has it, an action expanded: "api/v1/loans/<int:pk>/accept"
    method: str
    entry: Entry | None  # its authorization entry (actor, ids, body), for /api/v1/ routes

    @property
    def label(self) -> str:
        return f"{self.method} /{self.route}"


def _methods(callback: Any) -> list[str]:
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view is None:  # a function view (the probes): its method, and one it refuses
        return ["GET", "POST"]
    return [
        m.upper()
        for m in view.http_method_names
        if m not in ("head", "options", "trace") and hasattr(view, m)
    ]


def routes() -> list[tuple[str, str]]:
    """(route, METHOD) for every view of the URL configuration but the admin's."""
    found: list[tuple[str, str]] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern) != "admin/":
                    walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            assert isinstance(pattern, URLPattern)
            route = prefix + str(pattern.pattern)
            expanded = [route]
            if "<str:action>" in route:
                expanded = [route.replace("<str:action>", a) for a in ACTION_VALUES[route]]
            found.extend((r, m) for r in expanded for m in _methods(pattern.callback))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


_ENTRIES = {entry_key(entry): entry for entry in MATRIX}
TARGETS = [Target(route, method, _ENTRIES.get((route, method))) for route, method in routes()]
WRITE_TARGETS = [t for t in TARGETS if t.method in WRITES]


def test_every_api_route_is_a_target_with_its_entry():
    targets = {(t.route, t.method) for t in TARGETS}
    assert api_endpoints() <= targets
    assert all(t.entry is not None for t in TARGETS if t.route.startswith("api/v1/"))
    assert {"healthz", "readyz", "api/schema/", "api/docs/"} <= {t.route for t in TARGETS}


# --- calling a target ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The authorization matrix's world (its entries name its users and ids), seeded once for
    this module in a transaction rolled back at its end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            ensure_street_graph()
            with override_settings(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                PUSH_ENABLED=False,
            ):
                yield authz._build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@dataclass
class Call:
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    multipart: bool

    @property
    def data(self) -> bytes | str | None:
        """The valid body as sent (JSON, or DRF's own multipart encoding)."""
        if self.body is None:
            return None
        if self.multipart:
            return APIClient()._encode_data(self.body, "multipart")[0]
        return json.dumps(self.body)

    @property
    def content_type(self) -> str | None:
        if self.body is None:
            return None
        if self.multipart:
            return APIClient()._encode_data(self.body, "multipart")[1]
        return "application/json"


def _call(target: Target, world: World) -> Call:
    """The target's request as its entry makes it (or a GET of the route with ids 1)."""
    entry = target.entry
    if entry is None:
        path = "/" + re.sub(r"<[^>]+>", "1", target.route)
        return Call(path, "", {}, None, False)
    headers: dict[str, str] = {}
    if entry.owner:
        user = world.users[entry.owner]
        headers["HTTP_AUTHORIZATION"] = f"Bearer {access_token_for(user)}"
    path, _sep, query = entry.path.format(**world.ids).partition("?")
    body = entry.body(world) if callable(entry.body) else entry.body
    return Call(path, query, headers, body, entry.multipart)


def _counts() -> tuple[int, ...]:
    tables = [apps.get_model(label)._meta.db_table for label in MAIN_TABLES]
    sql = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        counts = tuple(cursor.fetchone())
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
            "FROM pg_stat_xact_user_tables"
        )
        return (*counts, int(cursor.fetchone()[0]))


@dataclass
class Answer:
    status: int
    content_type: str
    language: str | None
    body: Any
    unchanged: bool
    raw: bytes

    def __str__(self) -> str:
        return f"{self.status} {self.content_type} {self.raw[:200]!r}"


LANGUAGES = {False: "en", True: "fr"}


def send(
    world: World,
    target: Target,
    *,
    debug: bool,
    path: str,
    query: str = "",
    headers: dict[str, str] | None = None,
    data: bytes | str | None = None,
    content_type: str | None = None,
) -> Answer:
    """One request, in its own savepoint (rolled back), with DEBUG as asked."""
    client = Client(raise_request_exception=False)
    extra = {"HTTP_ACCEPT_LANGUAGE": LANGUAGES[debug], **(headers or {})}
    if path.rstrip("/") == WEBHOOK and data is not None:
        raw = data.encode() if isinstance(data, str) else data
        api_key, secret = world.extra["merchant"].api_key, world.extra["merchant"].signing_secret
        extra |= {
            "HTTP_X_API_KEY": api_key,
            "HTTP_X_SIGNATURE": signature_of(secret, raw),
            "HTTP_IDEMPOTENCY_KEY": "hostile-1",
        }
    url = path + ("?" + query if query else "")
    with override_settings(DEBUG=debug), transaction.atomic():
        if target.entry is not None and target.entry.prepare is not None:
            target.entry.prepare(world)
        before = _counts()
        kwargs: dict[str, Any] = dict(extra)
        if data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = content_type or "application/json"
        elif content_type is not None:
            kwargs["content_type"] = content_type
        response = client.generic(target.method, url, **kwargs)
        unchanged = _counts() == before
        transaction.set_rollback(True)
    content_type_ = str(response.get("Content-Type", ""))
    body = None
    if content_type_.startswith("application/json"):
        body = json.loads(response.content or b"null")
    return Answer(
        response.status_code,
        content_type_,
        response.get("Content-Language"),
        body,
        unchanged,
        response.content,
    )


def well_formed(answer: Answer, target: Target, debug: bool) -> list[str]:
    """What every answer must be, whatever was sent."""
    wrong = []
    if answer.status >= 500:
        wrong.append("a server error")
    if answer.language != LANGUAGES[debug]:
        wrong.append(f"Content-Language {answer.language!r}")
    if answer.status >= 400:
        body = answer.body
        if not (
            isinstance(body, dict)
            and isinstance(body.get("code"), str)
            and body["code"]
            and isinstance(body.get("detail"), str)
            and isinstance(body.get("fields"), dict)
        ):
            wrong.append("not the error format")
        if target.method in WRITES and not answer.unchanged:
            wrong.append("refused, but the database changed")
    return [f"DEBUG={'on' if debug else 'off'}: {w}: {answer}" for w in wrong]


def expect(answer: Answer, debug: bool, status: int, code: str | None = None) -> list[str]:
    code_seen = answer.body.get("code") if isinstance(answer.body, dict) else None
    if answer.status == status and (code is None or code_seen == code):
        return []
    return [f"DEBUG={'on' if debug else 'off'}: expected {status} {code or ''}: {answer}"]


def both(check: Any) -> None:
    """Runs ``check(debug)`` with DEBUG off and on; fails with everything either found."""
    wrong = [line for debug in (False, True) for line in check(debug)]
    assert not wrong, "\n".join(wrong)


# --- the classes of hostile input -----------------------------------------------------------------


def _label(target: Target) -> str:
    return target.label


@pytest.mark.parametrize("target", TARGETS, ids=_label)
def test_nul_in_a_query_parameter(target, world):
    call = _call(target, world)

    def check(debug: bool) -> list[str]:
        wrong = []
        for query in ("status=%00", "q=a%00b&x=1", "na%00me=1", "ok=%01%1F"):
            answer = send(
                world,
                target,
                debug=debug,
                path=call.path,
                query="&".join(filter(None, [call.query, query])),
                headers=call.headers,
                data=call.data,
                content_type=call.content_type,
            )
            wrong += well_formed(answer, target, debug)
            wrong += expect(answer, debug, 400, "invalid_character")
        return wrong

    both(check)


@pytest.mark.parametrize("target", TARGETS, ids=_label)
def test_nul_as_a_path_segment(target, world):
    call = _call(target, world)
    segments = call.path.rstrip("/").split("/")
    if re.search(r"<[^>]+>$", target.route.rstrip("/")):
        spoiled = [*segments[:-1], "%00"]  # the last id
    else:
        spoiled = [*segments, "%00"]
    paths = ["/".join(spoiled), call.path.rstrip("/") + "%00", call.path + "%ED%A0%80"]

    def check(debug: bool) -> list[str]:
        wrong = []
        for index, path in enumerate(paths):
            answer = send(world, target, debug=debug, path=path, headers=call.headers)
            wrong += well_formed(answer, target, debug)
            if index < 2:
                wrong += expect(answer, debug, 400, "invalid_character")
            elif answer.status not in (400, 404):  # invalid UTF-8: kept percent-encoded
                wrong.append(f"DEBUG={debug}: {path}: {answer}")
        return wrong

    both(check)


def request_types(target: Target) -> set[str]:
    """The media types the operation's body is documented in (none: it reads no body)."""
    from tests.hardening.world import raw_schema

    if not _SCHEMA_BODIES:
        for path, items in raw_schema()["paths"].items():
            for method, operation in items.items():
                content = operation.get("requestBody", {}).get("content", {})
                _SCHEMA_BODIES[path, method.upper()] = set(content)
    route = target.route
    for template, values in ACTION_VALUES.items():
        if route in [template.replace("<str:action>", action) for action in values]:
            route = template
    path = "/" + re.sub(r"<\w+:(\w+)>", r"{\1}", route)
    return _SCHEMA_BODIES.get((path, target.method), set())


def _reads_json(target: Target) -> bool:
    return "application/json" in request_types(target)


_SCHEMA_BODIES: dict[tuple[str, str], set[str]] = {}
# Refusals that come before a body is read (authentication, permission, the object, its state).
BEFORE_THE_BODY = (401, 403, 404, 409)


@pytest.mark.parametrize("target", WRITE_TARGETS, ids=_label)
def test_a_body_nested_a_thousand_levels(target, world):
    call = _call(target, world)
    reads = _reads_json(target)

    def check(debug: bool) -> list[str]:
        wrong = []
        for deep in (DEEP_ARRAY, DEEP_OBJECT, "[" * 100_000):
            answer = send(
                world,
                target,
                debug=debug,
                path=call.path,
                query=call.query,
                headers=call.headers,
                data=deep,
            )
            wrong += well_formed(answer, target, debug)
            # (The merchant webhook's own limit, 64 KiB, refuses the longest one first: 413.)
            if reads and answer.status not in (*BEFORE_THE_BODY, 413):
                wrong += expect(answer, debug, 400, "too_deep")
        return wrong

    both(check)


@pytest.mark.parametrize("target", WRITE_TARGETS, ids=_label)
def test_an_empty_or_broken_multipart_body(target, world):
    call = _call(target, world)
    types = request_types(target)

    def check(debug: bool) -> list[str]:
        wrong = []
        for data, content_type in [
            (None, "multipart/form-data; boundary=voisinage"),
            (b"", "multipart/form-data"),
            (b"x", "multipart/form-data"),
            (b"--voisinage--\r\n", "multipart/form-data; boundary=voisinage"),
            (
                b'--v\r\nContent-Disposition: form-data; name="a\x00"\r\n\r\nx\r\n--v--\r\n',
                "multipart/form-data; boundary=v",
            ),
        ]:
            answer = send(
                world,
                target,
                debug=debug,
                path=call.path,
                query=call.query,
                headers=call.headers,
                data=data,
                content_type=content_type,
            )
            wrong += well_formed(answer, target, debug)
            if answer.status in BEFORE_THE_BODY or not data:
                continue
            if target.route in ("healthz", "readyz"):
                wrong += expect(answer, debug, 405, "method_not_allowed")
            elif "multipart/form-data" in types:  # parsed, and refused
                codes = {b"x": "parse_error", b"--voisinage--\r\n": None}  # None: empty form
                wrong += expect(answer, debug, 400, codes.get(data, "invalid_character"))
            elif types and call.path != WEBHOOK:  # a body, but not multipart
                wrong += expect(answer, debug, 415, "unsupported_media_type")
        return wrong

    both(check)


@pytest.mark.parametrize("target", WRITE_TARGETS, ids=_label)
def test_a_wrong_content_type(target, world):
    call = _call(target, world)
    # The merchant webhook reads its raw body, signed, whatever its declared type.
    reads = _reads_json(target) and not call.multipart and call.path != WEBHOOK

    def check(debug: bool) -> list[str]:
        wrong = []
        for content_type in (
            "text/plain",
            "application/xml",
            "application/x-www-form-urlencoded; charset=rot13",
        ):
            answer = send(
                world,
                target,
                debug=debug,
                path=call.path,
                query=call.query,
                headers=call.headers,
                data=call.data or "{}",
                content_type=content_type,
            )
            wrong += well_formed(answer, target, debug)
            if reads and "rot13" not in content_type and answer.status not in (401, 403, 404, 409):
                wrong += expect(answer, debug, 415, "unsupported_media_type")
        return wrong

    both(check)


def _twin(path: str) -> str:
    return path[:-1] if path.endswith("/") else path + "/"


@pytest.mark.parametrize("target", TARGETS, ids=_label)
def test_the_other_form_of_the_trailing_slash(target, world):
    call = _call(target, world)

    def check(debug: bool) -> list[str]:
        data, content_type = call.data, call.content_type
        answers = [
            send(
                world,
                target,
                debug=debug,
                path=path,
                query=call.query,
                headers=call.headers,
                data=data,
                content_type=content_type,
            )
            for path in (call.path, _twin(call.path))
        ]
        wrong = [line for answer in answers for line in well_formed(answer, target, debug)]
        canonical, twin = answers
        if target.route.startswith("api/") and canonical.status != twin.status:
            wrong.append(f"DEBUG={debug}: {canonical.status} with {call.path}, {twin}")
        if not target.route.startswith("api/") and twin.status != 404:
            wrong.append(f"DEBUG={debug}: {_twin(call.path)}: {twin}")
        return wrong

    both(check)


@pytest.mark.parametrize("target", TARGETS, ids=_label)
def test_malformed_ids(target, world):
    call = _call(target, world)
    has_id = "<int:" in target.route
    segments = call.path.rstrip("/").split("/")
    position = len(segments) - 1
    if has_id:  # the position of the route's last id in the path
        route_segments = ("/" + target.route).rstrip("/").split("/")
        position = max(i for i, s in enumerate(route_segments) if s.startswith("<int:"))

    def check(debug: bool) -> list[str]:
        wrong = []
        for bad in MALFORMED_IDS:
            spoiled = list(segments)
            if has_id:
                spoiled[position] = bad
            else:
                spoiled.append(bad)
            answer = send(
                world,
                target,
                debug=debug,
                path="/".join(spoiled),
                query=call.query,
                headers=call.headers,
                data=call.data,
                content_type=call.content_type,
            )
            wrong += well_formed(answer, target, debug)
            if not bad.isdigit():
                wrong += expect(answer, debug, 404, "not_found")
        return wrong

    both(check)


# --- where the rules live -------------------------------------------------------------------------


def test_every_view_parses_bodies_with_the_guarded_parsers():
    """A view that lists its own parsers takes them from backend/parsers.py."""
    guarded = (JSONParser, FormParser, MultiPartParser)
    wrong, checked = [], 0
    for pattern_route, callback in _callbacks():
        view = getattr(callback, "cls", None)
        if view is None or not hasattr(view, "parser_classes"):
            continue
        checked += 1
        for parser in view.parser_classes:
            if not issubclass(parser, guarded):
                wrong.append(f"{pattern_route}: {parser.__module__}.{parser.__name__}")
    assert not wrong
    assert checked >= 50  # every DRF view of the API


def _callbacks() -> list[tuple[str, Any]]:
    found = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                found.append((prefix + str(pattern.pattern), pattern.callback))

    walk(get_resolver().url_patterns, "")
    return found
