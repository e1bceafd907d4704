from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.accounts.factories import access_token_for
from tests.accounts.geocoder_server import FakeGeocoders

PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
)


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """An API client logged in as ``user`` with a real JWT, asking for ``language`` (the tests of
    the tokens' app; elsewhere, tests/accounts/fixtures.py's ``client_for`` authenticates without
    a token)."""

    def make(user: User | None, language: str = "en") -> APIClient:
        client = APIClient()
        headers = {"HTTP_ACCEPT_LANGUAGE": language}
        if user is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {access_token_for(user)}"
        client.credentials(**headers)
        return client

    return make


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
