"""End to end: a real Daphne on the Redis channel layer and the test database, real websocket
clients (``websockets``), events emitted by ``notify()`` in this process and committed."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from websockets.exceptions import ConnectionClosed, InvalidStatus

from notifications.catalogue import CATALOGUE
from notifications.models import Event, EventStream, LastPosition
from notifications.services import events_prune, notify, topic_subscribe
from notifications.tickets import ticket_exists
from tests.accounts.factories import UserFactory
from tests.harness import wait_until
from tests.notifications.realtime import Socket, issue_ticket, open_socket

# On one pytest-xdist worker: one Daphne serves the module.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("daphne"),
    pytest.mark.django_db(transaction=True),
]

MESSAGE = {
    "conversation_id": 9,
    "message_id": 1,
    "sender_id": 17,
    "sender_name": "Camille",
    "preview": "Salut !",
}


def message(n: int) -> dict:
    return {**MESSAGE, "message_id": n, "preview": f"message {n}"}


def send(user, n: int) -> None:
    notify(event_type="message.new", recipients=[user], data=message(n))


def closed_with(connection, timeout: float = 5.0) -> tuple[int, str]:
    """Reads until the server closes: the close code, and the code of the error message sent
    just before."""
    messages = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            messages.append(json.loads(connection.recv(timeout=timeout)))
    received = closed.value.rcvd
    assert received is not None
    assert messages[-1]["type"] == "error"
    return received.code, messages[-1]["code"]


# --- sessions -----------------------------------------------------------------------------------


class TestSessions:
    def test_ending_the_session_closes_the_sockets_it_opened(self, daphne, client_for):
        from tests.accounts.factories import access_token_for

        user = UserFactory()
        phone, tablet = client_for(None), client_for(None)
        phone.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user, 'phone')}")
        tablet.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user, 'tablet')}")
        phone_ticket = phone.post("/api/v1/realtime/ticket").json()["ticket"]
        tablet_ticket = tablet.post("/api/v1/realtime/ticket").json()["ticket"]
        with (
            open_socket(daphne, phone_ticket) as on_phone,
            open_socket(daphne, tablet_ticket) as on_tablet,
        ):
            Socket(on_phone).until_ready()
            Socket(on_tablet).until_ready()

            assert phone.post("/api/v1/auth/logout", {}, format="json").status_code == 204

            assert closed_with(on_phone) == (4401, "session_ended")
            # The tablet's session goes on: its socket still receives.
            send(user, 1)
            assert Socket(on_tablet).next()["type"] == "message.new"


# --- tickets and origins ------------------------------------------------------------------------


class TestTickets:
    def test_a_socket_without_ticket_is_closed_4401(self, daphne):
        with open_socket(daphne, None) as connection:
            assert closed_with(connection) == (4401, "ticket_missing")

    def test_an_unknown_ticket_is_closed_4401(self, daphne):
        with open_socket(daphne, "x" * 43) as connection:
            assert closed_with(connection) == (4401, "ticket_invalid")

    def test_a_ticket_opens_one_socket_only(self, daphne):
        user = UserFactory()
        ticket = issue_ticket(user)["ticket"]

        with open_socket(daphne, ticket) as first:
            assert Socket(first).until_ready() == ([], 0)
            assert not ticket_exists(ticket)
            with open_socket(daphne, ticket) as second:
                assert closed_with(second) == (4401, "ticket_invalid")
            # The first socket is still served.
            send(user, 1)
            assert Socket(first).next()["id"] == 1

    def test_an_expired_ticket_is_refused(self, daphne, settings):
        settings.REALTIME_TICKET_TTL_SECONDS = 0.2
        user = UserFactory()
        ticket = issue_ticket(user)["ticket"]
        wait_until(lambda: not ticket_exists(ticket), timeout=5)

        with open_socket(daphne, ticket) as connection:
            assert closed_with(connection) == (4401, "ticket_invalid")

    def test_a_malformed_last_id_is_closed_4400(self, daphne):
        ticket = issue_ticket(UserFactory())["ticket"]
        with open_socket(daphne, ticket, last_id="-3") as connection:  # type: ignore[arg-type]
            assert closed_with(connection) == (4400, "invalid_last_id")


class TestOrigins:
    def test_a_foreign_page_is_refused_at_the_handshake(self, daphne):
        ticket = issue_ticket(UserFactory())["ticket"]
        with pytest.raises(InvalidStatus) as refused:
            open_socket(daphne, ticket, origin="https://evil.example")
        assert refused.value.response.status_code == 403
        # The refused handshake did not use the ticket.
        assert ticket_exists(ticket)

    @pytest.mark.parametrize("origin", ["https://app.voisinage.test", None])
    def test_the_app_origin_and_native_apps_are_accepted(self, daphne, origin):
        ticket = issue_ticket(UserFactory())["ticket"]
        with open_socket(daphne, ticket, origin=origin) as connection:
            assert Socket(connection).until_ready() == ([], 0)


# --- who receives what ---------------------------------------------------------------------------


def test_events_reach_their_recipient_only(socket_for):
    alice, bob = UserFactory(), UserFactory()
    alice_socket, bob_socket = socket_for(alice), socket_for(bob)
    alice_socket.until_ready()
    bob_socket.until_ready()

    for n in (1, 2, 3):
        send(alice, n)
    send(bob, 100)

    received = alice_socket.events(3)
    assert [(e["id"], e["type"], e["data"]["message_id"]) for e in received] == [
        (1, "message.new", 1),
        (2, "message.new", 2),
        (3, "message.new", 3),
    ]
    assert received[0]["data"] == message(1)
    assert (
        received[0]["at"]
        == timezone.localtime(Event.objects.get(recipient=alice, seq=1).created_at).isoformat()
    )
    # Bob's first message is his own event: none of Alice's reached him.
    assert bob_socket.next() == {
        "id": 1,
        "type": "message.new",
        "at": bob_socket_at(bob),
        "data": message(100),
        "link": "voisinage://conversations/9",
    }


def bob_socket_at(user) -> str:
    return timezone.localtime(Event.objects.get(recipient=user, seq=1).created_at).isoformat()


def test_a_rolled_back_transaction_sends_nothing(socket_for):
    user = UserFactory()
    sock = socket_for(user)
    sock.until_ready()

    with pytest.raises(RuntimeError), transaction.atomic():
        send(user, 1)
        raise RuntimeError("the domain write failed")
    send(user, 2)

    # The next message is the committed event, with the id the rolled-back one had taken.
    received = sock.next()
    assert (received["id"], received["data"]["message_id"]) == (1, 2)
    assert list(Event.objects.filter(recipient=user).values_list("seq", "data__message_id")) == [
        (1, 2)
    ]


def test_a_topic_event_reaches_each_subscriber_with_their_own_id(socket_for):
    members = [UserFactory() for _ in range(3)]
    outsider = UserFactory()
    send(members[0], 1)  # the first member's log is one event ahead
    for member in members:
        topic_subscribe(user_id=member.pk, topic="neighbourhood.3")
    sockets = [socket_for(member, last_id=1 if i == 0 else 0) for i, member in enumerate(members)]
    for sock in sockets:
        sock.until_ready()
    outsider_socket = socket_for(outsider)
    outsider_socket.until_ready()

    data = {"neighbourhood_id": 3, "title": "Tournée", "text": "Vendredi soir."}
    notify(event_type="neighbourhood.announcement", topic="neighbourhood.3", data=data)
    send(outsider, 7)

    received = [sock.next() for sock in sockets]
    assert [(e["id"], e["type"], e["data"]) for e in received] == [
        (2, "neighbourhood.announcement", data),
        (1, "neighbourhood.announcement", data),
        (1, "neighbourhood.announcement", data),
    ]
    assert outsider_socket.next()["data"]["message_id"] == 7


def test_a_socket_joins_a_topic_subscribed_while_it_is_open(socket_for):
    user = UserFactory()
    sock = socket_for(user)
    sock.until_ready()

    topic_subscribe(user_id=user.pk, topic="neighbourhood.8")
    data = {"neighbourhood_id": 8, "title": "AG", "text": "Jeudi."}
    notify(event_type="neighbourhood.announcement", topic="neighbourhood.8", data=data)

    assert sock.next()["data"] == data


# --- reconnection ----------------------------------------------------------------------------------


def test_reconnecting_with_the_last_id_replays_each_missed_event_once_in_order(socket_for):
    user, other = UserFactory(), UserFactory()
    first = socket_for(user)
    first.until_ready()
    send(user, 1)
    send(user, 2)
    assert [e["id"] for e in first.events(2)] == [1, 2]
    first.close()

    for n in range(3, 8):
        send(user, n)
        send(other, n)

    again = socket_for(user, last_id=2)
    replayed, last_id = again.until_ready()
    assert [(e["id"], e["data"]["message_id"]) for e in replayed] == [(n, n) for n in range(3, 8)]
    assert last_id == 7
    send(user, 8)
    assert again.next()["id"] == 8


def test_events_committed_during_the_replay_arrive_once_and_in_order(socket_for, daphne):
    """The race between the replay from the log and the live subscription: a thread commits
    events while the socket reconnects; the client sees 1..N exactly once."""
    user = UserFactory()
    for n in range(1, 21):
        send(user, n)
    total = 120
    started = threading.Event()

    def emitter() -> None:
        started.set()
        try:
            for n in range(21, total + 1):
                send(user, n)
        finally:
            connection.close()

    thread = threading.Thread(target=emitter)
    thread.start()
    started.wait()
    sock = socket_for(user, last_id=5)
    ids: list[int] = []
    while not ids or ids[-1] < total:
        message_ = sock.next(timeout=10)
        if message_["type"] != "ready":
            ids.append(message_["id"])
    thread.join()

    assert ids == list(range(6, total + 1))


def test_a_live_event_lost_by_the_channel_layer_is_filled_in_from_the_log(socket_for, monkeypatch):
    user = UserFactory()
    sock = socket_for(user)
    sock.until_ready()
    send(user, 1)
    assert sock.next()["id"] == 1

    # Event 2 is committed but its live message never reaches Redis (as when the channel layer
    # drops it); event 3 arrives live and the socket sends 2 from the log first.
    with monkeypatch.context() as patch:
        patch.setattr("notifications.services.events.fanout_deliver", lambda delivery: False)
        send(user, 2)
    send(user, 3)

    assert [(e["id"], e["data"]["message_id"]) for e in sock.events(2)] == [(2, 2), (3, 3)]


def test_live_events_and_other_messages_reach_the_socket_in_the_order_they_were_sent(socket_for):
    """Live events go out as the channel layer's reader gets them (no queue), the other messages
    through the consumer's queue: an event never overtakes a message sent before it."""
    from channels.layers import get_channel_layer

    from notifications.fanout import envelope_tail, user_group

    user = UserFactory()
    sock = socket_for(user)
    sock.until_ready()
    tail = envelope_tail("message.new", timezone.now().isoformat(), message(1))

    def event(seq: int) -> dict:
        return {"type": "event.deliver", "id": seq, "tail": tail}

    def read(up_to: int) -> dict:
        return {"type": "notifications.read", "up_to": up_to, "unread": 0, "last_id": up_to}

    burst = [event(1), read(1), event(2), event(3), read(3), event(4), event(5), read(5)]
    group = user_group(user.pk)
    get_channel_layer().group_send_blocking([(group, m) for m in burst], timeout=5)
    got = [sock.next() for _ in burst]
    assert [(m["type"], m.get("id", m.get("up_to"))) for m in got] == [
        ("message.new", 1),
        ("notifications.read", 1),
        ("message.new", 2),
        ("message.new", 3),
        ("notifications.read", 3),
        ("message.new", 4),
        ("message.new", 5),
        ("notifications.read", 5),
    ]


