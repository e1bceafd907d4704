"""Pushes through the real firebase-admin, with only its HTTP transport replaced (FakeFcm)."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.catalogue import CATALOGUE
from notifications.fcm import webpush_topic
from notifications.models import Device, PushOutbox
from notifications.presence import presence_touch
from notifications.services import notify, push_outbox_deliver
from notifications.services.push import push_backoff, quiet_hours_end
from tests.accounts.factories import UserFactory
from tests.notifications.factories import DeviceFactory
from tests.notifications.fcm_fake import ACCESS_TOKEN, URL

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
ACCEPTED = CATALOGUE["loan.accepted"].example


def event_for(user, event_type="loan.accepted"):
    """An event and its pending push, as notify() leaves them (the test's transaction never
    commits, so only the calls below send pushes)."""
    (event,) = notify(event_type=event_type, recipients=[user], data=CATALOGUE[event_type].example)
    return event


def device(user, token="token-1", platform="android") -> Device:  # noqa: S107
    return DeviceFactory(user=user, token=token, platform=platform, locale="fr-FR")


def outbox(event) -> PushOutbox:
    return PushOutbox.objects.get(pk=event.pk)


class TestWhatLeaves:
    def test_firebase_admin_builds_the_request(self, fcm):
        user = UserFactory(language="en")
        device(user)
        event = event_for(user)

        run = push_outbox_deliver(event_ids=[event.pk], now=event.created_at)

        assert (run.sent, run.batches) == (1, 1)
        (request,) = fcm.requests
        assert (request["method"], request["url"]) == ("POST", URL)
        assert request["headers"]["Authorization"] == f"Bearer {ACCESS_TOKEN}"
        event_data = request["body"]["message"]["data"].pop("event_data")
        assert json.loads(event_data) == ACCEPTED
        assert request["body"] == {
            "message": {
                "token": "token-1",
                "notification": {
                    "title": "Loan accepted",
                    "body": "Léa agreed to lend you “Perceuse Bosch”.",
                },
                "data": {
                    "event_id": "1",
                    "event_type": "loan.accepted",
                    "link": "voisinage://loans/381",
                    "badge": "1",
                },
                "android": {
                    "collapse_key": "loan-381",
                    "priority": "normal",
                    "ttl": "86400s",
                    "notification": {
                        "channel_id": "default",
                        "tag": "loan-381",
                        "notification_count": 1,
                    },
                },
            }
        }
        assert (outbox(event).status, outbox(event).attempts) == ("sent", 1)

    def test_ios_and_web_devices_get_their_own_options_in_french(self, fcm):
        user = UserFactory(language="fr")
        device(user, "iphone", "ios")
        device(user, "browser", "web")
        event = event_for(user, "order.courier_nearby")

        push_outbox_deliver(event_ids=[event.pk], now=event.created_at)

        by_token = {m["token"]: m for m in fcm.messages()}
        expected = {"title": "Livreur à proximité", "body": "Votre livreur est à environ 5 min."}
        assert by_token["iphone"]["notification"] == expected
        assert by_token["browser"]["notification"] == expected
        apns = by_token["iphone"]["apns"]
        assert apns["headers"]["apns-priority"] == "10"
        assert apns["headers"]["apns-collapse-id"] == "order-733"
        assert int(apns["headers"]["apns-expiration"]) == pytest.approx(
            timezone.now().timestamp() + 900, abs=5
        )
        assert apns["payload"] == {"aps": {"sound": "default", "badge": 1}}
        assert by_token["browser"]["webpush"] == {
            "headers": {"TTL": "900", "Urgency": "high", "Topic": "order-733"}
        }
        for message in (by_token["iphone"], by_token["browser"]):
            assert (message["data"]["link"], message["data"]["badge"]) == (
                "voisinage://orders/733",
                "1",
            )
        assert "android" not in by_token["iphone"] and "apns" not in by_token["browser"]

    def test_more_than_500_messages_go_in_batches_of_500(self, fcm):
        users = [UserFactory(), UserFactory()]
        Device.objects.bulk_create(
            Device(user=users[n % 2], token=f"t{n}", platform="android") for n in range(501)
        )
        events = notify(event_type="loan.accepted", recipients=users, data=ACCEPTED)

        run = push_outbox_deliver(event_ids=[e.pk for e in events], now=events[0].created_at)

        assert (run.sent, run.batches) == (2, 2)
        assert sorted(fcm.sent_to()) == sorted(f"t{n}" for n in range(501))


class TestWhatThePhoneShows:
    """The collapse key, the deep link and the badge, as firebase-admin puts them in the request."""

    def test_pushes_about_one_thing_share_a_key_and_others_do_not(self, fcm):
        user = UserFactory()
        device(user, "pixel", "android")
        device(user, "iphone", "ios")
        first = event_for(user, "loan.accepted")
        reminder = event_for(user, "loan.reminder.due_tomorrow")  # the same loan, 381
        other = notify(
            event_type="loan.accepted", recipients=[user], data={**ACCEPTED, "loan_id": 382}
        )[0]
        chat = event_for(user, "message.new")

        push_outbox_deliver(
            event_ids=[first.pk, reminder.pk, other.pk, chat.pk], now=timezone.now()
        )

        shown = [
            (
                m["data"]["event_id"],
                m["token"],
                m["android"]["collapse_key"]
                if "android" in m
                else m["apns"]["headers"]["apns-collapse-id"],
                m["data"]["link"],
            )
            for m in fcm.messages()
        ]
        assert sorted(shown) == [
            ("1", "iphone", "loan-381", "voisinage://loans/381"),
            ("1", "pixel", "loan-381", "voisinage://loans/381"),
            ("2", "iphone", "loan-381", "voisinage://loans/381"),
            ("2", "pixel", "loan-381", "voisinage://loans/381"),
            ("3", "iphone", "loan-382", "voisinage://loans/382"),
            ("3", "pixel", "loan-382", "voisinage://loans/382"),
            ("4", "iphone", "conversation-9", "voisinage://conversations/9"),
            ("4", "pixel", "conversation-9", "voisinage://conversations/9"),
        ]

    def test_the_badge_is_the_unread_count_at_send_time_and_drops_after_read_all(
        self, fcm, client_for
    ):
        user, neighbour = UserFactory(), UserFactory()
        device(user, "pixel", "android")
        device(user, "iphone", "ios")
        events = [event_for(user, "loan.accepted") for _ in range(3)]
        event_for(user, "order.eta")  # never pushed, but unread in the inbox: it counts
        event_for(neighbour)  # someone else's: it does not

        push_outbox_deliver(event_ids=[events[-1].pk], now=timezone.now())
        assert badges(fcm) == {"pixel": (4, "4"), "iphone": (4, "4")}

        response = client_for(user).post(
            "/api/v1/notifications/read-all", {"up_to": 3}, format="json"
        )
        assert response.json() == {"up_to": 3, "unread": 1, "last_id": 4}
        fcm.requests.clear()
        later = event_for(user, "message.new")
        push_outbox_deliver(event_ids=[later.pk], now=timezone.now())
        assert badges(fcm) == {"pixel": (2, "2"), "iphone": (2, "2")}

        client_for(user).post("/api/v1/notifications/read-all")
        fcm.requests.clear()
        last = event_for(user, "message.new")
        push_outbox_deliver(event_ids=[last.pk], now=timezone.now())
        assert badges(fcm) == {"pixel": (1, "1"), "iphone": (1, "1")}

    def test_the_badge_is_read_in_one_query_for_a_run(self, fcm):
        users = [UserFactory() for _ in range(3)]
        for n, user in enumerate(users):
            device(user, f"t{n}")
        events = notify(event_type="loan.accepted", recipients=users, data=ACCEPTED)
        event_for(users[0], "loan.returned")

        with CaptureQueriesContext(connection) as queries:
            push_outbox_deliver(event_ids=[e.pk for e in events], now=timezone.now())

        unread_queries = [q for q in queries if '"read_at" IS NULL' in q["sql"]]
        assert len(unread_queries) == 1
        assert {m["token"]: m["data"]["badge"] for m in fcm.messages()} == {
            "t0": "2",
            "t1": "1",
            "t2": "1",
        }

    @pytest.mark.parametrize(
        ("key", "topic"),
        [
            ("order-733", "order-733"),
            ("relay_point-4", "relay_point-4"),
            ("neighbourhood.announcement", "neighbourhood_announcement"),
            ("conversation-" + "9" * 40, "conversation-" + "9" * 19),
        ],
    )
    def test_a_web_push_topic_keeps_to_rfc_8030(self, key, topic):
        assert webpush_topic(key) == topic


def badges(fcm) -> dict[str, tuple[int, str]]:
    """Per device: the platform's badge, and ``data.badge``."""
    found = {}
    for m in fcm.messages():
        if "android" in m:
            shown = m["android"]["notification"]["notification_count"]
        else:
            shown = m["apns"]["payload"]["aps"]["badge"]
        found[m["token"]] = (shown, m["data"]["badge"])
    return found


