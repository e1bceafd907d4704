"""Redis goes down and comes back: the API keeps answering, events are logged, clients catch up,
pushes go out.

This test stops a Redis of its own (the shared one serves other people's tests): a second
``redis-server``, a Daphne and this process's channel layer, tickets and Celery broker all on it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed, InvalidMessage

from notifications.models import Event, PushOutbox
from notifications.services import notify, push_enqueue
from notifications.tasks import push_sweep
from tests.accounts.factories import UserFactory, access_token_for
from tests.harness import Daphne, RedisServer
from tests.notifications.realtime import Socket, daphne_on, open_socket, use_redis

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Tasks go to a real broker at ``url`` (no worker runs: the outbox is what we watch)."""
    from backend.celery import app

    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = url, False
    app.close()  # forget pooled connections to the previous broker
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        app.close()


@pytest.fixture
def outage(settings) -> Iterator[tuple[RedisServer, Daphne]]:
    with RedisServer() as redis_server, daphne_on(redis_server.url) as server:
        use_redis(settings, redis_server.url)
        try:
            with celery_broker(redis_server.url):
                yield redis_server, server
        finally:
            # Pytest shows this only when the test fails: what Daphne logged.
            print(f"--- daphne output ---\n{server.output()}")


def message(n: int) -> dict:
    return {
        "conversation_id": 9,
        "message_id": n,
        "sender_id": 17,
        "sender_name": "Camille",
        "preview": f"message {n}",
    }


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as exit_stack:
        yield exit_stack


def test_with_redis_down_the_api_answers_events_are_kept_and_delivered_after(
    outage, fcm, caplog, stack
):
    redis_server, server = outage
    user = UserFactory()
    token = access_token_for(user)
    status, _ = server.request(
        "POST", "/api/v1/devices", token, {"platform": "android", "token": "phone-1"}
    )
    assert status == 201

    status, ticket = server.request("POST", "/api/v1/realtime/ticket", token)
    assert status == 201
    with open_socket(server, ticket["ticket"], ticket["last_id"]) as connection:
        sock = Socket(connection)
        assert sock.until_ready() == ([], 0)
        eta = {"order_id": 1, "route_id": 2, "eta": "2026-05-16T17:42:00+02:00", "minutes": 9}
        notify(event_type="order.eta", recipients=[user], data=eta)
        assert sock.next()["id"] == 1

    # Another resident keeps their app open through the outage.
    neighbour = UserFactory()
    neighbour_token = access_token_for(neighbour)
    status, neighbour_ticket = server.request("POST", "/api/v1/realtime/ticket", neighbour_token)
    open_app = Socket(stack.enter_context(open_socket(server, neighbour_ticket["ticket"], 0)))
    assert open_app.until_ready() == ([], 0)

    redis_server.stop()

    # The API answers: what needs Redis says so in the API's error format, the rest works.
    assert server.request("GET", "/healthz") == (200, {"status": "ok"})
    status, ready = server.request("GET", "/readyz")
    assert (status, ready["checks"]["redis"]) == (503, False)
    assert server.request("GET", "/api/v1/me", token)[0] == 200
    status, _ = server.request(
        "POST", "/api/v1/devices", token, {"platform": "ios", "token": "tablet-1", "locale": "fr"}
    )
    assert status == 201
    status, body = server.request("POST", "/api/v1/realtime/ticket", token)
    assert (status, body["code"]) == (503, "realtime_unavailable")
    assert set(body) == {"code", "detail", "fields"}

    # A socket opened now is told to come back later (4503), not refused with an HTTP 500: its
    # own channel cannot be subscribed.
    with open_socket(server, "t" * 43) as refused:
        assert json.loads(refused.recv(timeout=10))["code"] == "unavailable"
        with pytest.raises(ConnectionClosed):
            refused.recv(timeout=10)
        assert refused.close_code == 4503

    # notify() neither raises nor loses anything: the log and the outbox have it all.
    with caplog.at_level(logging.WARNING, logger="notifications"):
        for n in (2, 3, 4):
            notify(event_type="message.new", recipients=[user], data=message(n))
    assert list(
        Event.objects.filter(recipient=user).order_by("seq").values_list("seq", "type")
    ) == [
        (1, "order.eta"),
        (2, "message.new"),
        (3, "message.new"),
        (4, "message.new"),
    ]
    pending = PushOutbox.objects.filter(event__recipient=user, status="pending")
    assert sorted(pending.values_list("event__seq", flat=True)) == [2, 3, 4]
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("live delivery of message.new to 1 recipient(s) failed" in w for w in warnings) == 3
    assert sum("push(es) wait in the outbox for the sweep" in w for w in warnings) == 3
    assert fcm.requests == []

    # The open socket is not cut off: the server's sweep of its sockets against the log (one
    # query per heartbeat period) brings it what the channel layer could not.
    notify(event_type="message.new", recipients=[neighbour], data=message(10))
    received = open_app.next(timeout=10)
    assert (received["id"], received["data"]["message_id"]) == (1, 10)

    redis_server.start()

    # The sweep (Celery beat, every 30 s) sends the pushes that waited: one per device.
    # (The neighbour's push is skipped: no device.)
    assert push_sweep.apply().get(disable_sync_subtasks=False) == {
        "sent": 3,
        "skipped": 1,
        "deferred": 0,
        "retrying": 0,
    }
    assert sorted((m["token"], m["data"]["event_id"]) for m in fcm.messages()) == sorted(
        (token_, str(n)) for n in (2, 3, 4) for token_ in ("phone-1", "tablet-1")
    )
    assert not pending.exists()
    assert push_enqueue([]) is True  # the broker takes tasks again

    # A client that reconnects with its last id gets what it missed, once and in order.
    # Daphne's connections to the new Redis may still be coming back: a handshake it drops is
    # tried again with a new ticket (the app would do the same).
    for attempt in range(3):
        status, ticket = server.request("POST", "/api/v1/realtime/ticket", token)
        assert (status, ticket["last_id"]) == (201, 4)
        try:
            connection = open_socket(server, ticket["ticket"], last_id=1)
            break
        except (EOFError, OSError, InvalidMessage):
            if attempt == 2:
                raise
            time.sleep(1)
    with connection:
        sock = Socket(connection)
        replayed, last_id = sock.until_ready()
        assert [(e["id"], e["data"]["message_id"]) for e in replayed] == [(2, 2), (3, 3), (4, 4)]
        assert last_id == 4
        notify(event_type="message.new", recipients=[user], data=message(5))
        assert sock.next()["id"] == 5
    # The socket that stayed open goes on receiving.
    notify(event_type="message.new", recipients=[neighbour], data=message(11))
    assert open_app.next(timeout=10)["id"] == 2