def test_an_id_older_than_the_log_gets_a_resync(socket_for, settings):
    user = UserFactory()
    for n in (1, 2, 3):
        send(user, n)
    settings.NOTIFICATIONS_EVENT_RETENTION_DAYS = 1
    assert events_prune(now=timezone.now() + timedelta(days=2)) == 3
    send(user, 4)

    sock = socket_for(user, last_id=1)
    replayed, last_id = sock.until_ready()

    assert [(e["id"], e["type"], e["data"]) for e in replayed] == [
        (4, "system.resync", {"reason": "log_expired"})
    ]
    assert last_id == 4
    send(user, 5)
    assert sock.next()["id"] == 5


@pytest.mark.parametrize(("last_id", "reason"), [(999, "unknown_id"), (0, "too_far_behind")])
def test_an_unknown_or_too_old_id_gets_a_resync(socket_for, last_id, reason):
    user = UserFactory()
    for n in range(1, 52):  # REALTIME_REPLAY_MAX is 50 for the test server
        send(user, n)

    replayed, last = socket_for(user, last_id=last_id).until_ready()

    assert [(e["id"], e["type"], e["data"]) for e in replayed] == [
        (51, "system.resync", {"reason": reason})
    ]
    assert last == 51 == EventStream.objects.get(user=user).last_seq


