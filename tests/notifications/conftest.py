"""Fixtures of the notifications tests: a private Redis server, a real Daphne process on the
test database, websocket clients (the ``websockets`` package), and FCM behind a fake transport.

Every test here uses its own ``redis-server`` (started once per session, on a free port) under
its own key prefix, so that sockets, groups, tickets and queued tasks of other people's test runs
on the shared Redis never meet ours. Helpers are in realtime.py, processes in tests/harness.py,
the fake FCM in fixtures.py (every test may use it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.harness import Daphne, RedisServer
from tests.notifications.realtime import Socket, daphne_on, issue_ticket, open_socket, use_redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _private_redis(settings, redis_server) -> None:
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
