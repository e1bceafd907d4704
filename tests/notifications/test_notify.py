"""notify(): the log, the outbox, after-commit delivery through the real Redis channel layer."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.utils import timezone

from notifications.catalogue import CATALOGUE, InvalidEventDataError, UnknownEventTypeError
from notifications.models import Event, EventStream, PushOutbox, TopicSubscription
from notifications.services import (
    events_prune,
    notify,
    notify_many,
    topic_subscribe,
    topic_unsubscribe,
)
from notifications.services.events import InvalidTopicError
from tests.accounts.factories import UserFactory
from tests.harness import free_port
from tests.notifications.realtime import use_redis

ACCEPTED = CATALOGUE["loan.accepted"].example
ETA = CATALOGUE["order.eta"].example


def log(user) -> list[tuple[int, str]]:
    return list(Event.objects.filter(recipient=user).order_by("seq").values_list("seq", "type"))


@pytest.mark.django_db
class TestTheLog:
    def test_each_recipient_gets_the_event_with_the_next_id_of_their_own_log(self):
        alice, bob = UserFactory(), UserFactory()
        notify(event_type="order.eta", recipients=[alice], data=ETA)

        events = notify(
            event_type="loan.accepted", recipients=[bob, alice, alice.pk], data=ACCEPTED
        )

        assert sorted((e.recipient_id, e.seq) for e in events) == [(alice.pk, 2), (bob.pk, 1)]
        assert log(alice) == [(1, "order.eta"), (2, "loan.accepted")]
        assert log(bob) == [(1, "loan.accepted")]
        assert Event.objects.get(recipient=bob).data == ACCEPTED
        assert EventStream.objects.get(user=alice).last_seq == 2

    def test_inactive_and_unknown_recipients_are_left_out(self):
        active, inactive = UserFactory(), UserFactory(is_active=False)

        events = notify(event_type="order.eta", recipients=[active, inactive, 987654], data=ETA)

        assert [e.recipient_id for e in events] == [active.pk]
        assert not Event.objects.filter(recipient=inactive).exists()
        assert notify(event_type="order.eta", recipients=[], data=ETA) == []

    def test_a_rolled_back_transaction_leaves_no_event_and_no_id_used(self):
        user = UserFactory()
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(event_type="order.eta", recipients=[user], data=ETA)
            raise RuntimeError
        assert log(user) == []
        assert not EventStream.objects.filter(user=user).exists()
        notify(event_type="order.eta", recipients=[user], data=ETA)
        assert log(user) == [(1, "order.eta")]

    def test_pushes_wait_in_the_outbox_for_types_that_push(self, settings):
        user = UserFactory()
        (accepted,) = notify(event_type="loan.accepted", recipients=[user], data=ACCEPTED)
        notify(event_type="order.eta", recipients=[user], data=ETA)  # never pushed
        settings.PUSH_ENABLED = False
        notify(event_type="loan.accepted", recipients=[user], data=ACCEPTED)

        (push,) = PushOutbox.objects.all()
        assert push.event_id == accepted.pk
        assert (push.status, push.attempts, push.device_ids) == ("pending", 0, None)
        assert push.due_at == accepted.created_at
        assert push.expires_at == accepted.created_at + timedelta(days=1)

    def test_wrong_types_and_data_are_refused_before_anything_is_written(self):
        user = UserFactory()
        with pytest.raises(UnknownEventTypeError):
            notify(event_type="loan.acepted", recipients=[user], data=ACCEPTED)
        with pytest.raises(InvalidEventDataError):
            notify(event_type="loan.accepted", recipients=[user], data={**ACCEPTED, "x": 1})
        assert log(user) == []


@pytest.mark.django_db
class TestTopics:
    def test_a_topic_event_is_logged_for_each_active_subscriber(self):
        members = [UserFactory(), UserFactory(), UserFactory(is_active=False)]
        for member in members:
            assert topic_subscribe(user_id=member.pk, topic="neighbourhood.3") is True
        assert topic_subscribe(user_id=members[0].pk, topic="neighbourhood.3") is False
        topic_subscribe(user_id=UserFactory().pk, topic="neighbourhood.4")
        data = CATALOGUE["neighbourhood.announcement"].example

        events = notify(event_type="neighbourhood.announcement", topic="neighbourhood.3", data=data)

        assert sorted(e.recipient_id for e in events) == [members[0].pk, members[1].pk]
        assert topic_unsubscribe(user_id=members[0].pk, topic="neighbourhood.3") is True
        assert topic_unsubscribe(user_id=members[0].pk, topic="neighbourhood.3") is False
        assert list(
            TopicSubscription.objects.filter(topic="neighbourhood.3")
            .values_list("user_id", flat=True)
            .order_by("user_id")
        ) == [members[1].pk, members[2].pk]

    def test_recipients_and_a_topic_together_or_a_bad_topic_are_refused(self):
        data = CATALOGUE["neighbourhood.announcement"].example
        with pytest.raises(ValueError, match="not both"):
            notify(
                event_type="neighbourhood.announcement",
                topic="neighbourhood.3",
                recipients=[UserFactory()],
                data=data,
            )
        for topic in ("neighbourhood", "Neighbourhood.3", "neighbourhood.3 4", "a." + "9" * 61):
            with pytest.raises(InvalidTopicError):
                notify(event_type="neighbourhood.announcement", topic=topic, data=data)


@pytest.mark.django_db
def test_live_delivery_leaves_after_the_commit_through_the_channel_layer(
    django_capture_on_commit_callbacks,
):
    user = UserFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        (event,) = notify(event_type="loan.accepted", recipients=[user], data=ACCEPTED)
    assert len(callbacks) == 1  # nothing left before the commit

    async def listen_then_commit() -> dict:
        # A socket's channel in the group of the person, then the commit's callback runs.
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(f"user.{user.pk}", channel)
        await asyncio.to_thread(callbacks[0])
        return await asyncio.wait_for(layer.receive(channel), timeout=5)

    message = async_to_sync(listen_then_commit)()

    # The envelope is serialised once, without its id; each socket prefixes its own.
    assert set(message) == {"type", "id", "tail"}
    assert (message["type"], message["id"]) == ("event.deliver", 1)
    assert json.loads('{"id":1' + message["tail"]) == {
        "id": 1,
        "type": "loan.accepted",
        "at": timezone.localtime(event.created_at).isoformat(),
        "data": ACCEPTED,
        "link": "voisinage://loans/381",
    }


@pytest.mark.django_db(transaction=True)
def test_with_redis_unreachable_notify_still_commits_the_event(settings, caplog):
    use_redis(settings, f"redis://127.0.0.1:{free_port()}/0")
    user = UserFactory()

    with caplog.at_level(logging.WARNING, logger="notifications"):
        events = notify(event_type="order.eta", recipients=[user], data=ETA)

    assert [e.seq for e in events] == [1]
    assert log(user) == [(1, "order.eta")]
    assert "live delivery of order.eta to 1 recipient(s) failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_concurrent_events_for_one_person_become_visible_in_id_order():
    """Ids are taken under the person's stream lock: at no moment can a reader see an id while a
    smaller one is still to come (a client would skip it for good)."""
    user = UserFactory()
    writers, per_writer = 6, 8
    failures: list[str] = []
    done = threading.Event()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(per_writer):
                with transaction.atomic():
                    notify(event_type="order.eta", recipients=[user], data=ETA)
                    time.sleep(rng.random() * 0.01)  # hold the transaction open a little
        finally:
            connection.close()

    def reader() -> None:
        try:
            while not done.is_set():
                seqs = list(Event.objects.filter(recipient=user).values_list("seq", flat=True))
                if sorted(seqs) != list(range(1, len(seqs) + 1)):
                    failures.append(f"hole in {sorted(seqs)}")
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()

    assert failures == []
    assert sorted(Event.objects.filter(recipient=user).values_list("seq", flat=True)) == list(
        range(1, writers * per_writer + 1)
    )


@pytest.mark.django_db
def test_old_events_and_their_pushes_are_pruned(settings):
    settings.NOTIFICATIONS_EVENT_RETENTION_DAYS = 7
    user = UserFactory()
    old = notify(event_type="loan.accepted", recipients=[user], data=ACCEPTED)
    Event.objects.filter(pk=old[0].pk).update(created_at=timezone.now() - timedelta(days=8))
    notify(event_type="loan.accepted", recipients=[user], data=ACCEPTED)

    assert events_prune(batch=1) == 1

    assert log(user) == [(2, "loan.accepted")]
    assert list(PushOutbox.objects.values_list("event__seq", flat=True)) == [2]
    assert EventStream.objects.get(user=user).last_seq == 2  # ids go on from where they were
    from notifications.tasks import events_prune_task

    assert events_prune_task.apply().get(disable_sync_subtasks=False) == 0


@pytest.mark.django_db
def test_notify_many_keeps_each_logs_order_in_a_few_statements(
    django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    alice, bob, gone = UserFactory(), UserFactory(), UserFactory(is_active=False)
    notify(event_type="order.eta", recipients=[alice], data=ETA)
    items = [
        ({**ETA, "order_id": n}, [alice, bob] if n % 2 else [alice, gone]) for n in range(1, 41)
    ]

    # Streams, events, pushes, mail outbox: a few statements for forty events.
    with django_assert_max_num_queries(6), django_capture_on_commit_callbacks() as callbacks:
        events = notify_many(event_type="order.eta", items=items)

    assert len(callbacks) == 1  # one trip to the channel layer for all of them
    assert len(events) == 60 and not Event.objects.filter(recipient=gone).exists()
    assert [e.data["order_id"] for e in Event.objects.filter(recipient=alice).order_by("seq")] == [
        ETA["order_id"],
        *range(1, 41),
    ]
    assert log(alice) == [(seq, "order.eta") for seq in range(1, 42)]
    assert log(bob) == [(seq, "order.eta") for seq in range(1, 21)]
    assert EventStream.objects.get(user=alice).last_seq == 41
    assert notify_many(event_type="order.eta", items=[]) == []


@pytest.mark.django_db
def test_notify_many_delivers_after_the_commit_each_event_with_its_id(
    django_capture_on_commit_callbacks,
):
    user = UserFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        notify_many(
            event_type="order.eta",
            items=[({**ETA, "order_id": 1}, [user]), ({**ETA, "order_id": 2}, [user])],
        )

    async def listen_then_commit() -> list[dict]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(f"user.{user.pk}", channel)
        await asyncio.to_thread(callbacks[0])
        return [await asyncio.wait_for(layer.receive(channel), timeout=5) for _ in range(2)]

    messages = async_to_sync(listen_then_commit)()
    got = {m["id"]: json.loads('{"id":' + str(m["id"]) + m["tail"]) for m in messages}
    assert {k: v["data"]["order_id"] for k, v in got.items()} == {1: 1, 2: 2}