# --- heartbeats, inbound messages --------------------------------------------------------------------


def test_heartbeats_arrive_while_nothing_happens(socket_for):
    sock = socket_for(UserFactory())
    sock.until_ready()
    beats = [sock.receive(timeout=5) for _ in range(2)]  # every 0.5 s on the test server
    assert [beat["type"] for beat in beats] == ["heartbeat", "heartbeat"]


def test_positions_are_validated_rate_limited_and_stored(socket_for):
    from tests.pooling.factories import CourierFactory

    courier = CourierFactory().user
    sock = socket_for(courier)
    sock.until_ready()
    now = timezone.now()
    position = {"type": "position", "lon": 24.9384, "lat": 60.1699, "at": now.isoformat()}

    mistakes = [
        ("{not json", {"code": "invalid_json"}),
        ([1, 2], {"code": "invalid_message", "field": "type"}),
        ({"type": "teleport"}, {"code": "unknown_type", "field": "type"}),
        ({**position, "lon": 181}, {"code": "out_of_range", "field": "lon"}),
        ({**position, "lat": "60.1"}, {"code": "invalid_number", "field": "lat"}),
        ({**position, "lat": True}, {"code": "invalid_number", "field": "lat"}),
        ({**position, "at": "2026-05-16T17:02:11"}, {"code": "invalid_datetime", "field": "at"}),
        ({**position, "speed": 3}, {"code": "unknown_field", "field": "speed"}),
        (
            {**position, "at": (now - timedelta(minutes=10)).isoformat()},
            {"code": "stale_position", "field": "at"},
        ),
    ]
    for sent, expected in mistakes:
        sock.send(sent if not isinstance(sent, list) else "[1, 2]")
        answer = sock.next()
        assert answer["type"] == "error"
        assert {key: answer[key] for key in expected} == expected
    assert not LastPosition.objects.filter(user=courier).exists()

    sock.send({**position, "accuracy": 8.5})
    stored = wait_until(lambda: LastPosition.objects.filter(user=courier).first())
    assert (stored.point.x, stored.point.y, stored.accuracy_m) == (24.9384, 60.1699, 8.5)
    assert stored.measured_at == now

    later = {**position, "lon": 24.95, "at": (now + timedelta(seconds=5)).isoformat()}
    sock.send(later)  # the second of the burst of two
    wait_until(lambda: LastPosition.objects.get(user=courier).point.x == 24.95)
    sock.send({**later, "lon": 24.96})  # over the budget
    answer = sock.next()
    assert (answer["type"], answer["code"]) == ("error", "rate_limited")
    assert 0 < answer["retry_after"] <= 20
    # Mistakes do not close the socket; the refused position was not stored.
    sock.send({"type": "ping"})
    assert sock.next()["type"] == "pong"
    assert LastPosition.objects.get(user=courier).point.x == 24.95


