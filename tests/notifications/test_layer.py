"""The channel layer: the subscription of a new socket's channel survives a dead connection; sync
code publishes a commit's messages in one pipeline."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from redis.exceptions import ConnectionError as RedisConnectionError

from notifications import layer as layer_module
from notifications.layer import PubSubChannelLayer
from tests.notifications.realtime import PREFIX


def make_layer(url: str) -> PubSubChannelLayer:
    return PubSubChannelLayer(hosts=[{"address": url}], prefix=f"{PREFIX}-layer")


def test_a_failed_subscription_is_retried_on_a_new_connection(redis_server, monkeypatch):
    monkeypatch.setattr(layer_module, "SUBSCRIBE_RETRY_PAUSE", 0.01)

    async def scenario() -> tuple[int, dict]:
        channel_layer = make_layer(redis_server.url)
        first = await channel_layer.new_channel()  # opens the shard's pub/sub connection
        shard = channel_layer._get_layer()._get_shard(first)
        real_subscribe = shard._pubsub.subscribe
        failures = 0

        async def flaky_subscribe(*args, **kwargs):
            nonlocal failures
            if failures == 0:
                failures += 1
                raise RedisConnectionError("Connection closed by server.")
            return await real_subscribe(*args, **kwargs)

        shard._pubsub.subscribe = flaky_subscribe
        try:
            channel = await channel_layer.new_channel()
            # The reopened connection carries both channels: the old one and the new one.
            await channel_layer.send(first, {"type": "hello", "n": 1})
            await channel_layer.send(channel, {"type": "hello", "n": 2})
            got_first = await asyncio.wait_for(channel_layer.receive(first), 5)
            got = await asyncio.wait_for(channel_layer.receive(channel), 5)
            assert got_first["n"] == 1
            return failures, got
        finally:
            await channel_layer.flush()

    failures, message = async_to_sync(scenario)()
    assert failures == 1
    assert message == {"type": "hello", "n": 2}


def test_a_subscription_that_keeps_failing_raises_and_leaves_no_channel(monkeypatch):
    monkeypatch.setattr(layer_module, "SUBSCRIBE_RETRY_PAUSE", 0.01)

    async def scenario() -> dict:
        # Nothing listens on port 9: every attempt is refused.
        channel_layer = make_layer("redis://127.0.0.1:9/0")
        try:
            with pytest.raises(RedisConnectionError):
                await channel_layer.new_channel()
            return dict(channel_layer.channels)
        finally:
            await channel_layer.flush()

    assert async_to_sync(scenario)() == {}


def test_a_blocking_group_send_publishes_in_order_from_a_plain_thread(redis_server):
    """Sync code (a request after its commit) publishes every message of the commit in one
    pipeline, straight from its thread; a channel in the group receives them in order, as from
    the layer's own group_send."""
    channel_layer = make_layer(redis_server.url)

    async def scenario() -> list[dict]:
        channel = await channel_layer.new_channel()
        other = await channel_layer.new_channel()
        await channel_layer.group_add("user.7", channel)
        await channel_layer.group_add("user.8", other)
        try:
            messages = [("user.7", {"type": "event.deliver", "id": n}) for n in range(1, 6)]
            messages.insert(2, ("user.8", {"type": "event.deliver", "id": 1}))
            await asyncio.to_thread(channel_layer.group_send_blocking, messages, timeout=2.0)
            got = [await asyncio.wait_for(channel_layer.receive(channel), 5) for _ in range(5)]
            got.append(await asyncio.wait_for(channel_layer.receive(other), 5))
            return got
        finally:
            await channel_layer.flush()

    got = async_to_sync(scenario)()
    assert [m["id"] for m in got] == [1, 2, 3, 4, 5, 1]


def test_a_blocking_group_send_to_a_redis_that_is_not_there_fails_fast():
    channel_layer = make_layer("redis://127.0.0.1:9/0")
    started = time.monotonic()
    with pytest.raises(RedisConnectionError):
        channel_layer.group_send_blocking([("user.1", {"type": "event.deliver"})], timeout=1.0)
    assert time.monotonic() - started < 2.5


def test_a_taker_is_offered_every_message_as_it_arrives_and_what_it_declines_is_queued(
    redis_server, caplog
):
    """The reader offers each message for a channel, its own or its groups', to the channel's
    taker in the order they come; those it declines (or fails on) are received in order."""

    async def scenario() -> tuple[list[int], list[int], list[int]]:
        channel_layer = make_layer(redis_server.url)
        channel = await channel_layer.new_channel()
        await channel_layer.group_add("people", channel)
        taken: list[int] = []
        offered: list[int] = []
        arrived = asyncio.Event()

        def taker(data: bytes) -> bool:
            message = channel_layer.deserialize(data)
            offered.append(message["n"])
            if message["n"] == 5:
                raise RuntimeError("a bug in the taker")
            if message["n"] in (1, 6):
                taken.append(message["n"])
                arrived.set()
                return True
            return False

        async def next_one() -> int:
            return (await asyncio.wait_for(channel_layer.receive(channel), 5))["n"]

        channel_layer.take_at_once(channel, taker)
        try:
            await channel_layer.send(channel, {"type": "hello", "n": 1})
            await asyncio.wait_for(arrived.wait(), 5)
            arrived.clear()
            await channel_layer.group_send("people", {"type": "hello", "n": 2})
            await channel_layer.group_send("people", {"type": "hello", "n": 3})
            await channel_layer.send(channel, {"type": "hello", "n": 4})
            await channel_layer.send(channel, {"type": "hello", "n": 5})  # the taker fails
            received = [await next_one() for _ in range(4)]
            await channel_layer.group_send("people", {"type": "hello", "n": 6})
            await asyncio.wait_for(arrived.wait(), 5)
            channel_layer.take_at_once(channel, None)
            await channel_layer.send(channel, {"type": "hello", "n": 7})  # no taker: queued
            received.append(await next_one())
            return taken, received, offered
        finally:
            await channel_layer.flush()

    taken, received, offered = async_to_sync(scenario)()
    assert taken == [1, 6]
    assert received == [2, 3, 4, 5, 7]
    assert offered == [1, 2, 3, 4, 5, 6]
    assert "a channel's taker failed" in caplog.text
