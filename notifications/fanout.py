"""Live delivery of committed events to open sockets, through the Redis channel layer.

Each person's sockets are in the group ``user.<id>``: a personal event is one ``group_send`` per
recipient. An event sent to a topic (``neighbourhood.3``) is one ``group_send`` to the group
``topic.neighbourhood.3``, whatever the number of members: the channel layer stores one message
per server process and every socket picks its own ``id`` from the message's ``seqs``.

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

import redis
from channels.layers import get_channel_layer
from django.conf import settings

from notifications.catalogue import event_link

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


async def _send(delivery: Delivery) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    tail = envelope_tail(delivery.event_type, delivery.at, delivery.data)
    if delivery.topic is not None:
        await layer.group_send(
            topic_group(delivery.topic),
            {
                "type": "event.broadcast",
                "topic": delivery.topic,
                "tail": tail,
                "seqs": {str(user_id): seq for user_id, seq in delivery.seqs.items()},
            },
        )
        return
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(user_id: int, seq: int) -> None:
        async with gate:
            await layer.group_send(
                user_group(user_id), {"type": "event.deliver", "id": seq, "tail": tail}
            )

    await asyncio.gather(*(one(user_id, seq) for user_id, seq in delivery.seqs.items()))


async def _send_bounded(delivery: Delivery) -> None:
    await asyncio.wait_for(_send(delivery), timeout=settings.REALTIME_FANOUT_TIMEOUT_SECONDS)


class _LoopThread:
    """One event loop per process, in a daemon thread, for sync callers (views, tasks): the
    channel layer keeps its Redis connections per loop, so they are reused from one commit to
    the next instead of being opened for each."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pid = 0

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedules ``coroutine`` on the loop without waiting for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop())

    def _loop(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self.loop is None or self.pid != os.getpid():  # first use, or a forked child
                self.loop = asyncio.new_event_loop()
                self.pid = os.getpid()
                threading.Thread(
                    target=self.loop.run_forever, name="notifications-fanout", daemon=True
                ).start()
            return self.loop

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop())
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError from None


_loop_thread = _LoopThread()


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs ``coroutine`` to completion from sync code, bounded by the fan-out timeout."""
    timeout = settings.REALTIME_FANOUT_TIMEOUT_SECONDS
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _loop_thread.run(coroutine, timeout + 0.5)
    coroutine.close()
    raise RuntimeError("fan-out is for sync code: call it from a thread, not an event loop")


def fanout_deliver(delivery: Delivery) -> bool:
    """Sends a committed event to the open sockets of its recipients; ``False`` when the channel
    layer could not take it (logged; the event stays in the log)."""
    try:
        _run(_send_bounded(delivery))
    except (redis.RedisError, OSError, TimeoutError) as error:
        logger.warning(
            "live delivery of %s to %d recipient(s) failed (%s); it stays in their log",
            delivery.event_type,
            len(delivery.seqs),
            type(error).__name__,
        )
        return False
    return True


async def _send_many(deliveries: list[Delivery]) -> None:
    await asyncio.wait_for(
        asyncio.gather(*(_send(d) for d in deliveries)),
        timeout=settings.REALTIME_FANOUT_TIMEOUT_SECONDS,
    )


def fanout_deliver_many(deliveries: list[Delivery]) -> bool:
    """Several committed events at once (a plan telling hundreds of residents): handed to the
    process's event loop in one trip, the channel layer's sends concurrent, without waiting for
    them (the commit that made them returns at once; a failure is logged, and the events stay in
    their recipients' logs, where sockets catch up). ``False`` when the loop could not take them."""
    if not deliveries:
        return True

    def done(future: concurrent.futures.Future[None]) -> None:
        error = future.exception() if not future.cancelled() else None
        if error is not None:
            logger.warning(
                "live delivery of %d %s event(s) failed (%s); they stay in their recipients' logs",
                len(deliveries),
                deliveries[0].event_type,
                type(error).__name__,
            )

    try:
        future = _loop_thread.submit(_send_many(deliveries))
    except RuntimeError as error:  # no loop (interpreter shutting down)
        logger.warning("live delivery of %d event(s) not started (%s)", len(deliveries), error)
        return False
    future.add_done_callback(done)
    return True


async def _send_control(user_ids: list[int], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for user_id in user_ids:
            await layer.group_send(user_group(user_id), message)

    await asyncio.wait_for(send_all(), timeout=settings.REALTIME_FANOUT_TIMEOUT_SECONDS)


def fanout_control(user_ids: list[int], message_type: str, **fields: Any) -> None:
    """Tells the sockets of ``user_ids`` something about themselves (``topics.changed``,
    ``session.ended`` with the ``sessions`` that ended)."""
    try:
        _run(_send_control(user_ids, {"type": message_type, **fields}))
    except (redis.RedisError, OSError, TimeoutError) as error:
        logger.warning("control message %s failed (%s)", message_type, type(error).__name__)


def sessions_ended_close(*, user_id: int, session_ids: list[str], **_: Any) -> None:
    """Receiver of ``accounts.signals.sessions_ended``: the sockets those sessions opened close
    (logout, a revoked device, a password reset, a deleted account)."""
    fanout_control([user_id], "session.ended", sessions=list(session_ids))
