"""Who has a socket open: a sorted set per person in Redis, of their sockets' channel names
scored by the time each stops counting unless its heartbeat refreshes it.

A server that dies without closing its sockets leaves entries behind; they stop counting when
their time passes, so at worst a push is skipped for a few heartbeats after a crash.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from django.conf import settings

from notifications.redis_state import async_client, key, sync_client


def presence_key(user_id: int) -> str:
    return key("presence", user_id)


async def presence_touch(*, user_id: int, channel_name: str) -> None:
    """Marks the socket present (on connect, and on each heartbeat)."""
    ttl = settings.REALTIME_PRESENCE_TTL_SECONDS
    now = time.time()
    name = presence_key(user_id)
    async with async_client().pipeline(transaction=False) as pipe:
        pipe.zadd(name, {channel_name: now + ttl})
        pipe.zremrangebyscore(name, "-inf", now)
        pipe.expire(name, int(ttl) + 1)
        await pipe.execute()


# The renewal of many sockets' entries as one command: a pipeline of a ZADD and an EXPIRE per
# socket costs the server process milliseconds of Python to pack and to read back for a few
# hundred sockets, in which none of its sockets is served.
_REFRESH_SCRIPT = """
for i, name in ipairs(KEYS) do
  redis.call('ZADD', name, ARGV[1], ARGV[i + 2])
  redis.call('EXPIRE', name, ARGV[2])
end
return #KEYS
"""


async def presence_refresh(entries: Sequence[tuple[int, str]]) -> None:
    """Renews the entries of the sockets ``(user_id, channel_name)`` for another presence period,
    in one command. Raises ``redis.RedisError``."""
    if not entries:
        return
    ttl = settings.REALTIME_PRESENCE_TTL_SECONDS
    script = async_client().register_script(_REFRESH_SCRIPT)
    prefix = key("presence")  # presence_key(user_id) is f"{prefix}:{user_id}"
    await script(
        keys=[f"{prefix}:{user_id}" for user_id, _ in entries],
        args=[repr(time.time() + ttl), int(ttl) + 1, *(channel for _, channel in entries)],
    )


async def presence_leave(*, user_id: int, channel_name: str) -> None:
    await async_client().zrem(presence_key(user_id), channel_name)


def users_online(user_ids: Iterable[int]) -> set[int]:
    """Those of ``user_ids`` with at least one socket open. Raises ``redis.RedisError``."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    now = time.time()
    pipe = sync_client().pipeline(transaction=False)
    for user_id in ids:
        pipe.zcount(presence_key(user_id), now, "+inf")
    counts = pipe.execute()
    return {user_id for user_id, count in zip(ids, counts, strict=True) if count}
