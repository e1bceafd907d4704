"""The Redis pub/sub channel layer, with a socket's own channel that survives a Redis restart, and
a blocking group send for the code that commits events.

``channels_redis.pubsub`` subscribes a socket's channel before the consumer runs: when that
subscription fails, the handshake fails with an HTTP 500. It fails in the moments after Redis
comes back, when the layer's one pub/sub connection is still the dead one or is being reopened
by the layer's reader at the same time. Here the subscription is retried on a fresh connection
(reopening it resubscribes every channel and group of the process) before giving up.

A socket's consumer, and the process hub, may take a message the moment the layer's reader gets
it (:meth:`PubSubChannelLayer.take_at_once`): the next live event of a socket, or a topic event
for all the process's sockets, goes out in the reader's own turn of the event loop, not turns
later through the channel's queue.

A web worker or a Celery task that has committed events publishes them with
:meth:`PubSubChannelLayer.group_send_blocking`: from its own thread, through a plain Redis
connection, every message of the commit in one pipeline (one round trip per Redis shard). The
layer's own ``group_send`` needs an event loop, and its shard sends one ``PUBLISH`` at a time
under a lock: a sync caller would hop to a loop thread and wait for one round trip per recipient.
What Redis receives is the same (``PUBLISH`` of the same serialised message on the group's
channel), so the consumers cannot tell the difference.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import redis
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
    _wrap_close,
)
from channels_redis.utils import _consistent_hash, decode_hosts
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Attempts at subscribing a new socket's channel, and the pause before each retry (seconds).
SUBSCRIBE_ATTEMPTS = 3
SUBSCRIBE_RETRY_PAUSE = 0.2
# Messages per pipeline of a blocking group send (a plan telling thousands of residents).
PUBLISH_BATCH = 1000


# What a channel's receiver may do with a message the moment the layer's reader gets it (its
# serialised bytes): ``True`` when it took it, ``False`` to have it queued as usual.
Taker = Callable[[bytes], bool]


class _Shard(RedisSingleShardConnection):
    def _receive_message(self, message: dict[str, Any] | None) -> None:
        """Channels' dispatch of a message read from Redis to the local channels it is for,
        where a channel with a taker (``PubSubChannelLayer.take_at_once``) is offered it
        first."""
        if message is None:
            return
        layer = self.channel_layer
        name, data = message["channel"], message["data"]
        if isinstance(name, bytes):
            name = name.decode()
        targets = (name,) if name in layer.channels else tuple(layer.groups.get(name, ()))
        for channel in targets:
            queue = layer.channels.get(channel)
            if queue is None:
                continue
            taker = layer.takers.get(channel)
            if taker is not None:
                try:
                    if taker(data):
                        continue
                except Exception:  # the reader serves every socket of the process: go on
                    logger.exception("a channel's taker failed; its message is queued")
            queue.put_nowait(data)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.takers: dict[str, Taker] = {}
        shards: list[RedisSingleShardConnection] = self._shards  # type: ignore[has-type]
        self._shards = [_Shard(shard.host, self) for shard in shards]

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
    """``RedisPubSubChannelLayer`` (one layer per event loop), with the retried subscription and
    a blocking group send for sync code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hosts = kwargs.get("hosts", args[0] if args else None)
        self.prefix: str = kwargs.get("prefix", args[1] if len(args) > 1 else "asgi")
        self.hosts: list[dict[str, Any]] = decode_hosts(hosts)
        self._blocking_lock = threading.Lock()
        self._blocking: tuple[int, float, list[redis.Redis]] | None = None

    def group_channel(self, group: str) -> str:
        """The Redis channel a group's messages are published on (as the layer names it)."""
        return f"{self.prefix}__group__{group}"

    def group_send_blocking(
        self, messages: Iterable[tuple[str, dict[str, Any]]], *, timeout: float
    ) -> None:
        """Publishes each ``(group, message)`` from the calling thread, in order, in one pipeline
        per shard (one round trip each); waits for Redis at most about ``timeout`` seconds per
        shard (a connection Redis closed is reopened once). Raises ``redis.RedisError`` or
        ``OSError``. Not for an event loop's thread: it blocks."""
        clients = self._blocking_clients(timeout)
        pipes: dict[int, Any] = {}
        counts: dict[int, int] = {}
        for group, message in messages:
            channel = self.group_channel(group)
            shard = _consistent_hash(channel, len(clients))
            pipe = pipes.get(shard)
            if pipe is None:
                pipe = pipes[shard] = clients[shard].pipeline(transaction=False)
            pipe.publish(channel, self.serialize(message))
            counts[shard] = counts.get(shard, 0) + 1
            if counts[shard] >= PUBLISH_BATCH:
                pipe.execute()
                counts[shard] = 0
        for shard, pipe in pipes.items():
            if counts[shard]:
                pipe.execute()

    def _blocking_clients(self, timeout: float) -> list[redis.Redis]:
        """One sync client per shard, per process (a forked child opens its own), their
        connections pooled between the threads of the process."""
        with self._blocking_lock:
            cached = self._blocking
            if cached is None or cached[0] != os.getpid() or cached[1] != timeout:
                cached = (os.getpid(), timeout, [_sync_client(h, timeout) for h in self.hosts])
                self._blocking = cached
            return cached[2]

    def take_at_once(self, channel: str, taker: Taker | None) -> None:
        """Offers every message for ``channel`` (its own or one of its groups') to ``taker`` as
        soon as the layer's reader gets it from Redis, in the order they come; what the taker
        declines is queued for ``receive`` as usual, so a taker that takes a message while an
        earlier one waits in the queue lets it overtake that one (the events socket counts
        what it declined). A message taken so is handled in the reader's own turn of the event
        loop, instead of four turns later (the queue, the consumer's receiving task, its wait,
        its dispatch). ``None`` removes it. For the running event loop's layer."""
        takers = self._get_layer().takers
        if taker is None:
            takers.pop(channel, None)
        else:
            takers[channel] = taker

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


def _sync_client(host: dict[str, Any], timeout: float) -> redis.Redis:
    """A sync client to the layer's ``host`` (``address`` and connection options, as in the
    layer's ``hosts``), waiting at most ``timeout`` seconds to connect and for an answer."""
    options = dict(host)
    for name in ("socket_timeout", "socket_connect_timeout"):
        options[name] = min(float(options.get(name) or timeout), timeout)
    if "address" in options:
        pool = redis.ConnectionPool.from_url(options.pop("address"), **options)
    elif "master_name" in options:
        from redis.sentinel import Sentinel, SentinelConnectionPool

        sentinel = Sentinel(
            options.pop("sentinels"), sentinel_kwargs=options.pop("sentinel_kwargs", None)
        )
        pool = SentinelConnectionPool(options.pop("master_name"), sentinel, **options)
    else:
        pool = redis.ConnectionPool(**options)
    return redis.Redis(connection_pool=pool)