def test_residents_positions_are_refused_and_never_stored(socket_for):
    resident = UserFactory()
    sock = socket_for(resident)
    sock.until_ready()
    position = {"type": "position", "lon": 24.9384, "lat": 60.1699}
    sock.send({**position, "at": timezone.now().isoformat()})
    answer = sock.next()
    assert (answer["type"], answer["code"]) == ("error", "not_a_courier")
    sock.send({"type": "ping"})
    assert sock.next()["type"] == "pong"
    assert not LastPosition.objects.filter(user=resident).exists()


def test_a_couriers_socket_position_moves_their_rounds_etas(socket_for, street_graph):
    """The socket is the courier's position channel: a position on a started round updates the
    round like ``POST /courier/position`` does."""
    from django.contrib.gis.geos import Point

    from pooling.models import Route, Stop
    from tests.pooling.factories import BatchFactory, CourierFactory

    # On duty (positions are taken only then), as starting the round would have put them.
    courier = CourierFactory(on_duty=True)
    now = timezone.now()
    batch = BatchFactory(
        hub=courier.hub,
        day=timezone.localdate(),
        status="dispatched",
        planned_at=now,
        dispatched_at=now,
    )
    route = Route.objects.create(
        batch=batch,
        courier=courier,
        number=1,
        vehicle="cargo_bike",
        profile="bike",
        status="started",
        started_at=now,
        planned_start=now,
        planned_end=now + timedelta(hours=1),
        meters=1000,
        seconds=600,
        load_units=1,
        load_kg=1,
    )
    Stop.objects.create(
        route=route,
        position=1,
        kind="home",
        resident=UserFactory(),
        location=Point(24.9410, 60.1710, srid=4326),
        window_start=now,
        window_end=now + timedelta(hours=1),
        eta=now + timedelta(minutes=10),
        planned_arrival=now + timedelta(minutes=10),
        service_seconds=60,
        meters_from_previous=500,
        seconds_from_previous=120,
        load_units=1,
        load_kg=1,
    )
    sock = socket_for(courier.user)
    sock.until_ready()
    at = timezone.now().replace(microsecond=0)
    sock.send({"type": "position", "lon": 24.9384, "lat": 60.1699, "at": at.isoformat()})

    def moved():
        route.refresh_from_db()
        return route.last_position_at == at and route.last_position is not None

    wait_until(moved)
    assert (round(route.last_position.x, 4), round(route.last_position.y, 4)) == (24.9384, 60.1699)


