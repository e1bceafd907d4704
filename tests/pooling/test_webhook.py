"""The merchant webhook: API key, HMAC signature of the raw body, idempotency."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from pooling.models import Order, Parcel
from pooling.services.places import merchant_create
from tests.pooling.factories import ResidentFactory

URL = "/api/v1/merchant/orders"


@pytest.fixture
def creds(db):
    return merchant_create(name="Librairie Akateeminen", default_carrier="Posti")


@pytest.fixture
def resident(db):
    return ResidentFactory(email="camille@example.org")


def body(**changes) -> bytes:
    payload = {
        "reference": "A-1001",
        "resident_email": "Camille@example.org",
        "tracking_number": "JJFI000123",
        "expected_on": "2026-05-15",
        "parcels": [{"size": "m", "weight": "light"}, {"size": "s", "weight": "medium"}],
    }
    payload.update(changes)
    return json.dumps(payload).encode()


def sign(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post(
    creds,
    raw: bytes,
    *,
    key: str | None = "order-A-1001",
    signature: str | None = None,
    api_key: str | None = None,
):
    client = APIClient()
    headers = {
        "HTTP_X_API_KEY": creds.api_key if api_key is None else api_key,
        "HTTP_X_SIGNATURE": sign(creds.signing_secret, raw) if signature is None else signature,
        "HTTP_ACCEPT_LANGUAGE": "en",
    }
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.generic("POST", URL, raw, content_type="application/json", **headers)


def test_a_signed_order_is_created_for_the_resident(creds, resident):
    response = post(creds, body())
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert response.json() == {
        "id": order.pk,
        "reference": "A-1001",
        "status": "pending",
        "expected_on": "2026-05-15",
        "created_at": response.json()["created_at"],
    }
    assert order.resident == resident and order.merchant == creds.merchant
    assert order.carrier == "Posti" and order.merchant_name == "Librairie Akateeminen"
    assert order.receive_mode == "home" and len(order.delivery_code) == 6
    assert sorted(order.parcels.values_list("size", "weight")) == [("m", "light"), ("s", "medium")]
    assert order.body_sha256 == hashlib.sha256(body()).hexdigest()


def test_the_api_key_is_stored_only_as_a_hash(creds):
    merchant = creds.merchant
    assert creds.api_key not in (merchant.api_key_hash, merchant.api_key_prefix)
    assert merchant.api_key_hash == hashlib.sha256(creds.api_key.encode()).hexdigest()


def test_a_retry_returns_the_first_order(creds, resident):
    first = post(creds, body())
    again = post(creds, body())
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1 and Parcel.objects.count() == 2


def test_the_same_key_with_another_body_is_refused(creds, resident):
    post(creds, body())
    response = post(creds, body(tracking_number="JJFI999"))
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1
    assert Order.objects.get().tracking_number == "JJFI000123"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"signature": "sha256=" + "0" * 64}, 401, "bad_signature"),
        ({"signature": ""}, 401, "bad_signature"),
        ({"api_key": "vk_nope_nope"}, 401, "merchant_unauthenticated"),
        ({"api_key": ""}, 401, "merchant_unauthenticated"),
        ({"key": None}, 400, "idempotency_key_required"),
    ],
)
def test_unauthenticated_or_unsigned_calls_store_nothing(creds, resident, headers, status, code):
    response = post(creds, body(), **headers)
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["detail"]
    assert not Order.objects.exists()


def test_a_signature_of_another_body_is_refused(creds, resident):
    raw = body()
    response = post(creds, raw, signature=sign(creds.signing_secret, raw + b" "))
    assert response.status_code == 401 and not Order.objects.exists()


def test_an_inactive_merchant_is_refused(creds, resident):
    creds.merchant.is_active = False
    creds.merchant.save()
    assert post(creds, body()).status_code == 401
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        (b"{not json", "malformed_body", None),
        (b"[1, 2]", "malformed_body", None),
        (b"\xff\xfe", "malformed_body", None),
        (body(parcels=[]), "invalid", "parcels"),
        (body(parcels=[{"size": "huge", "weight": "light"}]), "invalid", "parcels"),
        (body(parcels=[{"size": "s", "weight": "200kg"}]), "invalid", "parcels"),
        (body(parcels=[{"size": "s", "weight": "light"}] * 21), "invalid", "parcels"),
        (body(expected_on="tomorrow"), "invalid", "expected_on"),
        (body(resident_email="not-an-email"), "invalid", "resident_email"),
        (body(colour="blue"), "invalid", "colour"),
        (body(resident_email="nobody@example.org"), "unknown_resident", "resident_email"),
    ],
)
def test_bad_payloads_get_a_400_and_store_nothing(creds, resident, raw, code, field):
    response = post(creds, raw)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    if field:
        assert field in response.json()["fields"]
    assert not Order.objects.exists() and not Parcel.objects.exists()


@pytest.mark.parametrize(
    "change",
    [{"email_verified_at": None}, {"deleted_at": "now"}, {"is_active": False}],
    ids=["unverified", "deleted", "inactive"],
)
def test_an_address_not_verified_answers_like_an_unknown_one(creds, resident, change):
    unknown = post(creds, body(resident_email="nobody@example.org"), key="order-unknown")
    for name, value in change.items():
        setattr(resident, name, timezone.now() if value == "now" else value)
    resident.save()
    response = post(creds, body())
    assert response.status_code == unknown.status_code == 400
    assert response.json() == unknown.json()
    assert response.json()["code"] == "unknown_resident"
    assert not Order.objects.exists() and not Parcel.objects.exists()


def test_a_body_too_large_is_refused(creds, resident, settings):
    settings.POOLING_WEBHOOK_MAX_BYTES = 100
    response = post(creds, body())
    assert response.status_code == 413 and not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_retries_make_one_order():
    """Twenty threads, each with its own database connection, send the same signed webhook at
    the same moment: the unique constraint lets one insert; the others replay its order."""
    creds = merchant_create(name="Concurrent shop", default_carrier="DHL")
    ResidentFactory(email="camille@example.org")
    raw = body()
    start = threading.Barrier(20)
    results: list[tuple[int, int]] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            start.wait()
            response = post(creds, raw, key="retry-me")
            with lock:
                results.append((response.status_code, response.json().get("id")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    assert sorted(status for status, _ in results) == [200] * 19 + [201]
    assert len({order_id for _, order_id in results}) == 1
    assert Order.objects.count() == 1 and Parcel.objects.count() == 2
