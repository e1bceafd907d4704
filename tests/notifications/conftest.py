"""Fixtures of the notifications tests: a real Daphne process on the test database, websocket
clients, and tasks run in process.

These tests run on the test process's own ``redis-server`` (tests/conftest.py) under the channel
layer prefix ``ntest``, which their Daphne uses too. Helpers are in realtime.py, processes in
tests/harness.py, the fake FCM in fixtures.py (every test may use it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.harness import Daphne
from tests.notifications.realtime import Socket, daphne_on, issue_ticket, open_socket, use_redis


@pytest.fixture(autouse=True)
def _redis_prefix(settings, redis_server) -> None:
    use_redis(settings, redis_server.url)


@pytest.fixture(autouse=True)
def _celery_in_process(eager_tasks) -> None:
    """Tasks queued after a commit run at once, in this process (their own tests check the
    broker path)."""


@pytest.fixture(scope="session")
def daphne(django_db_setup, django_db_blocker, redis_server) -> Iterator[Daphne]:
    """One Daphne for the session's end-to-end tests (stopped before the test database goes)."""
    with django_db_blocker.unblock():
        server = daphne_on(redis_server.url).start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def socket_for(daphne) -> Iterator[Callable[..., Socket]]:
    """Opens a socket for a user, with a fresh ticket each time; closed after the test."""
    with contextlib.ExitStack() as stack:

        def make(user, last_id: int | None = None, **options: Any) -> Socket:
            ticket = issue_ticket(user)["ticket"]
            return Socket(stack.enter_context(open_socket(daphne, ticket, last_id, **options)))

        yield make
