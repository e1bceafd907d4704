"""The channel layer's subscription of a new socket's channel survives a dead connection."""

from __future__ import annotations

import asyncio

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