class TestWhoGetsOne:
    def test_people_with_an_open_socket_get_none_unless_the_type_always_pushes(self, fcm):
        user = UserFactory()
        device(user)
        async_to_sync(presence_touch)(user_id=user.pk, channel_name="specific.x!y")
        accepted = event_for(user)
        reminder = event_for(user, "loan.reminder.due_tomorrow")

        run = push_outbox_deliver(now=timezone.now())

        assert (run.sent, run.skipped) == (1, 1)
        assert (outbox(accepted).status, outbox(accepted).reason) == ("skipped", "online")
        assert outbox(reminder).status == "sent"
        assert [m["data"]["event_type"] for m in fcm.messages()] == ["loan.reminder.due_tomorrow"]

    @pytest.mark.parametrize(
        ("preferences", "event_type", "status", "reason"),
        [
            ({"push": False}, "loan.reminder.overdue", "skipped", "push_off"),
            ({"types": {"loan_accepted": False}}, "loan.accepted", "skipped", "type_off"),
            ({"types": {"loan_accepted": False}}, "loan.returned", "sent", ""),
            # A type no preference covers goes out whatever the switches of the others.
            (
                {"types": {key: False for key in ["loan_accepted", "loan_returned"]}},
                "loan.handover_confirmed",
                "sent",
                "",
            ),
        ],
    )
    def test_preferences_are_followed(self, fcm, preferences, event_type, status, reason):
        user = UserFactory(notification_preferences=preferences)
        device(user)
        event = event_for(user, event_type)

        push_outbox_deliver(event_ids=[event.pk], now=event.created_at)

        assert (outbox(event).status, outbox(event).reason) == (status, reason)
        assert len(fcm.requests) == (1 if status == "sent" else 0)

    def test_no_device_no_push(self, fcm):
        event = event_for(UserFactory())
        push_outbox_deliver(event_ids=[event.pk], now=event.created_at)
        assert (outbox(event).status, outbox(event).reason) == ("skipped", "no_device")

    def test_without_credentials_a_push_is_a_logged_no_op(self, caplog):
        user = UserFactory()
        device(user)
        event = event_for(user)
        with caplog.at_level(logging.INFO, logger="notifications"):
            push_outbox_deliver(event_ids=[event.pk], now=event.created_at)
        assert (outbox(event).status, outbox(event).reason) == ("skipped", "not_configured")
        assert "push is a no-op: no FCM credentials configured" in caplog.text


