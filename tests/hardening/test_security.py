"""Deployment checks, headers, CORS and CSRF for a mobile API, request size limits, page caps."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


# --- manage.py check --deploy -------------------------------------------------------------------


def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        {
            "VOISINAGE_ENV": "production",
            "SECRET_KEY": "k7#Zq9!vR2@pL5^wX8&nB3*mC6(tY1)uE4%hJ0+gD7=sA2-fK9",
            "ALLOWED_HOSTS": "api.voisinage.example",
            "PUBLIC_BASE_URL": "https://api.voisinage.example",
            "CSRF_TRUSTED_ORIGINS": "https://api.voisinage.example",
            "CORS_ALLOWED_ORIGINS": "https://app.voisinage.example",
            "PUSH_ENABLED": "false",
            "STATIC_ROOT": str(tmp_path / "static"),
        }
    )
    return env


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = _production_env(tmp_path)
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# --- headers --------------------------------------------------------------------------------------


def test_api_answers_carry_the_security_headers(auth_client):
    response = auth_client.get("/api/v1/me")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_the_api_docs_need_no_inline_script_nor_any_other_origin(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    csp = page["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" in csp.split("style-src")[1]
    assert "frame-ancestors 'none'" in csp
    html = page.content.decode()
    # Every script is a file served by this server: no inline code, no CDN.
    assert "<script>" not in html
    assert "https://" not in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_admin_pages_get_their_policy_with_the_map_tiles(client, settings):
    page = client.get("/admin/login/")
    assert page.status_code == 200
    csp = page["Content-Security-Policy"]
    # No tile server by default: the maps draw this server's street tiles ('self').
    assert "img-src 'self' data: blob:;" in csp and "connect-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    assert page["X-Frame-Options"] == "DENY"


# --- CORS and CSRF ---------------------------------------------------------------------------------


def test_cors_preflight_from_an_allowed_origin(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.voisinage.example"]
    response = client.options(
        "/api/v1/items/nearby",
        HTTP_ORIGIN="https://app.voisinage.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, accept-language",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.voisinage.example"
    allowed = response["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "accept-language" in allowed
    # Bearer tokens, never cookies: no credentials cross-origin.
    assert "Access-Control-Allow-Credentials" not in response


def test_cors_says_nothing_to_another_origin_nor_outside_the_api(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.voisinage.example"]
    other = client.get("/api/v1/items/categories", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other
    admin = client.get("/admin/login/", HTTP_ORIGIN="https://app.voisinage.example")
    assert "Access-Control-Allow-Origin" not in admin


def test_a_cross_origin_answer_exposes_retry_after(client, settings, user):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.voisinage.example"]
    response = client.post(
        "/api/v1/auth/token",
        {"email": user.email, "password": "a-long-passphrase-42"},
        content_type="application/json",
        HTTP_ORIGIN="https://app.voisinage.example",
    )
    assert response.status_code == 200
    assert "retry-after" in response["Access-Control-Expose-Headers"].lower()


def test_api_views_need_no_csrf_token_but_the_admin_does(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/auth/token",
        {"email": user.email, "password": "a-long-passphrase-42"},
        content_type="application/json",
    )
    assert response.status_code == 200
    access = response.json()["access"]
    patched = client.patch(
        "/api/v1/me",
        {"display_name": "Sans jeton CSRF"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access}",
    )
    assert patched.status_code == 200
    login = client.post("/admin/login/", {"username": user.email, "password": "x"})
    assert login.status_code == 403


# --- request sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        ("fr", "Le corps de la requête est trop volumineux."),
        ("en", "The request body is too large."),
    ],
)
def test_a_json_body_over_the_limit_is_refused_before_parsing(
    auth_client, settings, language, detail
):
    settings.REQUEST_MAX_BODY_BYTES = 1000
    # The client's credentials hold its Accept-Language (they win over a request's own).
    auth_client.credentials(HTTP_ACCEPT_LANGUAGE=language)
    response = auth_client.patch(
        "/api/v1/me", '{"display_name": "' + "x" * 2000 + '"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response["Content-Language"] == language
    assert response.json() == {"code": "too_large", "detail": detail, "fields": {}}


def test_an_upload_over_the_limit_is_refused_with_413(auth_client, settings):
    settings.REQUEST_MAX_UPLOAD_BYTES = 5000
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * 10000, content_type="image/jpeg")
    response = auth_client.post("/api/v1/items/1/photos", {"image": big}, format="multipart")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def _png(size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_item_photos_have_a_size_and_a_type_limit(make_item, client_for, settings, street_graph):
    item = make_item()
    client = client_for(item.owner)
    settings.SHARING_PHOTO_MAX_BYTES = 50
    upload = SimpleUploadedFile("p.png", _png(), content_type="image/png")
    response = client.post(f"/api/v1/items/{item.pk}/photos", {"image": upload}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "photo_too_large"
    settings.SHARING_PHOTO_MAX_BYTES = 8 * 1024 * 1024
    text = SimpleUploadedFile("p.png", b"not an image at all", content_type="image/png")
    response = client.post(f"/api/v1/items/{item.pk}/photos", {"image": text}, format="multipart")
    assert response.status_code == 400
    assert item.photos.count() == 0
    good = SimpleUploadedFile("p.png", _png(), content_type="image/png")
    response = client.post(f"/api/v1/items/{item.pk}/photos", {"image": good}, format="multipart")
    assert response.status_code == 201


def test_a_request_with_too_many_files_is_refused(auth_client):
    files = {
        f"f{n}": SimpleUploadedFile(f"{n}.png", _png(), content_type="image/png") for n in range(3)
    }
    response = auth_client.post("/api/v1/items/1/photos", files, format="multipart")
    assert response.status_code in (400, 413)
    assert response.json()["code"] in ("too_large", "invalid")


# --- page sizes --------------------------------------------------------------------------------------

LISTS = [
    "/api/v1/items/",
    "/api/v1/loans/",
    "/api/v1/wanted/",
    "/api/v1/wanted/inbox",
    "/api/v1/conversations/",
    "/api/v1/moderation/reports",
    "/api/v1/moderation/memberships",
    "/api/v1/orders/",
]


@pytest.mark.parametrize("path", LISTS)
def test_every_list_caps_its_page_size(path, auth_client, user, neighbourhood, settings):
    neighbourhood.association.staff.add(user)  # the moderation lists are the staff's
    settings.API_MAX_PAGE_SIZE = 3
    response = auth_client.get(f"{path}?limit=1000000&cursor=")
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["results"]) <= 3
    assert set(body) == {"next", "previous", "results"}


def test_the_cap_is_applied_to_a_real_page(make_item, client_for, settings, street_graph):
    owner = make_item().owner
    for n in range(4):
        make_item(owner=owner, title=f"Objet {n}")
    settings.API_MAX_PAGE_SIZE = 3
    body = client_for(owner).get("/api/v1/items/?limit=500").json()
    assert len(body["results"]) == 3
    assert "cursor=" in body["next"]
    _path, _, query = body["next"].partition("?")
    rest = client_for(owner).get(f"/api/v1/items/?{query}").json()
    assert len(rest["results"]) == 2 and rest["next"] is None


def test_nearby_pages_are_capped_by_their_own_limit(auth_client):
    response = auth_client.get("/api/v1/items/nearby?limit=100000")
    assert response.status_code == 400
    assert "limit" in response.json()["fields"]


def test_the_schema_documents_the_page_parameters():
    from tests.hardening.world import raw_schema

    schema = raw_schema()
    for path in LISTS:
        names = {p["name"] for p in schema["paths"][path]["get"].get("parameters", [])}
        assert {"limit", "cursor"} <= names, path
        assert schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]["$ref"].startswith("#/components/schemas/Paginated"), path


def test_the_production_settings_module_sets_what_check_deploy_cannot_see(tmp_path):
    """Behind the TLS proxy: the scheme comes from X-Forwarded-Proto, health probes stay on HTTP,
    cookies are secure, HSTS is on."""
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, s.SECURE_REDIRECT_EXEMPT,"
        " s.CORS_ALLOWED_ORIGINS, s.DEBUG)"
    )
    env = _production_env(tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "backend.settings"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup();" + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "('HTTP_X_FORWARDED_PROTO', 'https') True True True True ['^healthz$', '^readyz$'] "
        "['https://app.voisinage.example'] False"
    )
