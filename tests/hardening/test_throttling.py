"""Abuse limits: login, registration, nearby searches, wanted requests and merchant webhooks are
answered 429 with Retry-After once over their rate, counted in the real Redis, and a refused
request changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from backend.throttling import parse_rate, throttle_reset
from pooling.models import Order
from pooling.services.places import merchant_create
from pooling.webhooks import signature_of
from sharing.models import WantedRequest
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts():
    """Counts start from zero (set up before, torn down after, the test's settings)."""
    throttle_reset()
    yield
    throttle_reset()


def _limit(settings, **rates):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, **rates}


def _assert_throttled(response, longest=60):
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "throttled"
    assert set(body) == {"code", "detail", "fields"}
    seconds = int(response["Retry-After"])
    assert 1 <= seconds <= longest
    return body, seconds


def test_rates_are_parsed_as_documented():
    assert parse_rate("10/min") == (10, 60)
    assert parse_rate("5/s") == (5, 1)
    assert parse_rate("20/h") == (20, 3600)
    assert parse_rate("3/day") == (3, 86400)
    with pytest.raises(ValueError):
        parse_rate("ten per minute")


def test_login_is_limited_per_address_and_a_refused_login_gives_no_token(settings, api_client):
    _limit(settings, login="3/min")
    UserFactory(email="lea@example.org", password="a-long-passphrase-42")
    wrong = {"email": "lea@example.org", "password": "wrong-guess"}
    for _ in range(3):
        assert api_client.post("/api/v1/auth/token", wrong, format="json").status_code == 401
    right = {"email": "lea@example.org", "password": "a-long-passphrase-42"}
    response = api_client.post("/api/v1/auth/token", right, format="json")
    body, _seconds = _assert_throttled(response)
    assert "access" not in body and "refresh" not in body
    assert body["detail"].startswith("Too many requests")
    # Another address is counted apart.
    other = api_client.post("/api/v1/auth/token", right, format="json", REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 200 and other.json()["access"]


def test_login_is_limited_per_account_from_any_address(settings, api_client):
    _limit(settings, login_account="2/min")
    UserFactory(email="hugo@example.org", password="a-long-passphrase-42")
    wrong = {"email": "Hugo@Example.org", "password": "guess"}
    for address in ("10.0.0.1", "10.0.0.2"):
        response = api_client.post("/api/v1/auth/token", wrong, format="json", REMOTE_ADDR=address)
        assert response.status_code == 401
    response = api_client.post(
        "/api/v1/auth/token",
        {"email": "hugo@example.org", "password": "guess"},
        format="json",
        REMOTE_ADDR="10.0.0.3",
    )
    _assert_throttled(response)


def test_the_429_is_in_french_when_asked(settings):
    _limit(settings, login="1/min")
    client = APIClient()
    body = {"email": "x@example.org", "password": "p"}
    client.post("/api/v1/auth/token", body, format="json")
    response = client.post("/api/v1/auth/token", body, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    body, seconds = _assert_throttled(response)
    assert body["detail"].startswith("Trop de requêtes")
    assert str(seconds) in body["detail"]


DOCUMENTS = {"terms_version": "2026-12", "privacy_version": "2026-12"}


def test_registration_is_limited_and_a_refused_one_creates_no_account(settings, api_client):
    _limit(settings, register="2/h")
    for n in range(2):
        response = api_client.post(
            "/api/v1/auth/register",
            {
                "email": f"new{n}@example.org",
                "password": "a-long-passphrase-42",
                "display_name": "N",
                **DOCUMENTS,
            },
            format="json",
        )
        assert response.status_code == 202
    response = api_client.post(
        "/api/v1/auth/register",
        {
            "email": "third@example.org",
            "password": "a-long-passphrase-42",
            "display_name": "T",
            **DOCUMENTS,
        },
        format="json",
    )
    _assert_throttled(response, longest=3600)
    assert not User.objects.filter(email="third@example.org").exists()


def test_the_x_forwarded_for_of_a_trusted_proxy_is_the_address(settings, api_client):
    _limit(settings, register="1/h")
    settings.THROTTLE_TRUSTED_PROXIES = 1

    def register(n, forwarded):
        return api_client.post(
            "/api/v1/auth/register",
            {
                "email": f"p{n}@example.org",
                "password": "a-long-passphrase-42",
                "display_name": "P",
                **DOCUMENTS,
            },
            format="json",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    assert register(1, "203.0.113.5").status_code == 202
    # The client cannot pick its address: the proxy appended the one it saw.
    assert register(2, "198.51.100.1, 203.0.113.5").status_code == 429
    assert register(3, "203.0.113.6").status_code == 202


def test_nearby_searches_are_limited_per_account(settings, make_resident, client_for, street_graph):
    _limit(settings, nearby="2/min")
    resident, neighbour = make_resident(), make_resident()
    client, other = client_for(resident), client_for(neighbour)
    for _ in range(2):
        assert client.get("/api/v1/items/nearby?minutes=5").status_code == 200
    _assert_throttled(client.get("/api/v1/items/nearby?minutes=5"))
    assert other.get("/api/v1/items/nearby?minutes=5").status_code == 200
    # Relay points nearby share the same budget.
    _assert_throttled(client.get("/api/v1/relay-points?near=60.1699,24.9384"))


def test_items_by_code_are_limited_per_account(settings, make_resident, make_item, client_for):
    _limit(settings, item_code="2/min")
    owner, neighbour, other = make_resident(), make_resident(), make_resident()
    code = make_item(owner=owner).code
    client = client_for(neighbour)
    assert client.get(f"/api/v1/items/by-code/{code}").status_code == 200
    assert client.get("/api/v1/items/by-code/ZZZZZZ").status_code == 404  # counted too
    _assert_throttled(client.get(f"/api/v1/items/by-code/{code}"))
    assert client_for(other).get(f"/api/v1/items/by-code/{code}").status_code == 200
    # The item's own page is not counted with them.
    assert client.get(f"/api/v1/items/{make_item(owner=owner, title='Scie').pk}").status_code == 200


def test_wanted_requests_are_limited_and_a_refused_one_is_not_created(
    settings, make_resident, client_for, street_graph
):
    _limit(settings, wanted="1/h")
    settings.SHARING_MAX_OPEN_WANTED = 10
    requester = make_resident()
    client = client_for(requester)
    start = timezone.now() + timedelta(days=1)

    def post(title):
        return client.post(
            "/api/v1/wanted/",
            {
                "title": title,
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(days=1)).isoformat(),
            },
            format="json",
        )

    assert post("Une perceuse").status_code == 201
    _assert_throttled(post("Une échelle"), longest=3600)
    assert list(WantedRequest.objects.values_list("title", flat=True)) == ["Une perceuse"]
    # Reading is not counted.
    assert client.get("/api/v1/wanted/").status_code == 200


def test_webhooks_are_limited_per_merchant_key(settings, api_client):
    from pooling.models import Merchant

    _limit(settings, webhook="2/min")
    resident = UserFactory(email="camille@example.org", password="a-long-passphrase-42")
    assert resident
    first = merchant_create(name="Librairie")
    second = merchant_create(name="Épicerie")

    def announce(credentials, n):
        raw = json.dumps(
            {
                "reference": f"R-{n}",
                "resident_email": "camille@example.org",
                "expected_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
                "parcels": [{"size": "s", "weight": "light"}],
            }
        ).encode()
        return api_client.post(
            "/api/v1/merchant/orders",
            raw,
            content_type="application/json",
            HTTP_X_API_KEY=credentials.api_key,
            HTTP_X_SIGNATURE=signature_of(credentials.signing_secret, raw),
            HTTP_IDEMPOTENCY_KEY=f"key-{n}",
        )

    assert announce(first, 1).status_code == 201
    assert announce(first, 2).status_code == 201
    _assert_throttled(announce(first, 3))
    assert Order.objects.filter(merchant__name="Librairie").count() == 2
    assert announce(second, 4).status_code == 201
    assert Merchant.objects.count() == 2


def test_limits_fail_open_when_redis_does_not_answer(settings, api_client):
    _limit(settings, login="1/min")
    down = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # Nothing listens there: the counter is down, not the API.
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    body = {"email": "nobody@example.org", "password": "p"}
    with override_settings(CACHES=down):
        for _ in range(3):
            assert api_client.post("/api/v1/auth/token", body, format="json").status_code == 401


def test_429_is_documented_with_retry_after_on_throttled_operations(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    for path, method in [
        ("/api/v1/auth/token", "post"),
        ("/api/v1/auth/token/refresh", "post"),
        ("/api/v1/auth/register", "post"),
        ("/api/v1/items/nearby", "get"),
        ("/api/v1/items/by-code/{code}", "get"),
        ("/api/v1/relay-points", "get"),
        ("/api/v1/wanted/", "post"),
        ("/api/v1/merchant/orders", "post"),
        ("/api/v1/geo/route", "get"),
    ]:
        response = schema["paths"][path][method]["responses"]["429"]
        assert "Retry-After" in response["headers"], (path, method)
    assert "429" not in schema["paths"]["/api/v1/wanted/"]["get"]["responses"]
    assert "429" not in schema["paths"]["/api/v1/me"]["get"]["responses"]