class TestQuietHours:
    NIGHT = {"quiet_hours": {"start": "22:00", "end": "07:00"}}

    def test_a_push_in_quiet_hours_waits_for_their_end(self, fcm):
        user = UserFactory(notification_preferences=self.NIGHT)
        device(user)
        event = event_for(user)
        # The evening before clocks go forward: the night is an hour shorter.
        late = datetime(2027, 3, 27, 23, 30, tzinfo=PARIS)
        morning = datetime(2027, 3, 28, 7, 0, tzinfo=PARIS)
        PushOutbox.objects.filter(pk=event.pk).update(expires_at=morning + timedelta(hours=1))

        run = push_outbox_deliver(event_ids=[event.pk], now=late)

        assert run.deferred == 1
        assert (outbox(event).status, outbox(event).due_at) == ("pending", morning)
        assert morning.timestamp() - late.timestamp() == 6.5 * 3600
        assert fcm.requests == []
        assert push_outbox_deliver(now=morning - timedelta(seconds=1)).sent == 0
        assert push_outbox_deliver(now=morning).sent == 1
        assert len(fcm.requests) == 1

    def test_urgent_pushes_ignore_quiet_hours_and_short_lived_ones_are_dropped(self, fcm):
        user = UserFactory(notification_preferences=self.NIGHT)
        device(user)
        nearby = event_for(user, "order.courier_nearby")  # urgent
        updated = event_for(user, "route.updated")  # kept 2 hours: gone before 07:00
        night = (timezone.now() + timedelta(days=1)).astimezone(PARIS).replace(hour=23, minute=30)
        PushOutbox.objects.update(expires_at=night + timedelta(hours=2))

        push_outbox_deliver(now=night)

        assert outbox(nearby).status == "sent"
        assert (outbox(updated).status, outbox(updated).reason) == ("expired", "quiet_hours")

    @pytest.mark.parametrize(
        ("start", "end", "local", "expected"),
        [
            ("22:00", "07:00", "2026-06-01T23:00", "2026-06-02T07:00"),
            ("22:00", "07:00", "2026-06-02T06:59", "2026-06-02T07:00"),
            ("22:00", "07:00", "2026-06-02T07:00", None),
            ("22:00", "07:00", "2026-06-02T21:59", None),
            ("13:00", "14:30", "2026-06-02T13:10", "2026-06-02T14:30"),
            ("13:00", "14:30", "2026-06-02T14:30", None),
        ],
    )
    def test_the_end_of_quiet_hours(self, start, end, local, expected):
        now = datetime.fromisoformat(local).replace(tzinfo=PARIS)
        result = quiet_hours_end({"start": start, "end": end}, now)
        assert result == (
            None if expected is None else datetime.fromisoformat(expected).replace(tzinfo=PARIS)
        )
        assert quiet_hours_end(None, now) is None


