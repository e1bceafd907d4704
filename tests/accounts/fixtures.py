"""Fixtures of people and API clients, for every test (registered by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import User


@pytest.fixture
def api_client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user("resident@example.org", "a-long-passphrase-42")


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
