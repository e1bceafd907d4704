"""Hostile requests to a real Daphne with ``DEBUG`` on, as ``make run`` serves the API.

Some answers only exist behind a real server: Twisted parsed multipart bodies itself and
answered a bare 400 (``/healthz`` included); Daphne answers raw bytes outside ASCII in a path
and control characters in a header with its own page; Django's ``APPEND_SLASH`` raised for a POST
with ``DEBUG`` on. Every answer here must be under 500 (but the one that tests it), JSON in the
error format and carry ``Content-Language``. The requests are written byte by byte on a socket,
so that nothing between the test and the server tidies them up.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.accounts.factories import UserFactory, access_token_for
from tests.harness import Daphne, app_env, django_database_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker) -> Iterator[Daphne]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = {
        "DEBUG": "1",
        # Rate limits out of reach, counted under a key prefix of our own.
        "CACHE_KEY_PREFIX": f"hostile-{os.getpid()}",
        **{f"THROTTLE_{scope}": "" for scope in ("LOGIN", "LOGIN_ACCOUNT", "REGISTER")},
    }
    with django_db_blocker.unblock():
        daphne = Daphne(
            app_env(database_url=django_database_url(), redis_url=redis_url, **env)
        ).start()
    yield daphne
    daphne.remove()


def raw(
    server: Daphne,
    method: str,
    target: bytes,
    *,
    body: bytes = b"",
    content_type: bytes | None = None,
    language: bytes = b"en",
    headers: list[bytes] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One HTTP/1.1 request as raw bytes; the status, headers and JSON body of the answer."""
    lines = [
        method.encode() + b" " + target + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Connection: close",
        b"Accept-Language: " + language,
        b"Content-Length: " + str(len(body)).encode(),
        *(headers or []),
    ]
    if content_type is not None:
        lines.append(b"Content-Type: " + content_type)
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _sep, content = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {}
    for line in header_lines:
        name, _colon, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    if found.get("transfer-encoding") == "chunked":
        content = _unchunk(content)
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = content
    return int(status_line.split()[1]), found, parsed


def _unchunk(content: bytes) -> bytes:
    out = b""
    while content:
        size, _sep, rest = content.partition(b"\r\n")
        length = int(size, 16)
        if length == 0:
            break
        out += rest[:length]
        content = rest[length + 2 :]
    return out


def assert_error(answer: tuple[int, dict[str, str], Any], status: int, code: str, language="en"):
    got, headers, body = answer
    assert got == status, answer
    assert headers["content-type"] == "application/json", answer
    assert headers.get("content-language") == language, answer
    assert isinstance(body, dict) and body["code"] == code, answer
    assert isinstance(body["detail"], str) and isinstance(body["fields"], dict), answer


def test_the_server_runs_with_debug_on(server):
    # A technical 404 page would be HTML: the error format says the server is the one we want.
    status, _headers, body = raw(server, "GET", b"/api/v1/no-such-thing")
    assert status == 404 and body["code"] == "not_found"
    assert server.env["DEBUG"] == "1"


@pytest.mark.parametrize("path", [b"/api/v1/auth/token", b"/api/v1/auth/register"])
def test_a_body_nested_a_thousand_levels(server, path):
    for deep in (b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000):
        answer = raw(server, "POST", path, body=deep, content_type=b"application/json")
        assert_error(answer, 400, "too_deep")


def test_a_nul_in_a_query_parameter_and_in_the_path(server):
    assert_error(raw(server, "GET", b"/api/v1/wanted/?status=%00"), 400, "invalid_character")
    assert_error(raw(server, "GET", b"/api/v1/items/%00"), 400, "invalid_character")
    answer = raw(server, "GET", b"/api/v1/moderation/reports?status=%00", language=b"fr")
    assert_error(answer, 400, "invalid_character", "fr")


def test_headers_that_daphne_itself_refuses(server):
    # Daphne refuses a few control characters in header values (RFC 9110) with its own page.
    answer = raw(server, "GET", b"/api/v1/me", headers=[b"X-Note: a\x0bb"], language=b"fr")
    assert_error(answer, 400, "invalid_character", "fr")
    answer = raw(server, "GET", b"/healthz", headers=[b"X-Note: a\x1cb"])
    assert_error(answer, 400, "invalid_character")


