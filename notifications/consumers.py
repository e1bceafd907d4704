"""The socket ``/ws/v1/events``: the live events of one person, with nothing lost on reconnect.

Opening (``?ticket=...&last_id=...``): the ticket is redeemed; the socket joins its person's
group and topics *first*, then reads the log and replays what follows ``last_id`` (or sends a
``system.resync``), then ``{"type": "ready", "last_id": n}``. Live events that arrive meanwhile
wait (in the channel layer, or for the delivery lock) and are sent after the replay, except
those already replayed. Topic events come through the process hub (``notifications.hub``).

Live events carry consecutive ids per person, so a hole (an event the channel layer dropped, or
one that overtook another) is filled from the log before the event is sent: the client sees
every id once and in order. Close codes: 4400 bad ``last_id``, 4401 missing, used or expired
ticket, 4503 Redis unavailable (retry later), 4429 too many invalid messages; an error message
``{"type": "error", "code": ...}`` tells why just before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qs

import redis
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from notifications import selectors
from notifications.fanout import user_group
from notifications.hub import process_hub
from notifications.presence import presence_leave, presence_touch
from notifications.protocol import (
    ProtocolError,
    TokenBucket,
    inbound_parse,
    position_parse,
    presence_parse,
)
from notifications.services import position_allowed, position_record
from notifications.tickets import ticket_redeem_owner

logger = logging.getLogger(__name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
# Applications may only close with 1000 or 3000-4999.
CLOSE_TOO_MANY_ERRORS = 4429
CLOSE_TRY_AGAIN_LATER = 4503
# Group memberships expire in the channel layer (group_expiry): rejoin well before.
GROUP_REFRESH_SECONDS = 3600.0
REASONS = {
    "ticket_missing": "Open the socket with ?ticket= from POST /api/v1/realtime/ticket.",
    "ticket_invalid": "This ticket is unknown, used or expired: get a new one.",
    "session_ended": "The session that opened this socket has ended: log in again.",
    "invalid_last_id": "last_id must be a non-negative integer.",
    "unavailable": "Live updates are unavailable for a moment: reconnect later.",
    "too_many_errors": "Too many invalid messages.",
}


# Sockets opening or closing at once (every app reconnecting after a restart) go through this
# many at a time per process, which bounds the Redis connections and the database queue.
OPENING_CONCURRENCY = 32
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
_gates = weakref.WeakKeyDictionary()


def _opening_gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(OPENING_CONCURRENCY)
    return gate


def text_sender(send: Any) -> Callable[[str], None] | None:
    """A function that sends a text frame at once (``send_text_now`` of backend/server.py) when
    ``send`` is what our Daphne gives a websocket's application (its ``handle_reply`` bound to
    the socket's protocol); ``None`` under another server or a test communicator, where frames
    go through ``send``. Duck-typed: importing Daphne's server installs Twisted's reactor."""
    if not isinstance(send, partial) or len(send.args) != 1:
        return None
    if getattr(send.func, "__name__", None) != "handle_reply":
        return None
    sender = getattr(send.args[0], "send_text_now", None)
    return sender if callable(sender) else None


def _now_iso() -> str:
    return timezone.localtime().isoformat()


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class EventsConsumer(AsyncWebsocketConsumer):
    user_id: int | None = None
    session_id: str | None = None
    last_seq = 0
    closing = False
    joined: list[str]
    topics: set[str]
    heartbeat: asyncio.Task[None] | None = None
    # Sends a text frame at once under our Daphne (``text_sender``); live events go this way.
    send_now: Callable[[str], None] | None = None
    # Messages of the channel layer declined by ``_take_at_once``, queued or being handled.
    channel_backlog = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Channels subscribes the socket's own channel before the consumer runs; when Redis
        # cannot take it (it is down, or just restarted), the client is told to come back later
        # in the protocol's terms (4503), not by an HTTP 500 handshake.
        accepted = False
        self.send_now = text_sender(send)

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal accepted
            if message.get("type") == "websocket.accept":
                accepted = True
            await send(message)

        try:
            await super().__call__(scope, receive, tracking_send)
        except (redis.RedisError, OSError) as error:
            if accepted:
                raise
            logger.warning("socket refused, Redis unavailable: %r", error)
            await send({"type": "websocket.accept"})
            reason = "unavailable"
            detail = {"type": "error", "code": reason, "detail": REASONS[reason]}
            await send({"type": "websocket.send", "text": _dumps(detail)})
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every message, by a trip to its one
        # thread for sync code: every live event of every socket of the process would queue
        # there. This consumer reaches the database only through database_sync_to_async, which
        # does that cleaning itself.
        handler = getattr(self, get_handler_name(message), None)
        try:
            if handler is None:
                raise ValueError(f"No handler for message type {message['type']}")
            await handler(message)
        finally:
            if not message["type"].startswith("websocket.") and self.channel_backlog:
                self.channel_backlog -= 1

    def _take_at_once(self, data: bytes) -> bool:
        """The channel layer's reader offers this socket every message for it as it arrives
        (``PubSubChannelLayer.take_at_once``): the next live event goes out at once when
        nothing of the socket's is queued or being handled (every message declined is counted
        until ``dispatch`` is done with it), so nothing is overtaken. Anything else is declined
        and goes through the queue and ``dispatch`` in order."""
        if not self.channel_backlog:
            message = self.channel_layer.deserialize(data)
            if message.get("type") == "event.deliver" and self._send_next_now(
                message["id"], message["tail"]
            ):
                return True
        self.channel_backlog += 1
        return False

    # --- opening --------------------------------------------------------------------------------

    async def connect(self) -> None:
        self.joined = []
        self.topics = set()
        # Held while the socket opens and while a live event is sent: events are sent one at a
        # time and in order, whoever hands them over (the channel layer or the topic hub).
        self.deliver_lock = asyncio.Lock()
        self.background: set[asyncio.Task[None]] = set()
        self.position_bucket = TokenBucket(
            rate=settings.REALTIME_POSITION_RATE_PER_SECOND, burst=settings.REALTIME_POSITION_BURST
        )
        self.error_bucket = TokenBucket(rate=1.0, burst=settings.REALTIME_INBOUND_ERROR_BURST)
        self.may_send_position: bool | None = None
        if self.send_now is not None and hasattr(self.channel_layer, "take_at_once"):
            # Before any group is joined: every message for the socket is offered, or counted.
            self.channel_layer.take_at_once(self.channel_name, self._take_at_once)
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        ticket = (query.get("ticket") or [""])[0]
        if not ticket:
            await self._refuse(CLOSE_UNAUTHORIZED, "ticket_missing")
            return
        after: int | None = None
        raw_last = (query.get("last_id") or [None])[0]
        if raw_last not in (None, ""):
            if not raw_last.isdigit() or len(raw_last) > 18:
                await self._refuse(CLOSE_BAD_REQUEST, "invalid_last_id")
                return
            after = int(raw_last)
        async with _opening_gate(), self.deliver_lock:
            await self._open(ticket, after)

    async def _open(self, ticket: str, after: int | None) -> None:
        try:
            owner = await ticket_redeem_owner(ticket)
        except redis.RedisError as error:
            logger.warning("socket refused, Redis unavailable: %r", error)
            await self._refuse(CLOSE_TRY_AGAIN_LATER, "unavailable")
            return
        if owner is None:
            await self._refuse(CLOSE_UNAUTHORIZED, "ticket_invalid")
            return
        user_id = owner.user_id
        self.user_id = user_id
        self.session_id = owner.session_id
        hub = process_hub()
        try:
            await self._join(user_group(user_id))
            topics = await database_sync_to_async(selectors.user_topics)(user_id=user_id)
            for topic in topics:
                await hub.topic_join(topic, self)
                self.topics.add(topic)
            await presence_touch(user_id=user_id, channel_name=self.channel_name)
            await hub.presence_keep(self)
        except redis.RedisError as error:
            logger.warning("socket refused, Redis unavailable: %r", error)
            await self._refuse(CLOSE_TRY_AGAIN_LATER, "unavailable")
            return
        catch_up = await database_sync_to_async(selectors.socket_catch_up)(
            user_id=user_id, after=after, limit=settings.REALTIME_REPLAY_MAX
        )
        if catch_up.resync is not None:
            await self._resync(catch_up.last_seq, catch_up.resync)
        else:
            for envelope in catch_up.events:
                await self.send(text_data=_dumps(envelope))
        self.last_seq = catch_up.last_seq
        await self.send(text_data=_dumps({"type": "ready", "last_id": self.last_seq}))
        self.heartbeat = asyncio.create_task(self._heartbeat())

    async def _refuse(self, close_code: int, reason: str) -> None:
        """Says why in an error message (Daphne sends no close reason), then closes."""
        self.closing = True
        await self.send(
            text_data=_dumps({"type": "error", "code": reason, "detail": REASONS[reason]})
        )
        await self.close(code=close_code)

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        if group not in self.joined:
            self.joined.append(group)

    async def _resync(self, last_seq: int, reason: str) -> None:
        await self.send(
            text_data=_dumps(
                {
                    "id": last_seq,
                    "type": "system.resync",
                    "at": _now_iso(),
                    "data": {"reason": reason},
                }
            )
        )

    # --- closing --------------------------------------------------------------------------------

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if self.heartbeat is not None:
            self.heartbeat.cancel()
        if hasattr(self.channel_layer, "take_at_once"):
            self.channel_layer.take_at_once(self.channel_name, None)
        if self.user_id is None:
            return
        try:
            async with _opening_gate():
                await self._leave()
        except redis.RedisError as error:
            logger.info("socket cleanup skipped, Redis unavailable (%s)", type(error).__name__)

    async def _leave(self) -> None:
        assert self.user_id is not None
        hub = process_hub()
        hub.presence_drop(self)
        for topic in sorted(self.topics):
            await hub.topic_leave(topic, self)
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        await presence_leave(user_id=self.user_id, channel_name=self.channel_name)

    # --- heartbeat ------------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        """A heartbeat message every period (presence is refreshed by the process hub)."""
        interval = settings.REALTIME_HEARTBEAT_SECONDS
        since_refresh = 0.0
        while True:
            await asyncio.sleep(interval)
            if self.closing:
                return
            await self.send(text_data=_dumps({"type": "heartbeat", "at": _now_iso()}))
            since_refresh += interval
            if since_refresh >= GROUP_REFRESH_SECONDS:
                since_refresh = 0.0
                try:
                    for group in self.joined:
                        await self.channel_layer.group_add(group, self.channel_name)
                except redis.RedisError as error:
                    logger.info("could not refresh groups (%s)", type(error).__name__)

    # --- live events ----------------------------------------------------------------------------

    async def event_deliver(self, message: dict[str, Any]) -> None:
        if not self._send_next_now(message["id"], message["tail"]):
            await self._deliver(message["id"], message["tail"])

    def _send_next_now(self, seq: int, tail: str) -> bool:
        """Sends the event if it is the next one and the socket can take it straight away
        (under our Daphne, nothing else being sent): nothing is awaited, so no other delivery
        comes between the check and the send. ``False`` when it must go the long way."""
        if (
            self.send_now is None
            or self.closing
            or seq != self.last_seq + 1
            or self.deliver_lock.locked()
        ):
            return False
        self.send_now(f'{{"id":{seq:d}{tail}')
        self.last_seq = seq
        return True

    def offer(self, seq: int, tail: str) -> None:
        """An event of one of the socket's topics, handed over by the process hub in its pass
        over the topic's sockets, which awaits nothing. The usual case is sent at once; one
        that must wait (the socket is opening, a hole must first be filled from the log, or
        another server than ours) goes in a task of its own, in order behind the socket's lock,
        so the hub goes on to the others."""
        if self.closing or seq <= self.last_seq or self._send_next_now(seq, tail):
            return
        task = asyncio.create_task(self._deliver(seq, tail))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def top_up(self, upto: int) -> None:
        """Sends from the log what the socket missed up to ``upto`` (the hub's sweep)."""
        async with self.deliver_lock:
            if not self.closing and upto > self.last_seq:
                await self._catch_up_to(upto)

    async def _deliver(self, seq: int, tail: str) -> None:
        async with self.deliver_lock:
            if self.closing or seq <= self.last_seq:
                return  # sent already, by the replay or by a repair
            if seq > self.last_seq + 1:
                await self._catch_up_to(seq - 1)
            await self.send(text_data=f'{{"id":{seq:d}{tail}')
            self.last_seq = seq

    async def _catch_up_to(self, upto: int) -> None:
        """Sends the events after ``last_seq`` up to ``upto`` from the log (or a resync)."""
        assert self.user_id is not None
        missing = await database_sync_to_async(selectors.events_between)(
            user_id=self.user_id, after=self.last_seq, upto=upto
        )
        if missing is None:
            await self._resync(upto, "log_expired")
        else:
            for earlier in missing:
                await self.send(text_data=_dumps(earlier))
        self.last_seq = upto

    async def session_ended(self, message: dict[str, Any]) -> None:
        """The session that opened this socket ended (logout, revoked, password reset, account
        deleted): the socket closes, saying why."""
        if self.session_id is not None and self.session_id in message.get("sessions", []):
            await self._refuse(CLOSE_UNAUTHORIZED, "session_ended")

    async def topics_changed(self, message: dict[str, Any]) -> None:
        assert self.user_id is not None
        wanted = set(await database_sync_to_async(selectors.user_topics)(user_id=self.user_id))
        hub = process_hub()
        with contextlib.suppress(redis.RedisError):
            for topic in sorted(self.topics - wanted):
                await hub.topic_leave(topic, self)
                self.topics.discard(topic)
            for topic in sorted(wanted - self.topics):
                await hub.topic_join(topic, self)
                self.topics.add(topic)
        # A topic event committed before the socket joined the topic comes from the log.
        last = await database_sync_to_async(selectors.stream_last_seq)(user_id=self.user_id)
        async with self.deliver_lock:
            if last > self.last_seq:
                await self._catch_up_to(last)

    async def notifications_read(self, message: dict[str, Any]) -> None:
        """Some of the person's events were marked read (on this device or another): the socket
        says which, ``ids`` or everything ``up_to`` an id, with the unread count after it."""
        if self.closing:
            return
        body: dict[str, Any] = {"type": "notifications.read"}
        for key in ("ids", "up_to", "unread", "last_id"):
            if key in message:
                body[key] = message[key]
        async with self.deliver_lock:  # after the replay and "ready", never amid them
            if not self.closing:
                await self.send(text_data=_dumps(body))

    # --- inbound messages -----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is None or self.closing:
            return
        try:
            message = inbound_parse(text_data, bytes_data)
            kind = message["type"]
            if kind == "ping":
                await self.send(text_data=_dumps({"type": "pong", "at": _now_iso()}))
            elif kind == "position":
                await self._position(message)
            elif kind == "presence":
                await self._presence(message)
            else:
                raise ProtocolError("unknown_type", f"Unknown message type: {kind[:40]}.", "type")
        except ProtocolError as error:
            await self.send(text_data=_dumps(error.message()))
            if error.strike and not self.error_bucket.take():
                await self._refuse(CLOSE_TOO_MANY_ERRORS, "too_many_errors")

    async def _presence(self, message: dict[str, Any]) -> None:
        """The app went to the background or came back: only sockets in the foreground count
        as online, so pushes "when offline" reach a phone whose app shows nothing."""
        background = presence_parse(message)
        try:
            await process_hub().presence_background(self, background=background)
        except redis.RedisError as error:
            # The hub keeps the state: presence catches up when Redis answers again.
            logger.info("presence change not written, Redis unavailable (%s)", type(error).__name__)

    async def _position(self, message: dict[str, Any]) -> None:
        report = position_parse(message, timezone.now())
        assert self.user_id is not None
        if self.may_send_position is None:  # asked once per socket
            self.may_send_position = await database_sync_to_async(position_allowed)(
                user_id=self.user_id
            )
        if not self.may_send_position:
            raise ProtocolError("not_a_courier", "Only couriers send their position.", "type")
        if not self.position_bucket.take():
            error = ProtocolError("rate_limited", "Too many positions: slow down.")
            body = error.message()
            body["retry_after"] = round(self.position_bucket.wait(), 3)
            await self.send(text_data=_dumps(body))
            if not self.error_bucket.take():
                await self._refuse(CLOSE_TOO_MANY_ERRORS, "too_many_errors")
            return
        await database_sync_to_async(position_record)(
            user_id=self.user_id,
            lon=report.lon,
            lat=report.lat,
            measured_at=report.measured_at,
            accuracy_m=report.accuracy_m,
        )
