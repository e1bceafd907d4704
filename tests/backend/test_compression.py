"""JSON answers in gzip or Brotli for the clients that accept it (backend/compression.py): the
right coding, Vary, weak ETags that still give 304s, retried POSTs replayed right, and never the
answers that are credentials, the files or the static files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import brotli
import pytest
from django.http import FileResponse, JsonResponse, StreamingHttpResponse
from django.test import RequestFactory
from rest_framework.test import APIClient

from backend.compression import CompressionMiddleware, choose_coding
from tests.accounts.factories import access_token_for

LONG = "Une perceuse à percussion, avec ses mèches et sa mallette. " * 20


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}


@pytest.fixture
def item_url(make_resident, make_item, client_for):
    owner = make_resident()
    item = make_item(owner=owner, description=LONG)
    return client_for(owner), f"/api/v1/items/{item.pk}"


@pytest.mark.django_db
def test_a_json_answer_is_gzipped_when_the_client_accepts_gzip(item_url):
    client, url = item_url
    plain = client.get(url)
    packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate")

    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.content)) == plain.json()
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content)
    # Both vary on Accept-Encoding (and on the language, as before).
    assert {"accept-encoding", "accept-language"} <= vary(plain)
    assert {"accept-encoding", "accept-language"} <= vary(packed)
    # The compressed bytes are another representation of the same JSON: a weak ETag.
    assert packed["ETag"] == f"W/{plain['ETag']}"


@pytest.mark.django_db
def test_brotli_when_the_client_accepts_it(item_url):
    client, url = item_url
    answer = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert answer["Content-Encoding"] == "br"
    assert json.loads(brotli.decompress(answer.content)) == client.get(url).json()


@pytest.mark.parametrize(
    ("header", "coding"),
    [
        ("", None),
        ("identity", None),
        ("deflate", None),
        ("gzip", "gzip"),
        ("GZIP", "gzip"),
        ("br", "br"),
        ("gzip, br", "br"),
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=0", None),
        ("*", "br"),
        ("*;q=0.1, gzip;q=0", "br"),
        ("gzip;q=nonsense, br;q=0", None),
    ],
)
def test_the_coding_follows_accept_encoding_and_its_weights(header, coding):
    assert choose_coding(header) == coding


@pytest.mark.django_db
def test_gzip_only_when_brotli_is_turned_off(item_url, settings):
    settings.COMPRESS_BROTLI = False
    client, url = item_url
    assert client.get(url, HTTP_ACCEPT_ENCODING="br, gzip")["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in client.get(url, HTTP_ACCEPT_ENCODING="br")


@pytest.mark.django_db
def test_nothing_is_compressed_when_turned_off_behind_a_compressing_proxy(item_url, settings):
    settings.COMPRESS_RESPONSES = False
    client, url = item_url
    answer = client.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert "Content-Encoding" not in answer and "accept-encoding" not in vary(answer)
    assert not answer["ETag"].startswith("W/")


@pytest.mark.django_db
def test_small_answers_are_sent_as_they_are(client):
    answer = client.get("/healthz", HTTP_ACCEPT_ENCODING="gzip")
    assert answer.status_code == 200 and "Content-Encoding" not in answer
    assert answer.json() == {"status": "ok"}


@pytest.mark.django_db
def test_a_compressed_answer_is_304_with_its_weak_etag(item_url):
    client, url = item_url
    packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    etag = packed["ETag"]
    assert etag.startswith('W/"')

    again = client.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and "accept-encoding" in vary(again)

    # A client that kept the uncompressed answer's (strong) ETag: 304 too, that ETag unchanged.
    strong = client.get(url)["ETag"]
    plain_again = client.get(url, HTTP_IF_NONE_MATCH=strong)
    assert plain_again.status_code == 304 and plain_again["ETag"] == strong
    assert client.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=strong).status_code == (
        304
    )

    # The item changes: the old weak ETag gets the new body, compressed.
    client.patch(url, {"title": "Perceuse sans fil"}, format="json")
    changed = client.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(changed.content))["title"] == "Perceuse sans fil"
    assert changed["ETag"] != etag


@pytest.mark.django_db
def test_sign_in_and_refresh_tokens_are_never_compressed(user, settings):
    settings.COMPRESS_MIN_BYTES = 0
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en", HTTP_ACCEPT_ENCODING="gzip, br")
    signed_in = client.post(
        "/api/v1/auth/token",
        {"email": "resident@example.org", "password": "a-long-passphrase-42"},
        format="json",
    )
    assert signed_in.status_code == 200, signed_in.content
    assert "Content-Encoding" not in signed_in and "refresh" in signed_in.json()

    refreshed = client.post(
        "/api/v1/auth/token/refresh", {"refresh": signed_in.json()["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200, refreshed.content
    assert "Content-Encoding" not in refreshed and "access" in refreshed.json()

    # Other answers of the same size are compressed: it is the endpoint, not the threshold.
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['access']}")
    assert me.status_code == 200 and me["Content-Encoding"] in {"gzip", "br"}


@pytest.mark.django_db
def test_a_realtime_ticket_is_never_compressed_not_even_replayed(user, settings):
    settings.COMPRESS_MIN_BYTES = 0
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}",
        HTTP_ACCEPT_LANGUAGE="en",
        HTTP_ACCEPT_ENCODING="gzip, br",
    )
    first = client.post("/api/v1/realtime/ticket", HTTP_IDEMPOTENCY_KEY="ticket-1")
    replayed = client.post("/api/v1/realtime/ticket", HTTP_IDEMPOTENCY_KEY="ticket-1")
    assert first.status_code == replayed.status_code == 201, first.content
    assert replayed["Idempotent-Replayed"] == "true"
    assert "Content-Encoding" not in first and "Content-Encoding" not in replayed
    assert replayed.json()["ticket"] == first.json()["ticket"]


@pytest.mark.django_db
def test_a_retried_post_is_replayed_in_the_coding_of_the_retry(
    make_resident, make_item, period, settings
):
    from accounts.models import IdempotencyRecord

    settings.COMPRESS_MIN_BYTES = 0
    lender, borrower = make_resident(), make_resident()
    item = make_item(owner=lender, description=LONG)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(borrower)}", HTTP_ACCEPT_LANGUAGE="en"
    )
    body = {"item": item.pk, "starts_at": period[0].isoformat(), "ends_at": period[1].isoformat()}

    first = client.post(
        "/api/v1/loans/", body, format="json", HTTP_IDEMPOTENCY_KEY="k", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert first.status_code == 201 and first["Content-Encoding"] == "gzip"
    created = json.loads(gzip.decompress(first.content))
    # What is kept for retries is the JSON itself, whatever the first client accepted.
    assert json.loads(bytes(IdempotencyRecord.objects.get(key="k").body)) == created

    plain = client.post("/api/v1/loans/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert plain["Idempotent-Replayed"] == "true" and "Content-Encoding" not in plain
    assert plain.json() == created

    packed = client.post(
        "/api/v1/loans/", body, format="json", HTTP_IDEMPOTENCY_KEY="k", HTTP_ACCEPT_ENCODING="br"
    )
    assert packed["Idempotent-Replayed"] == "true" and packed["Content-Encoding"] == "br"
    assert json.loads(brotli.decompress(packed.content)) == created


def _through(response_factory, accept: str = "gzip, br"):
    request = RequestFactory().get("/api/v1/anything", HTTP_ACCEPT_ENCODING=accept)
    return CompressionMiddleware(lambda r: response_factory())(request)


def test_files_and_streams_pass_untouched(tmp_path: Path):
    archive = tmp_path / "export.zip"
    archive.write_bytes(b"PK\x03\x04" + b"\0" * 4096)
    with archive.open("rb") as file:
        served = _through(lambda: FileResponse(file, content_type="application/zip"))
        assert "Content-Encoding" not in served and "accept-encoding" not in vary(served)
        assert b"".join(served.streaming_content) == archive.read_bytes()

    streamed = _through(
        lambda: StreamingHttpResponse(
            iter([b"[", b"1" * 4096, b"]"]), content_type="application/json"
        )
    )
    assert "Content-Encoding" not in streamed


def test_only_json_is_compressed_and_nothing_twice():
    html = _through(_html)
    assert "Content-Encoding" not in html

    def already():
        response = JsonResponse({"a": "x" * 4096})
        response["Content-Encoding"] = "gzip"
        return response

    assert _through(already)["Content-Encoding"] == "gzip"
    assert _through(already).content == already().content

    def no_transform():
        response = JsonResponse({"a": "x" * 4096})
        response["Cache-Control"] = "private, no-transform"
        return response

    assert "Content-Encoding" not in _through(no_transform)

    schema = _through(lambda: _typed("application/vnd.oai.openapi+json; charset=utf-8"))
    problem = _through(lambda: _typed("application/problem+json"))
    assert schema["Content-Encoding"] == problem["Content-Encoding"] == "br"


def _html():
    from django.http import HttpResponse

    return HttpResponse("<p>" + "x" * 4096 + "</p>", content_type="text/html; charset=utf-8")


def _typed(content_type: str):
    response = JsonResponse({"a": "x" * 4096})
    response["Content-Type"] = content_type
    return response


@pytest.mark.django_db
def test_static_files_are_left_to_whitenoise(client):
    answer = client.get("/static/panel/panel.css", HTTP_ACCEPT_ENCODING="gzip, br")
    assert answer.status_code == 200
    assert "Content-Encoding" not in answer
