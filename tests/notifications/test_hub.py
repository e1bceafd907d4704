"""The process hub and a socket, without a server: topic events handed over a slice at a time,
a personal event that overtakes a topic event, and the sweep's grace period."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from notifications import hub as hub_module
from notifications.consumers import EventsConsumer
from notifications.hub import ProcessHub


def tail(n: int) -> str:
    return f',"type":"order.eta","at":"2026-05-16T17:00:00+02:00","data":{{"n":{n}}}}}'


def a_socket(user_id: int, last_seq: int) -> tuple[EventsConsumer, list[int]]:
    """An open socket of ``user_id`` that has sent up to ``last_seq``; the list gets the ids it
    sends. Reading the log fails the test."""
    socket = EventsConsumer()
    socket.user_id, socket.last_seq, socket.held = user_id, last_seq, {}
    socket.deliver_lock, socket.background = asyncio.Lock(), set()
    sent: list[int] = []

    async def send(text_data: str | None = None, **_: Any) -> None:
        sent.append(json.loads(text_data or "{}")["id"])

    async def no_log(upto: int) -> None:
        raise AssertionError(f"read the log up to {upto}")

    socket.send = send  # type: ignore[method-assign]
    socket._catch_up_to = no_log  # type: ignore[method-assign]
    return socket, sent


def test_a_personal_event_that_overtakes_a_held_topic_event_sends_both_in_order():
    async def scenario() -> tuple[list[int], dict[int, str]]:
        socket, sent = a_socket(1, last_seq=4)
        socket.hold(5, tail(5))  # the hub has the topic event, not offered yet
        await socket._deliver(6, tail(6))  # the personal event committed after it
        await socket.offer(5, tail(5))  # the hub's turn comes: sent already
        await socket._deliver(7, tail(7))
        return sent, socket.held

    sent, held = async_to_sync(scenario)()
    assert sent == [5, 6, 7]
    assert held == {}


def test_a_topic_event_reaches_every_socket_a_slice_at_a_time(monkeypatch):
    monkeypatch.setattr(hub_module, "BROADCAST_SLICE", 4)

    async def scenario() -> tuple[list[list[int]], list[int]]:
        hub = ProcessHub.__new__(ProcessHub)
        hub.members = {"neighbourhood.1": set()}
        sockets = []
        for user_id in range(1, 11):
            socket, sent = a_socket(user_id, last_seq=user_id)
            hub.members["neighbourhood.1"].add(socket)
            sockets.append((socket, sent))
        first = sockets[0][0]
        message = {
            "topic": "neighbourhood.1",
            "tail": tail(0),
            "seqs": {str(s.user_id): s.last_seq + 1 for s, _ in sockets},
        }
        # While the hub works through its slices, other tasks run: here a personal event of
        # the first socket, committed after the topic event.
        sent_between: list[int] = []

        async def meanwhile() -> None:
            await asyncio.sleep(0)
            sent_between.append(sum(len(sent) for _, sent in sockets))

        await asyncio.gather(hub._broadcast(message), meanwhile())
        await first._deliver(first.last_seq + 1, tail(1))
        return [sent for _, sent in sockets], sent_between

    sent, sent_between = async_to_sync(scenario)()
    assert [ids[0] for ids in sent] == list(range(2, 12))
    assert all(len(ids) == 1 for ids in sent[1:])
    assert 0 < sent_between[0] < 10  # the loop ran between two slices


def test_the_sweep_tops_up_only_sockets_still_behind_after_the_grace(monkeypatch):
    monkeypatch.setattr(hub_module, "streams_last_seq", lambda user_ids: {1: 3, 2: 3, 3: 3})
    topped: list[tuple[int, int]] = []

    class FakeSocket:
        def __init__(self, user_id: int, last_seq: int) -> None:
            self.user_id, self.last_seq, self.channel_name = user_id, last_seq, f"c{user_id}"

        async def top_up(self, upto: int) -> None:
            topped.append((self.user_id, upto))

    async def scenario() -> None:
        hub = ProcessHub.__new__(ProcessHub)
        hub.background = set()
        on_time, late, lost = FakeSocket(1, 3), FakeSocket(2, 2), FakeSocket(3, 2)
        hub.present = {on_time: 1, late: 2, lost: 3}
        behind = await hub._sweep_read()
        assert set(behind) == {late, lost}
        late.last_seq = 3  # its live message arrived during the grace period
        hub._top_up_behind(behind)
        await asyncio.gather(*hub.background)

    async_to_sync(scenario)()
    assert topped == [(3, 3)]


@pytest.fixture(autouse=True)
def _database(db) -> None:
    """The hub reads the log through database_sync_to_async, which checks the connection."""
