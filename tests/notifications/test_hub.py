"""The process hub without a server: the sweep's grace period."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync

from notifications import hub as hub_module
from notifications.hub import ProcessHub


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
