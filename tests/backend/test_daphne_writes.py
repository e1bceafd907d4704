"""How Daphne's websockets write (backend/server.py), on real sockets: a frame goes to the socket
when it is sent, not at the event loop's next poll; what waits keeps its order; what the socket
cannot take waits for the loop. And the timeout sweep's slices."""

from __future__ import annotations

import socket

import pytest
from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor

from backend.server import SWEEP_SLICES, _Rounds, write_now


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
    connections = {n: None for n in range(95)}
    seen: list[int] = []
    for _ in range(SWEEP_SLICES):
        part = rounds.next_slice(connections)
        assert len(part) <= 10
        seen += part
    assert sorted(seen) == list(range(95))
    # A connection gone meanwhile is skipped; a new one is in the next period.
    del connections[3]
    connections[200] = None
    following = [c for _ in range(SWEEP_SLICES) for c in rounds.next_slice(connections)]
    assert 3 not in following and 200 in following