def test_too_many_mistakes_close_the_socket(socket_for):
    sock = socket_for(UserFactory())
    sock.until_ready()
    for _ in range(25):
        sock.send("nonsense")
    codes = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            codes.append(sock.next()["code"])
    assert codes[-1] == "too_many_errors"
    assert set(codes[:-1]) == {"invalid_json"}
    assert 20 <= len(codes) - 1 <= 25
    assert closed.value.rcvd.code == 4429


# --- a slow client -----------------------------------------------------------------------------------


def test_a_client_that_stops_reading_does_not_hold_back_the_others(socket_for, daphne):
    slow_user, user = UserFactory(), UserFactory()
    # A client that reads nothing, with a tiny receive buffer: after a few messages TCP pushes
    # back and what follows for it piles up on the server side.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", daphne.port))
    slow = socket_for(slow_user, sock=raw, max_queue=1, close_timeout=0.2)
    slow.until_ready()
    sock = socket_for(user)
    sock.until_ready()

    big = "x" * 1800
    for n in range(100):
        notify(
            event_type="order.eta" if n % 2 else "message.new",
            recipients=[slow_user],
            data={"order_id": n, "route_id": 1, "eta": timezone.now(), "minutes": 5}
            if n % 2
            else {**message(n), "preview": big},
        )
    send(user, 1)

    assert sock.next(timeout=10)["data"]["message_id"] == 1


def test_topic_and_personal_events_committed_during_the_replay_arrive_once_and_in_order(
    socket_for,
):
    """The same race with a topic: events for the neighbourhood (through the process hub) and
    for the person (through the channel layer) interleave while the socket reconnects."""
    user = UserFactory()
    topic_subscribe(user_id=user.pk, topic="neighbourhood.5")
    data = {"neighbourhood_id": 5, "title": "Annonce", "text": "Bonjour."}
    for n in range(1, 11):
        send(user, n)
    total = 90
    started = threading.Event()

    def emitter() -> None:
        started.set()
        try:
            for n in range(11, total + 1):
                if n % 3:
                    send(user, n)
                else:
                    notify(
                        event_type="neighbourhood.announcement", topic="neighbourhood.5", data=data
                    )
        finally:
            connection.close()

    thread = threading.Thread(target=emitter)
    thread.start()
    started.wait()
    sock = socket_for(user, last_id=4)
    received: list[tuple[int, str]] = []
    while not received or received[-1][0] < total:
        message_ = sock.next(timeout=10)
        if message_["type"] != "ready":
            received.append((message_["id"], message_["type"]))
    thread.join()

    assert [seq for seq, _ in received] == list(range(5, total + 1))
    assert [kind for seq, kind in received if seq > 10] == [
        "message.new" if n % 3 else "neighbourhood.announcement" for n in range(11, total + 1)
    ]


def test_an_open_socket_counts_as_online_until_it_closes(socket_for, settings):
    from notifications.presence import users_online

    user = UserFactory()
    sock = socket_for(user)
    sock.until_ready()
    assert users_online([user.pk]) == {user.pk}
    # Presence lasts 1.25 s on the test server unless the heartbeats (every 0.5 s) renew it.
    time.sleep(2)  # not an assertion: lets the original entry expire
    assert users_online([user.pk]) == {user.pk}

    sock.close()
    wait_until(lambda: users_online([user.pk]) == set())


