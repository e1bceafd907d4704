"""Fixtures of the notifications, for every test (registered by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notifications.fcm_fake import FakeFcm, install_fake_fcm


@pytest.fixture
def fcm() -> Iterator[FakeFcm]:
    """FCM reachable: firebase-admin with a static credential, its HTTP transport answered by
    :class:`FakeFcm`."""
    fake, app = install_fake_fcm()
    yield fake
    import firebase_admin

    firebase_admin.delete_app(app)