class TestWhenFcmSaysNo:
    @pytest.mark.parametrize("answer", ["unregistered", "invalid_token", "sender_id_mismatch"])
    def test_a_dead_token_deletes_its_device(self, fcm, answer):
        user = UserFactory()
        good, dead = device(user, "good"), device(user, "dead")
        fcm.answers["dead"] = answer
        event = event_for(user)

        run = push_outbox_deliver(event_ids=[event.pk], now=event.created_at)

        assert run.devices_removed == 1
        assert list(Device.objects.filter(user=user)) == [good]
        assert outbox(event).status == "sent"
        assert not Device.objects.filter(pk=dead.pk).exists()

    def test_a_refused_message_is_not_the_devices_fault(self, fcm):
        user = UserFactory()
        kept = device(user, "kept")
        fcm.answers["kept"] = "invalid_payload"
        event = event_for(user)

        push_outbox_deliver(event_ids=[event.pk], now=event.created_at)

        assert (outbox(event).status, outbox(event).reason) == ("failed", "invalid_argument")
        assert list(Device.objects.filter(user=user)) == [kept]

    @pytest.mark.parametrize("answer", ["unavailable", "internal"])
    def test_transient_errors_are_retried_with_backoff_on_the_failed_devices(self, fcm, answer):
        user = UserFactory()
        device(user, "ok")
        flaky = device(user, "flaky")
        fcm.answers["flaky"] = answer
        event = event_for(user)
        now = event.created_at

        run = push_outbox_deliver(event_ids=[event.pk], now=now)

        row = outbox(event)
        assert run.retry_ids == [event.pk]
        assert (row.status, row.attempts, row.device_ids) == ("pending", 1, [flaky.pk])
        assert row.due_at == now + push_backoff(attempts=1, event_id=event.pk)
        assert sorted(fcm.sent_to()) == ["flaky", "ok"]

        del fcm.answers["flaky"]
        assert push_outbox_deliver(now=row.due_at - timedelta(seconds=1)).sent == 0
        assert push_outbox_deliver(now=row.due_at).sent == 1
        assert fcm.sent_to()[2:] == ["flaky"]
        assert (outbox(event).status, outbox(event).attempts) == ("sent", 2)

    def test_quota_errors_wait_as_long_as_fcm_asks(self, fcm):
        user = UserFactory()
        device(user, "busy")
        fcm.answers["busy"] = "quota"
        event = event_for(user)

        push_outbox_deliver(event_ids=[event.pk], now=event.created_at)

        row = outbox(event)
        assert (row.status, row.reason) == ("pending", "quota_exceeded")
        assert row.due_at == event.created_at + timedelta(seconds=120)

    def test_retries_stop_after_the_last_attempt(self, fcm, settings):
        settings.PUSH_MAX_ATTEMPTS = 3
        user = UserFactory()
        device(user, "down")
        fcm.answers["down"] = "unavailable"
        event = event_for(user)
        now = event.created_at
        for _ in range(3):
            push_outbox_deliver(now=now)
            now = max(now, outbox(event).due_at)

        assert (outbox(event).status, outbox(event).reason, outbox(event).attempts) == (
            "failed",
            "retries_exhausted",
            3,
        )
        assert len(fcm.requests) == 3

    def test_the_backoff_doubles_up_to_its_ceiling(self, settings):
        settings.PUSH_BACKOFF_SECONDS, settings.PUSH_BACKOFF_MAX_SECONDS = 15, 900
        waits = [push_backoff(attempts=n, event_id=7).total_seconds() for n in (1, 2, 3, 7, 12)]
        assert waits == [15.0, 30.0, 60.0, 900.0, 900.0]
        assert push_backoff(attempts=1, event_id=13).total_seconds() == pytest.approx(15 * 1.3)

    def test_the_task_retries_itself_and_the_sweep_covers_it(self, fcm, caplog):
        from notifications.tasks import push_deliver, push_sweep

        user = UserFactory()
        device(user, "flaky")
        fcm.answers["flaky"] = "unavailable"
        event = event_for(user)

        with caplog.at_level(logging.INFO, logger="celery.app.trace"):
            push_deliver.apply(args=[[event.pk]], throw=False)

        # Celery schedules the retry after the backoff (run eagerly here, the retry finds
        # nothing due yet).
        (retry,) = [r.getMessage() for r in caplog.records if "retry: Retry in" in r.getMessage()]
        countdown = float(re.search(r"Retry in ([\d.]+)s", retry).group(1))
        wait = push_backoff(attempts=1, event_id=event.pk).total_seconds()
        assert wait - 1 < countdown <= wait
        assert (outbox(event).status, outbox(event).attempts) == ("pending", 1)
        del fcm.answers["flaky"]
        PushOutbox.objects.filter(pk=event.pk).update(due_at=timezone.now())
        assert push_sweep.apply().get(disable_sync_subtasks=False)["sent"] == 1


