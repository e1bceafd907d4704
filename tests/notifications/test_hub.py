"""The process hub without a server: the sweep's grace period, a topic event's message, and
the renewal of presence (on the tests' Redis)."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync

from notifications import hub as hub_module
from notifications.fanout import Delivery, _messages, broadcast_seqs
from notifications.hub import ProcessHub
from notifications.presence import presence_key, users_online
from notifications.redis_state import sync_client


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


def test_a_topic_event_names_its_recipients_and_ids_in_two_packed_arrays():
    """What the channel layer carries for a topic event of a thousand members: two arrays of
    64-bit integers, read back by every server process; the earlier map of string keys too."""
    from channels.layers import get_channel_layer

    seqs = {100_000 + n: 7_000 + n * 3 for n in range(1000)} | {2**40: 2**35}
    delivery = Delivery(
        event_type="neighbourhood.announcement",
        at="2026-05-16T17:00:00+02:00",
        data={},
        seqs=seqs,
        topic="neighbourhood.3",
    )
    ((group, message),) = _messages(delivery)
    assert group == "topic.neighbourhood.3"
    assert isinstance(message["users"], bytes) and len(message["users"]) == 8 * len(seqs)
    layer = get_channel_layer()
    carried = layer.deserialize(layer.serialize(message))
    assert broadcast_seqs(carried) == seqs
    earlier = {
        "type": "event.broadcast",
        "topic": "neighbourhood.3",
        "tail": ",",
        "seqs": {"12": 4, "13": 9},
    }
    assert broadcast_seqs(earlier) == {12: 4, 13: 9}


def test_presence_is_renewed_in_one_command_for_a_slice_of_sockets_not_those_away(settings):
    settings.REALTIME_PRESENCE_TTL_SECONDS = 40
    ticks = 5

    class FakeSocket:
        def __init__(self, user_id: int) -> None:
            self.user_id, self.channel_name = user_id, f"specific.t!{user_id}"

    sockets = [FakeSocket(user_id) for user_id in range(1, 21)]
    away = sockets[5]  # user 6: 6 % 5 == 1, in the slice but in the background

    async def scenario() -> None:
        hub = ProcessHub.__new__(ProcessHub)
        hub.present = {socket: socket.user_id for socket in sockets}
        hub.away = {away}
        hub.presence_lock = asyncio.Lock()
        await hub._refresh_presence(1, ticks)

    before = time.time()
    async_to_sync(scenario)()
    client = sync_client()
    for socket in sockets:
        name = presence_key(socket.user_id)
        score = client.zscore(name, socket.channel_name)
        if socket.user_id % ticks == 1 and socket is not away:
            assert before + 40 <= score <= time.time() + 40
            assert 0 < client.ttl(name) <= 41
        else:
            assert score is None
    assert users_online([s.user_id for s in sockets]) == {1, 11, 16}


def test_the_hub_takes_a_topic_event_in_the_readers_turn_and_offers_it_to_the_topics_sockets():
    from channels.layers import get_channel_layer

    offered: list[tuple[int, int, str]] = []

    class FakeSocket:
        def __init__(self, user_id: int) -> None:
            self.user_id = user_id

        def offer(self, seq: int, tail: str) -> None:  # awaits nothing: the pass is one go
            offered.append((self.user_id, seq, tail))

    hub = ProcessHub.__new__(ProcessHub)
    hub.layer = get_channel_layer()
    members = [FakeSocket(1), FakeSocket(2), FakeSocket(4)]
    hub.members = {"neighbourhood.3": set(members), "neighbourhood.9": {FakeSocket(3)}}
    delivery = Delivery(
        event_type="neighbourhood.announcement",
        at="2026-05-16T17:00:00+02:00",
        data={},
        seqs={1: 11, 2: 7, 3: 5, 5: 2},  # 4 joined since it was logged: nothing for it
        topic="neighbourhood.3",
    )
    ((_, message),) = _messages(delivery)
    assert hub._take_at_once(hub.layer.serialize(message)) is True
    assert sorted(offered) == [(1, 11, message["tail"]), (2, 7, message["tail"])]
    assert hub._take_at_once(hub.layer.serialize({"type": "something.else"})) is False
