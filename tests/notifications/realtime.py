"""What the notifications tests need around a real Daphne: its environment, websocket clients (the
``websockets`` package) and tickets. The processes themselves come from tests/harness.py."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.harness import Daphne, app_env, django_database_url

PREFIX = "ntest"
# The Daphne process of these tests: short heartbeats and a small position budget, so that
# their behaviour shows within a test's time.
DAPHNE_ENV = {
    "REALTIME_HEARTBEAT_SECONDS": "0.5",
    "REALTIME_POSITION_BURST": "2",
    "REALTIME_POSITION_RATE_PER_SECOND": "0.05",
    "REALTIME_INBOUND_ERROR_BURST": "20",
    "REALTIME_ALLOWED_ORIGINS": "https://app.voisinage.test",
    "REALTIME_REPLAY_MAX": "50",
}


def use_redis(settings, url: str) -> None:
    """Points this process's Redis users (channel layer, tickets, presence) at ``url``."""
    settings.REDIS_URL = url
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"] = [
        {**layers["default"]["CONFIG"]["hosts"][0], "address": url}
    ]
    layers["default"]["CONFIG"]["prefix"] = PREFIX
    settings.CHANNEL_LAYERS = layers


def daphne_on(redis_url: str, **extra: Any) -> Daphne:
    """A Daphne (not started) on the test database and ``redis_url``, with DAPHNE_ENV."""
    variables = {
        "VOISINAGE_ENV": "test",
        "CHANNEL_LAYER_PREFIX": PREFIX,
        "LOG_LEVEL": "WARNING",
        **DAPHNE_ENV,
        **extra,
    }
    return Daphne(app_env(database_url=django_database_url(), redis_url=redis_url, **variables))


@dataclass
class Socket:
    """A websocket client of ``/ws/v1/events`` (the ``websockets`` package, sync API)."""

    connection: ClientConnection

    def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        return json.loads(self.connection.recv(timeout=timeout))

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message that is not a heartbeat."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(timeout=max(deadline - time.monotonic(), 0.001))
            if message.get("type") != "heartbeat":
                return message

    def until_ready(self, timeout: float = 5.0) -> tuple[list[dict[str, Any]], int]:
        """The events replayed before ``ready``, and its ``last_id``."""
        events = []
        while True:
            message = self.next(timeout)
            if message["type"] == "ready":
                return events, message["last_id"]
            events.append(message)

    def events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        return [self.next(timeout) for _ in range(count)]

    def send(self, message: Any) -> None:
        self.connection.send(message if isinstance(message, str) else json.dumps(message))

    def close(self) -> None:
        self.connection.close()


def open_socket(
    server: Daphne,
    ticket: str | None,
    last_id: int | None = None,
    origin: str | None = None,
    **options: Any,
) -> ClientConnection:
    query = []
    if ticket is not None:
        query.append(f"ticket={ticket}")
    if last_id is not None:
        query.append(f"last_id={last_id}")
    url = f"{server.ws}/ws/v1/events" + ("?" + "&".join(query) if query else "")
    return connect(url, origin=origin, proxy=None, open_timeout=10, **options)


def issue_ticket(user) -> dict[str, Any]:
    """A ticket from the API (in this process, on the same Redis as Daphne)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/realtime/ticket")
    assert response.status_code == 201, response.content
    return response.json()
