"""What one server process does once for all its sockets: topics and presence.

**Topics.** The process joins a topic's group with a single channel of its own, whatever the
number of its sockets that listen to the topic, and hands each message to those sockets itself.
An event for a neighbourhood of a thousand people is then one message read from Redis and a
thousand sends, instead of a thousand channel-layer deliveries that each wake a consumer.

**Presence.** The sockets' entries in Redis are refreshed a slice every second, so that each is
renewed once per heartbeat period, by one command for the slice (a script) instead of one round
trip per socket. A socket whose app said it went to the background is left out (its entry
removed) until the app says it is back: a person is online while one of their sockets is open
*and* in the foreground.

**Sweep.** Once per heartbeat period, one query compares every local socket with its person's
log; a socket still behind a grace period later catches up from the log. Live delivery may lose
a message (the channel layer publishes to whoever listens at that moment); the sweep bounds how
long a lost event waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import defaultdict
from typing import Any, Protocol

import redis
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError

from notifications.fanout import broadcast_seqs, topic_group
from notifications.presence import presence_leave, presence_refresh, presence_touch
from notifications.selectors import streams_last_seq

logger = logging.getLogger(__name__)

# Group memberships expire in the channel layer (group_expiry, a day): rejoin well before.
GROUP_REFRESH_SECONDS = 3600.0
PRESENCE_BATCH = 500
PRESENCE_TICK_SECONDS = 1.0
SWEEP_BATCH = 1000
# A socket found behind its log is caught up from it only if still behind this much later: what
# was on its way when the sweep read the log has arrived by then.
SWEEP_GRACE_SECONDS = 2.0


class Socket(Protocol):
    user_id: int | None
    channel_name: str
    last_seq: int

    def offer(self, seq: int, tail: str) -> None: ...

    async def top_up(self, upto: int) -> None: ...


class ProcessHub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.members: dict[str, set[Socket]] = defaultdict(set)
        self.present: dict[Socket, int] = {}
        # Open sockets of apps in the background: not refreshed, so not online. Changed and read
        # under presence_lock, so a refresh under way never puts back an entry just removed.
        self.away: set[Socket] = set()
        self.presence_lock = asyncio.Lock()
        self.lock = asyncio.Lock()
        self.tasks: list[asyncio.Task[None]] = []
        self.background: set[asyncio.Task[None]] = set()

    async def _start(self) -> str:
        if self.channel is None:
            self.channel = await self.layer.new_channel()
            if hasattr(self.layer, "take_at_once"):
                self.layer.take_at_once(self.channel, self._take_at_once)
            self.tasks = [
                asyncio.create_task(self._receive_loop()),
                asyncio.create_task(self._refresh_loop()),
            ]
        return self.channel

    # --- topics ---------------------------------------------------------------------------------

    async def topic_join(self, topic: str, socket: Socket) -> None:
        """``socket`` receives the topic's events from now on. Raises ``redis.RedisError``."""
        async with self.lock:
            channel = await self._start()
            if not self.members.get(topic):
                await self.layer.group_add(topic_group(topic), channel)
            self.members[topic].add(socket)

    async def topic_leave(self, topic: str, socket: Socket) -> None:
        async with self.lock:
            members = self.members.get(topic)
            if members is None:
                return
            members.discard(socket)
            if members:
                return
            del self.members[topic]
            if self.channel is not None:
                try:
                    await self.layer.group_discard(topic_group(topic), self.channel)
                except redis.RedisError as error:
                    logger.info("could not leave topic %s (%s)", topic, type(error).__name__)

    async def _receive_loop(self) -> None:
        assert self.channel is not None
        failures = 0
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except (redis.RedisError, OSError) as error:
                failures += 1
                logger.warning("topic hub cannot read Redis (%s)", type(error).__name__)
                await asyncio.sleep(min(2**failures * 0.1, 5.0))
                continue
            if failures:
                failures = 0
                await self._rejoin()  # Redis may have restarted and forgotten the groups
            if message.get("type") == "event.broadcast":
                self._broadcast(message)

    def _take_at_once(self, data: bytes) -> bool:
        """The channel layer's reader hands the hub each topic event as it gets it from Redis
        (``PubSubChannelLayer.take_at_once``): the pass over the topic's sockets runs in the
        reader's own turn of the event loop, not a turn later in the hub's task."""
        message = self.layer.deserialize(data)
        if message.get("type") != "event.broadcast":
            return False
        self._broadcast(message)
        return True

    def _broadcast(self, message: dict[str, Any]) -> None:
        """Hands a topic event to each local socket of the topic, in one pass that awaits
        nothing: each socket sends it at once or queues it behind its own lock."""
        seqs = broadcast_seqs(message)
        tail: str = message["tail"]
        for socket in list(self.members.get(message["topic"], ())):
            seq = seqs.get(socket.user_id) if socket.user_id is not None else None
            if seq is not None:
                socket.offer(seq, tail)

    async def _rejoin(self) -> None:
        if self.channel is None:
            return
        try:
            for topic in list(self.members):
                await self.layer.group_add(topic_group(topic), self.channel)
        except redis.RedisError as error:
            logger.info("topic hub could not rejoin its groups (%s)", type(error).__name__)

    # --- presence -------------------------------------------------------------------------------

    async def presence_keep(self, socket: Socket) -> None:
        assert socket.user_id is not None
        self.present[socket] = socket.user_id
        await self._start()

    def presence_drop(self, socket: Socket) -> None:
        self.present.pop(socket, None)
        self.away.discard(socket)

    async def presence_background(self, socket: Socket, *, background: bool) -> None:
        """The app of ``socket`` went to the background (its entry is removed and no longer
        refreshed) or came back (its entry is back at once). The state holds even when Redis
        fails (``redis.RedisError`` is raised): a stale entry of a backgrounded socket expires
        unrefreshed, a foreground one is put back by the next refresh."""
        assert socket.user_id is not None
        async with self.presence_lock:
            if background:
                self.away.add(socket)
                await presence_leave(user_id=socket.user_id, channel_name=socket.channel_name)
            else:
                self.away.discard(socket)
                await presence_touch(user_id=socket.user_id, channel_name=socket.channel_name)

    async def _refresh_loop(self) -> None:
        """Every second, renews the presence of the sockets whose turn it is, so that each is
        renewed once per heartbeat period and no tick carries them all."""
        since_rejoin = 0.0
        turn = 0
        snapshot: tuple[float, dict[Socket, int]] | None = None
        while True:
            await asyncio.sleep(PRESENCE_TICK_SECONDS)
            since_rejoin += PRESENCE_TICK_SECONDS
            ticks = max(int(settings.REALTIME_HEARTBEAT_SECONDS / PRESENCE_TICK_SECONDS), 1)
            turn = (turn + 1) % ticks
            try:
                await self._refresh_presence(turn, ticks)
                if since_rejoin >= GROUP_REFRESH_SECONDS:
                    since_rejoin = 0.0
                    await self._rejoin()
            except (redis.RedisError, OSError) as error:
                logger.info("presence refresh failed (%s)", type(error).__name__)
            # The sweep needs the database only: it runs with Redis down too.
            grace = min(SWEEP_GRACE_SECONDS, settings.REALTIME_HEARTBEAT_SECONDS)
            if snapshot is not None and time.monotonic() - snapshot[0] >= grace:
                self._top_up_behind(snapshot[1])
                snapshot = None
            if turn == 0 and snapshot is None:
                try:
                    snapshot = (time.monotonic(), await self._sweep_read())
                except DatabaseError as error:
                    logger.warning("socket sweep failed (%s)", type(error).__name__)

    async def _refresh_presence(self, turn: int, ticks: int) -> None:
        entries = [
            (socket, user_id) for socket, user_id in self.present.items() if user_id % ticks == turn
        ]
        for start in range(0, len(entries), PRESENCE_BATCH):
            async with self.presence_lock:
                await presence_refresh(
                    [
                        (user_id, socket.channel_name)
                        for socket, user_id in entries[start : start + PRESENCE_BATCH]
                        if socket not in self.away and socket in self.present
                    ]
                )

    async def _sweep_read(self) -> dict[Socket, int]:
        """Once per heartbeat period, the sweep reads the log's last id of every local socket's
        person (one query per thousand) and keeps those that are behind it; what they miss is
        sent from the log a grace period later (``_top_up_behind``), when the socket is still
        behind. An event whose live message was lost (the channel layer was down, or dropped
        it) so reaches an open socket within a period even when no later event comes to reveal
        the hole, and an event still on its way (a topic event being handed to a thousand
        sockets) is not fetched from the log for nothing."""
        sockets = list(self.present)
        latest: dict[int, int] = {}
        for start in range(0, len(sockets), SWEEP_BATCH):
            ids = [
                self.present[s] for s in sockets[start : start + SWEEP_BATCH] if s in self.present
            ]
            latest.update(await database_sync_to_async(streams_last_seq)(user_ids=ids))
        behind: dict[Socket, int] = {}
        for socket in sockets:
            user_id = self.present.get(socket)
            if user_id is not None and latest.get(user_id, 0) > socket.last_seq:
                behind[socket] = latest[user_id]
        return behind

    def _top_up_behind(self, behind: dict[Socket, int]) -> None:
        for socket, upto in behind.items():
            if socket in self.present and upto > socket.last_seq:
                task = asyncio.create_task(socket.top_up(upto))
                self.background.add(task)
                task.add_done_callback(self.background.discard)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ProcessHub]
_hubs = weakref.WeakKeyDictionary()


def process_hub() -> ProcessHub:
    """The hub of the running event loop (a Daphne process has one)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = ProcessHub()
    return hub
