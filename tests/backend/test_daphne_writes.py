"""How Daphne's websockets write (backend/server.py), on real sockets: a frame goes to the socket
when it is sent, not at the event loop's next poll; what waits keeps its order; what the socket
cannot take waits for the loop. A live event's text frame, written without the coroutines of
``send``, read back by the websockets library. And Daphne's sweeps, in slices."""

from __future__ import annotations

import asyncio
import socket
import time
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
from autobahn.websocket.protocol import TrafficStats
from daphne import server as daphne_server
from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from backend import server as server_module
from backend.server import (
    APPLICATION_PERIOD_SECONDS,
    SWEEP_SLICES,
    WebSocketProtocol,
    _Rounds,
    application_checker,
    write_now,
)
from notifications.consumers import text_sender


@pytest.fixture
def pair():
    """A connected pair of sockets: a Twisted TCP connection on one end (its reactor a
    memory one that never runs), a plain socket on the other."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.settimeout(0)
    reactor = MemoryReactor()
    connection = tcp.Connection(ours, Protocol(), reactor)
    connection.connected = 1
    yield connection, theirs, reactor
    ours.close()
    theirs.close()


def received(sock: socket.socket) -> bytes:
    try:
        return sock.recv(1 << 20)
    except BlockingIOError:
        return b""


def test_twisted_alone_leaves_the_bytes_for_the_next_poll(pair):
    connection, theirs, reactor = pair
    connection.write(b"frame")
    assert received(theirs) == b""
    assert connection in reactor.writers  # written when the loop finds the socket writable


def test_a_frame_is_on_the_socket_when_write_returns(pair):
    connection, theirs, reactor = pair
    write_now(connection, b"frame one")
    write_now(connection, b"frame two")
    assert received(theirs) == b"frame oneframe two"
    assert connection not in reactor.writers  # nothing left for the loop


def test_behind_bytes_already_waiting_a_frame_waits_too_in_order(pair):
    connection, theirs, _reactor = pair
    connection.write(b"first ")  # Twisted's buffer, not written yet
    write_now(connection, b"second")
    assert received(theirs) == b""
    connection.doWrite()  # the loop's turn
    assert received(theirs) == b"first second"


def test_what_the_socket_cannot_take_waits_for_the_loop(pair):
    connection, theirs, reactor = pair
    big = bytes(range(256)) * 40_000  # 10 MB, far over a socket buffer
    write_now(connection, big)
    assert connection in reactor.writers
    got = received(theirs)
    assert 0 < len(got) < len(big)
    while len(got) < len(big):
        connection.doWrite()
        got += received(theirs)
    assert got == big


def test_a_closing_connection_is_left_to_the_loop(pair):
    connection, theirs, _reactor = pair
    connection.disconnecting = True
    write_now(connection, b"late")
    assert received(theirs) == b""


def test_the_sweep_looks_at_each_connection_once_per_period_in_slices():
    rounds = _Rounds()
    connections = {n: None for n in range(950)}
    seen: list[int] = []
    for _ in range(SWEEP_SLICES):
        part = rounds.next_slice(connections)
        assert len(part) <= -(-950 // SWEEP_SLICES)
        seen += part
    assert sorted(seen) == list(range(950))
    # A connection gone meanwhile is skipped; a new one is in the next period.
    del connections[3]
    connections[200] = None
    following = [c for _ in range(SWEEP_SLICES) for c in rounds.next_slice(connections)]
    assert 3 not in following and 200 in following


# --- a text frame sent at once (send_text_now) ---------------------------------------------------


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def _open_protocol(*, connections: dict[Any, Any] | None = None) -> WebSocketProtocol:
    """Our websocket protocol, open, as Daphne holds it (its server's ``connections``), with a
    transport that keeps what it is given."""
    protocol = WebSocketProtocol()
    protocol.state = protocol.STATE_OPEN
    protocol.transport = _Transport()
    protocol._perMessageCompress = None
    protocol.trafficStats = TrafficStats()
    protocol.server = SimpleNamespace(connections={} if connections is None else connections)
    protocol.server.connections.setdefault(protocol, {})
    return protocol


def _frames(data: bytes) -> list[Frame]:
    """The frames in ``data``, read by the websockets library as a client reads them."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames: list[Frame] = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            while True:
                next(parser)
        except StopIteration as done:
            frames.append(done.value)
    return frames


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 300_000])
def test_a_text_frame_sent_at_once_is_one_whole_unmasked_frame(size):
    protocol = _open_protocol()
    text = ("é" + "x" * size)[:size] if size else ""
    protocol.send_text_now(text)
    (frame,) = _frames(b"".join(protocol.transport.written))
    assert (frame.opcode, frame.fin, frame.rsv1) == (Opcode.TEXT, True, False)
    assert frame.data.decode("utf-8") == text


