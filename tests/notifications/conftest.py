"""Fixtures of the notifications tests: a private Redis server, a real Daphne process on the
test database, websocket clients (the ``websockets`` package), and FCM behind a fake transport.

Every test here uses its own ``redis-server`` (started once per session, on a free port) under
its own key prefix, so that sockets, groups, tickets and queued tasks of other people's test runs
on the shared Redis never meet ours.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from websockets.sync.client import ClientConnection, connect

from tests.notifications.fcm_fake import FakeFcm, install_fake_fcm

ROOT = Path(__file__).resolve().parents[2]
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Polls ``predicate`` until it returns something truthy; fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


class RedisServer:
    """A ``redis-server`` of our own, without persistence: it can be stopped and started again
    on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, timeout=10)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


def use_redis(settings, url: str) -> None:
    """Points this process's Redis users (channel layer, tickets, presence) at ``url``."""
    settings.REDIS_URL = url
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"] = [
        {**layers["default"]["CONFIG"]["hosts"][0], "address": url}
    ]
    layers["default"]["CONFIG"]["prefix"] = PREFIX
    settings.CHANNEL_LAYERS = layers


@pytest.fixture(autouse=True)
def _private_redis(settings, redis_server) -> None:
    use_redis(settings, redis_server.url)


@pytest.fixture(autouse=True)
def _celery_in_process() -> Iterator[None]:
    """Tasks queued after a commit run at once, in this process (their own tests check the
    broker path)."""
    from backend.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def fcm() -> Iterator[FakeFcm]:
    """FCM reachable: firebase-admin with a static credential, its HTTP transport answered by
    :class:`FakeFcm`."""
    fake, app = install_fake_fcm()
    yield fake
    import firebase_admin

    firebase_admin.delete_app(app)


# --- a real Daphne ---------------------------------------------------------------------------------


def test_database_url() -> str:
    from django.db import connection

    cfg = connection.settings_dict
    user = cfg.get("USER") or "postgres"
    password = f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else ""
    host = cfg.get("HOST") or "127.0.0.1"
    port = cfg.get("PORT") or 5432
    return f"postgis://{user}{password}@{host}:{port}/{cfg['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]


class Daphne:
    """``daphne backend.asgi:application`` on a free port, on the test database."""

    def __init__(self, redis_url: str, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.redis_url = redis_url
        self.extra_env = extra_env or {}
        self.log = tempfile.NamedTemporaryFile(prefix="daphne-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Daphne:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "VOISINAGE_ENV": "test",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": self.redis_url,
            "CHANNEL_LAYER_PREFIX": PREFIX,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **DAPHNE_ENV,
            **self.extra_env,
        }
        daphne = Path(sys.executable).with_name("daphne")
        self.process = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(self.port), "backend.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"daphne exited:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.http}/healthz", timeout=1) as response:  # noqa: S310
                    return response.status == 200
            except OSError:
                return False

        wait_until(healthy, timeout=30, interval=0.1)
        return self

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None
        Path(self.log.name).unlink(missing_ok=True)

    def request(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        """An HTTP request to this Daphne; returns the status and the JSON body."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.http}{path}", data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept-Language", "en")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None


@pytest.fixture(scope="session")
def daphne(django_db_setup, django_db_blocker, redis_server) -> Iterator[Daphne]:
    """One Daphne for the session's end-to-end tests (stopped before the test database goes)."""
    with django_db_blocker.unblock():
        server = Daphne(redis_server.url).start()
    yield server
    server.stop()


# --- websocket clients -------------------------------------------------------------------------------


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


@pytest.fixture
def socket_for(daphne) -> Iterator[Callable[..., Socket]]:
    """Opens a socket for a user, with a fresh ticket each time; closed after the test."""
    with contextlib.ExitStack() as stack:

        def make(user, last_id: int | None = None, **options: Any) -> Socket:
            ticket = issue_ticket(user)["ticket"]
            return Socket(stack.enter_context(open_socket(daphne, ticket, last_id, **options)))

        yield make
