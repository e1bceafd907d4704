"""The realtime side's short-lived state in Redis: connections and key names.

Keys share the channel layer's prefix (``CHANNEL_LAYER_PREFIX``), so one setting keeps two
deployments, or two test runs, on one Redis apart.
"""

from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache
from typing import Any, cast

import redis
import redis.asyncio
from django.conf import settings

TIMEOUT_SECONDS = 2.0
ASYNC_MAX_CONNECTIONS = 64
# Pooled connections that Redis closed (a restart) are reopened once before a command fails.

_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[str, redis.asyncio.Redis]
]
_async_clients = weakref.WeakKeyDictionary()


def key(*parts: object) -> str:
    config = cast(dict[str, Any], settings.CHANNEL_LAYERS["default"]["CONFIG"])
    prefix = config.get("prefix", "asgi")
    return ":".join([prefix, "rt", *(str(part) for part in parts)])


@lru_cache(maxsize=4)
def _sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
        retry_on_error=[redis.ConnectionError],
    )


def sync_client() -> redis.Redis:
    return _sync_client(settings.REDIS_URL)


def async_client() -> redis.asyncio.Redis:
    """A client bound to the running event loop (asyncio connections cannot change loops).

    Its pool blocks when all its connections are busy instead of failing: a burst of sockets
    opening at once waits its turn.
    """
    loop = asyncio.get_running_loop()
    cached = _async_clients.get(loop)
    if cached is None or cached[0] != settings.REDIS_URL:
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=ASYNC_MAX_CONNECTIONS,
            timeout=TIMEOUT_SECONDS * 5,
            socket_timeout=TIMEOUT_SECONDS * 5,
            socket_connect_timeout=TIMEOUT_SECONDS,
            retry_on_error=[redis.ConnectionError],
        )
        cached = (settings.REDIS_URL, redis.asyncio.Redis(connection_pool=pool))
        _async_clients[loop] = cached
    return cached[1]