def test_bytes_outside_ascii_in_the_request_line(server):
    # Twisted refuses them while reading the request line, before any path is known: a bare
    # 400, the one answer that is not in the error format (docs/security.md).
    for target in (b"/api/v1/items/\xff", b"/api/v1/items/?q=\xff"):
        status, _headers, body = raw(server, "GET", target)
        assert (status, body) == (400, None)


@pytest.mark.parametrize("path", [b"/healthz", b"/readyz", b"/api/v1/auth/token"])
def test_an_empty_or_broken_multipart_body(server, path):
    # The probes take GET only; the token takes JSON only (and an empty body has no type).
    probe = b"api" not in path
    for body in (b"x", b"--x--\r\n", b""):
        answer = raw(server, "POST", path, body=body, content_type=b"multipart/form-data")
        if probe:
            assert_error(answer, 405, "method_not_allowed")
        elif body:
            assert_error(answer, 415, "unsupported_media_type")
        else:  # no body at all: the fields are missing
            assert_error(answer, 400, "invalid")


def test_a_broken_multipart_body_where_multipart_is_parsed(server):

    user = UserFactory(email="hostile@example.org", password="a-long-passphrase-42")
    bearer = b"Authorization: Bearer " + access_token_for(user).encode()
    path = b"/api/v1/items/1/photos"
    for body, content_type, code in [
        (b"x", b"multipart/form-data", "parse_error"),
        (b"x", b"multipart/form-data; boundary=v", "invalid"),  # no part: no image
        (b"--v--\r\n", b"multipart/form-data; boundary=v", "invalid"),
        (
            b'--v\r\nContent-Disposition: form-data; name="note"\r\n\r\na\x00b\r\n--v--\r\n',
            b"multipart/form-data; boundary=v",
            "invalid_character",
        ),
    ]:
        answer = raw(server, "POST", path, body=body, content_type=content_type, headers=[bearer])
        assert_error(answer, 400, code)
    # Without a token, authentication comes first.
    answer = raw(server, "POST", path, body=b"x", content_type=b"multipart/form-data")
    assert_error(answer, 401, "not_authenticated")


def test_the_probes_answer_json(server):
    status, headers, body = raw(server, "GET", b"/healthz")
    assert (status, body) == (200, {"status": "ok"})
    assert headers["content-language"] == "en"
    assert_error(raw(server, "GET", b"/healthz/"), 404, "not_found")
    assert_error(raw(server, "DELETE", b"/readyz"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("slashed", "bare"),
    [
        (b"/api/v1/items/", b"/api/v1/items"),
        (b"/api/v1/loans/", b"/api/v1/loans"),
        (b"/api/v1/wanted/", b"/api/v1/wanted"),
        (b"/api/v1/ratings/", b"/api/v1/ratings"),
        (b"/api/v1/reports/", b"/api/v1/reports"),
        (b"/api/v1/auth/token/", b"/api/v1/auth/token"),
    ],
)
def test_post_with_and_without_the_trailing_slash(server, slashed, bare):
    body = b'{"email": "nobody@example.org", "password": "not-the-password"}'
    answers = [
        raw(server, "POST", path, body=body, content_type=b"application/json")
        for path in (slashed, bare)
    ]
    assert answers[0][0] == answers[1][0] < 500, answers
    assert answers[0][2]["code"] == answers[1][2]["code"], answers


def test_malformed_ids_and_unknown_paths(server):
    for path in (b"/api/v1/items/null,null", b"/api/v1/loans/-1", b"/api/v1/nope", b"/api/x"):
        assert_error(raw(server, "GET", path), 404, "not_found")


@pytest.mark.parametrize(("language", "start"), [(b"en", "The request"), (b"fr", "Le corps")])
def test_the_413_is_in_the_language_asked(server, language, start):
    body = b"x" * (1024 * 1024 + 1)
    answer = raw(
        server,
        "POST",
        b"/api/v1/auth/token",
        body=body,
        content_type=b"application/json",
        language=language,
    )
    assert_error(answer, 413, "too_large", language.decode())
    assert answer[2]["detail"].startswith(start)
