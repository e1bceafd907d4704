from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.accounts.factories import access_token_for


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
