"""Fixtures of people and API clients, for every test (registered by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from tests.accounts.geocoder_server import FakeGeocoders
from tests.mailserver import SmtpServer

PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
)


@pytest.fixture
def api_client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user(
        "resident@example.org",
        "a-long-passphrase-42",
        terms_version=settings.TERMS_VERSION,
        privacy_version=settings.PRIVACY_VERSION,
    )


@pytest.fixture
def auth_client(api_client, user) -> APIClient:
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def client_for() -> Callable[[User | None], APIClient]:
    """An API client in English, authenticated as ``user`` (anonymous for ``None``) without a
    token or a query. tests/accounts, which tests the tokens, has its own: a real JWT."""

    def make(user: User | None) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_ACCEPT_LANGUAGE="en")
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    """A real SMTP server that this test's mails go to (Django's SMTP backend, in process)."""
    server = SmtpServer().up()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        server.down()


@pytest.fixture
def geocoders(settings, monkeypatch) -> Iterator[FakeGeocoders]:
    """Both geocoders served from a real local HTTP server; settings point geopy at it."""
    for name in PROXY_VARIABLES:  # geopy honours system proxies: keep 127.0.0.1 direct
        monkeypatch.delenv(name, raising=False)
    fake = FakeGeocoders().start()
    settings.GEOCODER_BAN_DOMAIN = fake.domain
    settings.GEOCODER_BAN_SCHEME = "http"
    settings.GEOCODER_NOMINATIM_DOMAIN = fake.domain
    settings.GEOCODER_NOMINATIM_SCHEME = "http"
    settings.GEOCODER_USER_AGENT = "voisinage-tests/1.0"
    settings.GEOCODER_TIMEOUT = 2.0
    yield fake
    fake.stop()
