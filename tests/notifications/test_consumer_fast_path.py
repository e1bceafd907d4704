"""The socket's consumer taking live events as the channel layer's reader gets them
(``EventsConsumer._take_at_once``): only the next event, only when nothing of the socket's is
queued or being handled, so that nothing sent before it is overtaken."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from notifications.consumers import EventsConsumer


def _consumer(out: list[tuple[str, Any]]) -> EventsConsumer:
    consumer = EventsConsumer()
    consumer.channel_layer = get_channel_layer()
    consumer.deliver_lock = asyncio.Lock()
    consumer.background = set()
    consumer.user_id = 7
    consumer.send_now = lambda text: out.append(("at once", json.loads(text)))

    async def base_send(message: dict[str, Any]) -> None:
        out.append(("queued", json.loads(message["text"])))

    consumer.base_send = base_send
    return consumer


def _event(seq: int) -> dict[str, Any]:
    return {"type": "event.deliver", "id": seq, "tail": ',"type":"message.new","data":{}}'}


READ = {"type": "notifications.read", "up_to": 1, "unread": 0, "last_id": 1}


def test_an_event_never_overtakes_a_message_taken_from_the_queue_but_not_yet_handled():
    out: list[tuple[str, Any]] = []

    async def scenario() -> None:
        consumer = _consumer(out)
        layer = consumer.channel_layer

        def offer(message: dict[str, Any]) -> bool:
            return consumer._take_at_once(layer.serialize(message))

        assert offer(_event(1)) is True  # the next event, nothing waiting: sent at once
        assert offer(READ) is False  # not an event: queued
        # The consumer has taken the read from the queue (empty again) but not handled it yet:
        # event 2 must wait its turn.
        assert offer(_event(2)) is False
        await consumer.dispatch(READ)
        await consumer.dispatch(_event(2))
        assert offer(_event(4)) is False  # a hole (3 is missing): the long way, from the log
        assert consumer.channel_backlog == 1
        consumer.last_seq = 4  # as if 3 and 4 had come from the log
        await consumer.dispatch(_event(4))  # already sent: dropped
        assert consumer.channel_backlog == 0
        assert offer(_event(5)) is True
        consumer.closing = True
        assert offer(_event(6)) is False  # closing: nothing more at once

    async_to_sync(scenario)()
    assert [(how, m.get("id", m["type"])) for how, m in out] == [
        ("at once", 1),
        ("queued", "notifications.read"),
        ("at once", 2),  # handled in its turn, through the same direct send
        ("at once", 5),
    ]
