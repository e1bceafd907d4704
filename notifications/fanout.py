"""Live delivery of committed events to open sockets, through the Redis channel layer.

Each person's sockets are in the group ``user.<id>``: a personal event is one message per
recipient. An event sent to a topic (``neighbourhood.3``) is one message to the group
``topic.neighbourhood.3``, whatever the number of members: each server process receives it once
and every socket picks its own ``id`` from the message (``broadcast_seqs``). The messages of one
commit leave together, from the committing thread, in one round trip to Redis
(``PubSubChannelLayer.group_send_blocking``).

Live delivery is best effort by design: the log is the truth. A failure here (Redis down, a
timeout) is logged and the request goes on; sockets heal from the log when they see a hole in
the ids, and reconnecting clients replay what they missed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy
import redis
from channels.layers import get_channel_layer
from django.conf import settings

from notifications.catalogue import event_link
from notifications.layer import PubSubChannelLayer

logger = logging.getLogger(__name__)
T = TypeVar("T")

# group_send calls in flight at once for one notify() (each holds a Redis connection).
CONCURRENCY = 32


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def topic_group(topic: str) -> str:
    return f"topic.{topic}"


@dataclass(frozen=True)
class Delivery:
    event_type: str
    at: str
    data: dict[str, Any]
    seqs: dict[int, int]  # recipient id -> seq
    topic: str | None = None


def envelope_tail(event_type: str, at: str, data: dict[str, Any]) -> str:
    """The JSON envelope of an event without its ``id``: ``'{"id":' + str(id) + tail`` is the
    whole envelope, with the event's deep link when its type has one. Serialised once per event,
    not once per socket."""
    envelope: dict[str, Any] = {"type": event_type, "at": at, "data": data}
    link = event_link(event_type, data)
    if link is not None:
        envelope["link"] = link
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    return "," + body[1:]


# A topic event names its recipients and their ids as two arrays of little-endian 64-bit integers:
# for a thousand members, a few microseconds to pack and to read back, where a map of a thousand
# string keys took a fifth of a millisecond to decode in every server process.
_PACKED = numpy.dtype("<i8")


def _broadcast_message(topic: str, tail: str, seqs: dict[int, int]) -> dict[str, Any]:
    return {
        "type": "event.broadcast",
        "topic": topic,
        "tail": tail,
        "users": numpy.fromiter(seqs.keys(), _PACKED, len(seqs)).tobytes(),
        "ids": numpy.fromiter(seqs.values(), _PACKED, len(seqs)).tobytes(),
    }


def broadcast_seqs(message: dict[str, Any]) -> dict[int, int]:
    """The id of a topic event for each of its recipients (user id -> id). A message of the
    earlier format (``seqs``, a map of string keys) is read too, while a deployment runs both."""
    if "users" in message:
        users = numpy.frombuffer(message["users"], _PACKED).tolist()
        ids = numpy.frombuffer(message["ids"], _PACKED).tolist()
        return dict(zip(users, ids, strict=True))
    return {int(user_id): seq for user_id, seq in message["seqs"].items()}


def _messages(delivery: Delivery) -> list[tuple[str, dict[str, Any]]]:
    """The ``(group, message)`` pairs that carry ``delivery``: one per recipient, or one for the
    topic."""
    tail = envelope_tail(delivery.event_type, delivery.at, delivery.data)
    if delivery.topic is not None:
        message = _broadcast_message(delivery.topic, tail, delivery.seqs)
        return [(topic_group(delivery.topic), message)]
    return [
        (user_group(user_id), {"type": "event.deliver", "id": seq, "tail": tail})
        for user_id, seq in delivery.seqs.items()
    ]


async def _group_send_all(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(group: str, message: dict[str, Any]) -> None:
        async with gate:
            await layer.group_send(group, message)

    await asyncio.wait_for(
        asyncio.gather(*(one(group, message) for group, message in messages)),
        timeout=settings.REALTIME_FANOUT_TIMEOUT_SECONDS,
    )


def _publish(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Hands ``messages`` to the channel layer from sync code, bounded by the fan-out timeout.

    On the pub/sub layer, straight from the calling thread in one pipeline (one round trip);
    another layer gets them through the process's event loop thread, concurrently. Raises
    ``redis.RedisError``, ``OSError`` or ``TimeoutError``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("fan-out is for sync code: call it from a thread, not an event loop")
    layer = get_channel_layer()
    if layer is None or not messages:
        return
    timeout = settings.REALTIME_FANOUT_TIMEOUT_SECONDS
    if isinstance(layer, PubSubChannelLayer):
        layer.group_send_blocking(messages, timeout=timeout)
    else:
        _loop_thread.run(_group_send_all(layer, messages), timeout + 0.5)


class _LoopThread:
    """One event loop per process, in a daemon thread, for sync callers (views, tasks): the
    channel layer keeps its Redis connections per loop, so they are reused from one commit to
    the next instead of being opened for each."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pid = 0

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        with self.lock:
            if self.loop is None or self.pid != os.getpid():  # first use, or a forked child
                self.loop = asyncio.new_event_loop()
                self.pid = os.getpid()
                threading.Thread(
                    target=self.loop.run_forever, name="notifications-fanout", daemon=True
                ).start()
            loop = self.loop
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError from None


_loop_thread = _LoopThread()


def fanout_deliver(delivery: Delivery) -> bool:
    """Sends a committed event to the open sockets of its recipients; ``False`` when the channel
    layer could not take it (logged; the event stays in the log)."""
    try:
        _publish(_messages(delivery))
    except (redis.RedisError, OSError, TimeoutError) as error:
        logger.warning(
            "live delivery of %s to %d recipient(s) failed (%s); it stays in their log",
            delivery.event_type,
            len(delivery.seqs),
            type(error).__name__,
        )
        return False
    return True


def fanout_deliver_many(deliveries: list[Delivery]) -> bool:
    """Several committed events at once (a plan telling hundreds of residents): one round trip
    to Redis for them all; ``False`` when the channel layer could not take them."""
    if not deliveries:
        return True
    try:
        _publish([pair for delivery in deliveries for pair in _messages(delivery)])
    except (redis.RedisError, OSError, TimeoutError) as error:
        logger.warning(
            "live delivery of %d %s event(s) failed (%s); they stay in their recipients' logs",
            len(deliveries),
            deliveries[0].event_type,
            type(error).__name__,
        )
        return False
    return True


def fanout_control(user_ids: list[int], message_type: str, **fields: Any) -> None:
    """Tells the sockets of ``user_ids`` something about themselves (``topics.changed``,
    ``session.ended`` with the ``sessions`` that ended)."""
    try:
        message = {"type": message_type, **fields}
        _publish([(user_group(user_id), message) for user_id in user_ids])
    except (redis.RedisError, OSError, TimeoutError) as error:
        logger.warning("control message %s failed (%s)", message_type, type(error).__name__)


def sessions_ended_close(*, user_id: int, session_ids: list[str], **_: Any) -> None:
    """Receiver of ``accounts.signals.sessions_ended``: the sockets those sessions opened close
    (logout, a revoked device, a password reset, a deleted account)."""
    fanout_control([user_id], "session.ended", sessions=list(session_ids))
