"""Daphne's keep-alive, as backend/server.py changes it, on a real Daphne: each socket is pinged on
its own timer every ``--ping-interval`` and closed when no pong comes back within
``--ping-timeout``; a client that answers stays. The client here is a raw TCP socket that reads
every frame, pings included (a websocket library answers pings by itself and hides them).
"""

from __future__ import annotations

import base64
import os
import select
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from tests.accounts.factories import UserFactory
from tests.harness import Daphne, app_env, django_database_url
from tests.notifications.realtime import DAPHNE_ENV, PREFIX, issue_ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PING, PONG, CLOSE, TEXT = 0x9, 0xA, 0x8, 0x1
INTERVAL, TIMEOUT = 1, 1


@pytest.fixture(scope="module")
def keepalive_daphne(django_db_setup, django_db_blocker, redis_server) -> Iterator[Daphne]:
    env = app_env(
        database_url=django_database_url(),
        redis_url=redis_server.url,
        VOISINAGE_ENV="test",
        CHANNEL_LAYER_PREFIX=PREFIX,
        LOG_LEVEL="WARNING",
        **{**DAPHNE_ENV, "REALTIME_HEARTBEAT_SECONDS": "60"},
    )
    options = ("--ping-interval", str(INTERVAL), "--ping-timeout", str(TIMEOUT))
    with django_db_blocker.unblock():
        server = Daphne(env, options=options).start()
    yield server
    server.remove()


class RawSocket:
    """A websocket client on a plain socket: the handshake, masked frames out, every frame in."""

    def __init__(self, server: Daphne, ticket: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            b"GET /ws/v1/events?ticket=" + ticket.encode() + b" HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            assert chunk, "closed during the handshake"
            self.buffer += chunk
        head, _sep, self.buffer = self.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head

    def _read(self, size: int, deadline: float) -> bytes | None:
        while len(self.buffer) < size:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def frame(self, timeout: float) -> tuple[int, bytes] | None:
        """The next frame's opcode and payload; None when none came within ``timeout``;
        ``EOFError`` when the server closed the connection."""
        deadline = time.monotonic() + timeout
        head = self._read(2, deadline)
        if head is None:
            return None
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2, deadline + 5) or b"\0\0")[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8, deadline + 5) or b"\0" * 8)[0]
        payload = self._read(length, deadline + 5) if length else b""
        return opcode, payload or b""

    def send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        self.sock.close()


def frames_for(raw: RawSocket, seconds: float, *, answer: bool) -> tuple[list[float], bool]:
    """The times of the pings received within ``seconds`` (each answered with its pong when
    ``answer``), and whether the server closed the connection meanwhile."""
    start = time.monotonic()
    pings: list[float] = []
    while (left := seconds - (time.monotonic() - start)) > 0:
        try:
            got = raw.frame(left)
        except EOFError:
            return pings, True
        if got is None:
            continue
        opcode, payload = got
        if opcode == PING:
            pings.append(time.monotonic() - start)
            if answer:
                raw.send(PONG, payload)
        elif opcode == CLOSE:
            return pings, True
    return pings, False


def test_a_socket_that_answers_is_pinged_every_interval_and_stays(keepalive_daphne):
    raw = RawSocket(keepalive_daphne, issue_ticket(UserFactory())["ticket"])
    try:
        pings, closed = frames_for(raw, 4 * INTERVAL + TIMEOUT + 0.5, answer=True)
    finally:
        raw.close()
    assert not closed
    # One ping per interval from the handshake on (autobahn's timers run in 0.2 s buckets).
    assert 3 <= len(pings) <= 6, pings
    assert pings[0] < INTERVAL + 0.6, pings


def test_a_socket_that_never_answers_is_closed_after_the_timeout(keepalive_daphne):
    raw = RawSocket(keepalive_daphne, issue_ticket(UserFactory())["ticket"])
    try:
        pings, closed = frames_for(raw, INTERVAL + TIMEOUT + 3, answer=False)
    finally:
        raw.close()
    assert pings, "no ping came"
    assert closed, "a socket that never answered a ping stayed open"


def test_each_socket_is_pinged_an_interval_after_its_own_opening(keepalive_daphne):
    """Sockets opened at different moments are pinged at different moments, each about an
    interval after its opening (Daphne pinged from a sweep every two seconds, every socket due
    at once: a first ping one to three seconds after the opening, shared with the others).
    Autobahn's timers run in 0.2 s buckets: a ping may come that much early."""
    user = UserFactory()
    raws: list[RawSocket] = []
    opened: list[float] = []
    first: dict[int, float] = {}
    start = time.monotonic()
    try:
        while len(first) < 3 and time.monotonic() < start + 5 * INTERVAL:
            if len(raws) < 3 and time.monotonic() >= start + 0.45 * len(raws):
                raws.append(RawSocket(keepalive_daphne, issue_ticket(user)["ticket"]))
                opened.append(time.monotonic())
            ready, _, _ = select.select([r.sock for r in raws], [], [], 0.02)
            for index, raw in enumerate(raws):
                if raw.sock not in ready and not raw.buffer:
                    continue
                got = raw.frame(0.05)
                if got is not None and got[0] == PING:
                    first.setdefault(index, time.monotonic())
                    raw.send(PONG, got[1])
    finally:
        for raw in raws:
            raw.close()
    assert sorted(first) == [0, 1, 2], first
    delays = [first[i] - opened[i] for i in range(3)]
    assert all(INTERVAL - 0.25 <= d <= INTERVAL + 0.8 for d in delays), delays
