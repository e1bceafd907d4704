"""The Redis pub/sub channel layer, with a socket's own channel that survives a Redis restart.

``channels_redis.pubsub`` subscribes a socket's channel before the consumer runs: when that
subscription fails, the handshake fails with an HTTP 500. It fails in the moments after Redis
comes back, when the layer's one pub/sub connection is still the dead one or is being reopened
by the layer's reader at the same time. Here the subscription is retried on a fresh connection
(reopening it resubscribes every channel and group of the process) before giving up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, _wrap_close
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Attempts at subscribing a new socket's channel, and the pause before each retry (seconds).
SUBSCRIBE_ATTEMPTS = 3
SUBSCRIBE_RETRY_PAUSE = 0.2


class _LoopLayer(RedisPubSubLoopLayer):
    async def _subscribe_to_channel(self, channel: str) -> None:
        shard = self._get_shard(channel)
        for attempt in range(1, SUBSCRIBE_ATTEMPTS + 1):
            try:
                await super()._subscribe_to_channel(channel)
                return
            except (RedisError, OSError, RuntimeError) as error:
                self.channels.pop(channel, None)
                if attempt == SUBSCRIBE_ATTEMPTS:
                    raise
                logger.info(
                    "subscribing a socket's channel failed (%s), retrying on a new connection",
                    type(error).__name__,
                )
                await _reopen(shard)
                await asyncio.sleep(SUBSCRIBE_RETRY_PAUSE * attempt)


class PubSubChannelLayer(RedisPubSubChannelLayer):
    """``RedisPubSubChannelLayer`` (one layer per event loop), with the retried subscription."""

    def _get_layer(self) -> _LoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer


async def _reopen(shard: Any) -> None:
    """Drops the shard's pub/sub connection: the next command opens a new one, which
    resubscribes what the old one had."""
    async with shard._lock:
        connection = getattr(shard._pubsub, "connection", None)
        if connection is not None:
            with contextlib.suppress(RedisError, OSError):
                await connection.disconnect()