class TestClaims:
    def test_a_push_is_sent_once_even_when_the_task_and_the_sweep_both_run(self, fcm):
        user = UserFactory()
        device(user)
        event = event_for(user)
        now = event.created_at

        first = push_outbox_deliver(event_ids=[event.pk], now=now)
        second = push_outbox_deliver(now=now)

        assert (first.sent, second.sent, len(fcm.requests)) == (1, 0, 1)

    def test_a_claim_that_was_never_finished_is_taken_again_after_its_lease(self, fcm):
        from notifications.services.push import LEASE, _claim

        user = UserFactory()
        device(user)
        event = event_for(user)
        now = event.created_at
        _claim([event.pk], now)  # a worker claimed it, then died

        assert push_outbox_deliver(now=now + LEASE - timedelta(seconds=1)).sent == 0
        assert push_outbox_deliver(now=now + LEASE).sent == 1

    def test_an_expired_push_is_dropped(self, fcm):
        user = UserFactory()
        device(user)
        event = event_for(user, "order.courier_nearby")
        push_outbox_deliver(now=event.created_at + timedelta(minutes=15))
        assert (outbox(event).status, outbox(event).reason) == ("expired", "expired")
        assert fcm.requests == []

    def test_a_large_fan_out_is_claimed_in_several_rounds(self, fcm, monkeypatch):
        monkeypatch.setattr("notifications.services.push.CLAIM_LIMIT", 2)
        users = [UserFactory() for _ in range(5)]
        for n, user in enumerate(users):
            device(user, f"t{n}")
        events = notify(event_type="loan.accepted", recipients=users, data=ACCEPTED)

        run = push_outbox_deliver(event_ids=[e.pk for e in events], now=events[0].created_at)

        assert (run.sent, run.batches) == (5, 3)
        assert sorted(fcm.sent_to()) == [f"t{n}" for n in range(5)]