def test_a_socket_in_the_background_is_not_online_and_the_push_goes(socket_for, fcm):
    """The app says it went to the background: its socket still receives every event, but no
    longer counts as online, so a push "when offline" reaches the phone too; one socket in the
    foreground, on any device, is enough to be online."""
    from notifications.models import PushOutbox
    from notifications.presence import users_online
    from tests.notifications.factories import DeviceFactory

    user = UserFactory(language="en")
    DeviceFactory(user=user, token="phone-token", platform="ios")
    phone, tablet = socket_for(user), socket_for(user)
    phone.until_ready()
    tablet.until_ready()

    def says(sock: Socket, state: str) -> None:
        sock.send({"type": "presence", "state": state})
        sock.send({"type": "ping"})
        assert sock.next()["type"] == "pong"  # handled in order: the presence was taken

    def accepted(loan_id: int) -> None:
        data = {**CATALOGUE["loan.accepted"].example, "loan_id": loan_id}
        notify(event_type="loan.accepted", recipients=[user], data=data)

    says(phone, "background")
    assert users_online([user.pk]) == {user.pk}  # the tablet is in front
    says(tablet, "background")
    assert users_online([user.pk]) == set()
    # Presence lasts 1.25 s on the test server; heartbeats and refreshes go on meanwhile.
    time.sleep(2)  # not an assertion: lets a wrongly refreshed entry show
    assert users_online([user.pk]) == set()

    accepted(381)  # committed: the sockets get it, and the push goes (tasks run in process)
    assert [(e["id"], e["data"]["loan_id"]) for e in (phone.next(), tablet.next())] == [
        (1, 381),
        (1, 381),
    ]
    assert PushOutbox.objects.get(event__seq=1, event__recipient=user).status == "sent"
    (pushed,) = fcm.messages()
    assert (pushed["token"], pushed["data"]["event_id"], pushed["data"]["link"]) == (
        "phone-token",
        "1",  # the socket's id: an app that showed it drops the push
        "voisinage://loans/381",
    )

    says(phone, "foreground")
    assert users_online([user.pk]) == {user.pk}
    accepted(382)
    assert phone.next()["id"] == 2
    outbox = PushOutbox.objects.get(event__seq=2, event__recipient=user)
    assert (outbox.status, outbox.reason) == ("skipped", "online")
    assert len(fcm.messages()) == 1

    phone.send({"type": "presence", "state": "asleep"})
    assert phone.next() == {
        "type": "error",
        "code": "invalid_choice",
        "detail": "state must be foreground or background.",
        "field": "state",
    }
    assert users_online([user.pk]) == {user.pk}  # a refused message changes nothing
    phone.close()
    wait_until(lambda: users_online([user.pk]) == set())  # the tablet is still in background


def test_a_couriers_socket_hears_when_a_stop_leaves_their_round(socket_for, street_graph):
    """A resident cancels an order planned on a courier's round: the courier's open socket gets
    ``route.order_cancelled`` then ``route.stop_cancelled`` (sent after the commit)."""
    from pooling.models import Assignment, Batch, Route
    from pooling.planning.pipeline import batch_plan
    from pooling.services.orders import order_cancel
    from tests.pooling.factories import (
        SPOTS,
        CourierFactory,
        HubFactory,
        OrderFactory,
        ResidentFactory,
        point,
    )

    hub = HubFactory()
    courier = CourierFactory(hub=hub, capacity_units=40, capacity_kg=200)
    orders = [
        OrderFactory(
            resident=ResidentFactory(home=point(*spot)),
            neighbourhood=hub.neighbourhood,
            expected_on=timezone.localdate(),
        )
        for spot in SPOTS[:3]
    ]
    batch = Batch.objects.create(neighbourhood=hub.neighbourhood, hub=hub, day=timezone.localdate())
    batch_plan(batch_id=batch.pk)
    route = Route.objects.get(batch=batch)
    order = orders[1]
    stop = Assignment.objects.get(order=order, released_at__isnull=True).stop
    sock = socket_for(courier.user)
    sock.until_ready()
    with transaction.atomic():
        order_cancel(actor=order.resident, order_id=order.pk)
    first, second = sock.events(2)
    assert (first["type"], first["data"]) == (
        "route.order_cancelled",
        {"route_id": route.pk, "stop_id": stop.pk, "order_id": order.pk},
    )
    assert second["type"] == "route.stop_cancelled"
    assert second["data"] == {
        "route_id": route.pk,
        "stop_id": stop.pk,
        "position": stop.position,
        "reason": "cancelled",
    }
