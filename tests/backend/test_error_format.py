"""Every answer under /api/ and from the probes is JSON, in the error format when it is an error,
in the request's language and saying it (``Content-Language``), with ``DEBUG`` off and on; API
paths answer the same with or without their trailing slash (backend/error_handlers.py,
backend/paths.py, backend/security.py, backend/handler.py)."""

from __future__ import annotations

import json

import psycopg
import pytest
from asgiref.sync import async_to_sync
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from backend import database
from backend.error_handlers import ErrorFormatMiddleware
from backend.handler import DjangoHandler
from tests.backend.test_database_circuit import Scripted, wrapped

pytestmark = pytest.mark.django_db

DEBUG = pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])


def client(language: str = "en") -> Client:
    return Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)


def assert_error(response, status: int, code: str, language: str = "en") -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    assert response["Content-Language"] == language
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and isinstance(body["fields"], dict)
    return body


# --- JSON for every error under /api/ and from the probes -----------------------------------------


@DEBUG
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope",
        "/api/v1/items/null,null",
        "/api/v1/items/1/nope",
        "/api/v1/loans/-1",
        "/api/nope",
        "/api/v1/items/1//",
        "/healthz/",
    ],
)
def test_unknown_paths_and_malformed_ids(settings, debug, path):
    settings.DEBUG = debug
    assert_error(client().get(path), 404, "not_found")


@DEBUG
def test_the_probes(settings, debug):
    settings.DEBUG = debug
    response = client("fr").get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Content-Language"] == "fr"
    for method in ("post", "put", "delete"):
        for path in ("/healthz", "/readyz"):
            response = getattr(client(), method)(path, b"x", content_type="multipart/form-data")
            body = assert_error(response, 405, "method_not_allowed")
            assert response["Allow"] == "GET"
            assert body["detail"] == f'Method "{method.upper()}" not allowed.'


def _html(status: int):
    def view(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("<html>nope</html>", status=status)
        response["Retry-After"] = "3"
        response.set_cookie("kept", "1")
        return response

    return view


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "invalid"),
        (401, "not_authenticated"),
        (403, "forbidden"),
        (404, "not_found"),
        (413, "too_large"),
        (415, "unsupported_media_type"),
        (418, "im_a_teapot"),
        (500, "server_error"),
        (503, "unavailable"),
    ],
)
def test_an_html_error_under_the_api_is_rewritten(rf, status, code):
    response = ErrorFormatMiddleware(_html(status))(rf.get("/api/v1/anything"))
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "3" and response.cookies["kept"].value == "1"
    assert json.loads(response.content)["code"] == code


def test_other_answers_are_left_as_they_are(rf):
    page = ErrorFormatMiddleware(_html(404))(rf.get("/admin/nope"))
    assert page["Content-Type"].startswith("text/html")
    ok = ErrorFormatMiddleware(lambda request: HttpResponse("<html>", status=200))
    assert ok(rf.get("/api/docs/"))["Content-Type"].startswith("text/html")
    server_error = ErrorFormatMiddleware(lambda request: HttpResponseServerError("boom"))
    assert json.loads(server_error(rf.get("/api/v1/x")).content)["code"] == "server_error"


# --- the language of every answer ------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_answers_made_before_the_view_are_in_the_language_asked(settings, language):
    settings.REQUEST_MAX_BODY_BYTES = 100
    too_large = client(language).post(
        "/api/v1/auth/token", "x" * 200, content_type="application/json"
    )
    body = assert_error(too_large, 413, "too_large", language)
    assert (
        body["detail"]
        == {
            "en": "The request body is too large.",
            "fr": "Le corps de la requête est trop volumineux.",
        }[language]
    )
    nul = client(language).get("/api/v1/wanted/?status=%00")
    body = assert_error(nul, 400, "invalid_character", language)
    assert body["fields"] == {"status": [body["detail"].removeprefix("status: ")]}
    path = client(language).get("/api/v1/items/%00")
    assert_error(path, 400, "invalid_character", language)
    settings.REQUEST_MAX_BODY_BYTES = 1024 * 1024
    deep = client(language).post(
        "/api/v1/auth/token", "[" * 1000 + "]" * 1000, content_type="application/json"
    )
    body = assert_error(deep, 400, "too_deep", language)
    assert (
        body["detail"]
        == {
            "en": "The JSON body is nested too deeply: at most 32 levels.",
            "fr": "Le corps JSON est imbriqué trop profondément : 32 niveaux au plus.",
        }[language]
    )


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_database_outage_is_in_the_language_asked(settings, monkeypatch, user, language):
    settings.DB_PROBE_INTERVAL = 3600
    circuit = Scripted([False])
    monkeypatch.setattr(database, "circuit", circuit)
    circuit.report(wrapped(psycopg.OperationalError("connection refused")))
    api = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    api.force_authenticate(user)
    body = assert_error(api.get("/api/v1/me"), 503, "database_unavailable", language)
    assert ("indisponible" in body["detail"]) is (language == "fr")


def test_successful_answers_say_their_language_too(auth_client):
    response = auth_client.get("/api/v1/me")
    assert response.status_code == 200 and response["Content-Language"] == "en"
    assert client("fr").get("/api/schema/")["Content-Language"] == "fr"


def test_a_request_django_cannot_build_is_answered_in_the_error_format():
    """Under ASGI, a query string that is not UTF-8 fails before any middleware."""
    handler = DjangoHandler()
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/items/",
        "raw_path": b"/api/v1/items/",
        "query_string": b"q=\xff\xfe",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"accept-language", b"fr-FR,fr;q=0.9")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    async_to_sync(handler)(scope, receive, send)
    start = sent[0]
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    assert start["status"] == 400
    assert headers["content-type"] == "application/json"
    assert headers["content-language"] == "fr"
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert b'"code": "invalid"' in body


# --- trailing slashes ------------------------------------------------------------------------------


@DEBUG
def test_api_paths_answer_with_and_without_their_trailing_slash(settings, auth_client, debug):
    settings.DEBUG = debug
    for one, other in [("/api/v1/me", "/api/v1/me/"), ("/api/v1/items/", "/api/v1/items")]:
        first, second = auth_client.get(one), auth_client.get(other)
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json()
    # A POST to the form without the slash is served as it is: no redirect, no RuntimeError.
    for path in ("/api/v1/items", "/api/v1/wanted", "/api/v1/auth/token/"):
        response = client().post(path, {}, content_type="application/json")
        assert response.status_code in (400, 401), (path, response.content[:200])
        assert response["Content-Type"] == "application/json"


@DEBUG
def test_the_admin_keeps_its_redirect_and_never_fails_on_a_post(settings, debug):
    settings.DEBUG = debug
    response = client().get("/admin")
    assert response.status_code == 301 and response["Location"] == "/admin/"
    # A POST without the slash: the admin's own catch-all answers (to the login page).
    response = client().post("/admin/login", {"username": "x", "password": "y"})
    assert response.status_code == 302


# --- the admin's query strings ----------------------------------------------------------------------


def _changelists() -> list[str]:
    return [
        f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        for model in admin.site._registry
    ]


@pytest.mark.parametrize("name", _changelists())
def test_a_nul_in_an_admin_search_is_refused(name, django_user_model):
    superuser = django_user_model.objects.create_superuser("root@example.org", "pass-phrase-42")
    browser = client()
    browser.force_login(superuser)
    url = reverse(name)
    assert_error(browser.get(url + "?q=%00"), 400, "invalid_character")
    assert browser.get(url + "?q=%E2%80%AEx").status_code == 200  # a right-to-left override