def test_nothing_is_sent_once_the_socket_closes_or_its_client_is_gone():
    closing = _open_protocol()
    closing.state = closing.STATE_CLOSING
    closing.send_text_now("late")
    gone = _open_protocol()
    gone.server.connections[gone]["disconnected"] = 1.0
    gone.send_text_now("late")
    forgotten = _open_protocol()
    del forgotten.server.connections[forgotten]
    forgotten.send_text_now("late")
    assert closing.transport.written == gone.transport.written == forgotten.transport.written == []


def test_the_events_socket_finds_the_direct_sender_only_under_our_daphne():
    protocol = _open_protocol()
    # What Daphne gives a websocket's application as its ``send`` (Server.create_application).
    daphne = daphne_server.Server(application=None, endpoints=["tcp:port=0"])  # never run
    assert text_sender(partial(daphne.handle_reply, protocol)) == protocol.send_text_now
    assert text_sender(partial(daphne.handle_reply, object())) is None  # another protocol
    assert text_sender(daphne.handle_reply) is None

    async def handle_reply(protocol: Any, message: dict[str, Any]) -> None: ...

    assert text_sender(handle_reply) is None  # another server, a test communicator

    async def other(protocol: Any, message: dict[str, Any]) -> None: ...

    assert text_sender(partial(other, protocol)) is None


# --- Daphne's application sweep, in slices ---------------------------------------------------------


class _Later:
    def __init__(self) -> None:
        self.calls: list[tuple[float, Any]] = []

    def callLater(self, delay: float, function: Any) -> None:
        self.calls.append((delay, function))


def test_the_application_sweep_reaps_cancels_and_forgets_as_daphne_does_in_slices(monkeypatch):
    later = _Later()
    monkeypatch.setattr(server_module, "_reactor", lambda: later)
    loop = asyncio.new_event_loop()
    try:

        def future(result: Any = None, *, error: BaseException | None = None) -> Any:
            f = loop.create_future()
            if error is not None:
                f.set_exception(error)
            elif result is not None:
                f.set_result(result)
            return f

        class Protocol:
            def __init__(self) -> None:
                self.errors: list[BaseException] = []

            def handle_exception(self, error: BaseException) -> None:
                self.errors.append(error)

        now = time.time()
        running, done_open, failed_open, done_gone, stuck_gone = (Protocol() for _ in range(5))
        boom = RuntimeError("boom")
        stuck = future()
        server = SimpleNamespace(
            application_close_timeout=10,
            connections={
                running: {"application_instance": future()},
                done_open: {"application_instance": future(True)},
                failed_open: {"application_instance": future(error=boom)},
                done_gone: {"application_instance": future(True), "disconnected": now},
                stuck_gone: {"application_instance": stuck, "disconnected": now - 60},
            },
        )
        server.application_checker = partial(application_checker, server)
        for n in range(1, 300):  # connections the sweep must not trip over
            server.connections[f"idle {n}"] = {"application_instance": future()}
        for _ in range(SWEEP_SLICES):
            server.application_checker()
        assert all(delay == APPLICATION_PERIOD_SECONDS / SWEEP_SLICES for delay, _ in later.calls)
        assert len(later.calls) == SWEEP_SLICES
        assert "application_instance" in server.connections[running]
        assert "application_instance" not in server.connections[done_open]  # reaped, kept
        assert failed_open.errors == [boom]  # answered (a 500 for a request)
        assert done_gone not in server.connections  # nothing left of it
        assert stuck.cancelled()  # overstayed its client: cancelled, reaped at the next round
        for _ in range(SWEEP_SLICES):
            server.application_checker()
        assert stuck_gone not in server.connections
    finally:
        loop.close()
