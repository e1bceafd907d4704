"""The inbox: GET /api/v1/notifications (from the event log), the unread count, marking one or
all read, and the read state reaching the person's other sockets (one end-to-end test)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import yaml
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Event
from notifications.services import events_mark_all_read, events_prune, notify
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications"
COUNT = "/api/v1/notifications/unread-count"
READ_ALL = "/api/v1/notifications/read-all"


def read_url(seq) -> str:
    return f"/api/v1/notifications/{seq}/read"


def message(n: int) -> dict:
    return {
        "conversation_id": 9,
        "message_id": n,
        "sender_id": 17,
        "sender_name": "Camille",
        "preview": f"message {n}",
    }


ETA = {"order_id": 1, "route_id": 2, "eta": "2026-05-16T17:42:00+02:00", "minutes": 3}


def send(user, *numbers: int) -> None:
    for n in numbers:
        notify(event_type="message.new", recipients=[user], data=message(n))


def unread_seqs(user) -> list[int]:
    return list(
        Event.objects.filter(recipient=user, read_at__isnull=True)
        .order_by("seq")
        .values_list("seq", flat=True)
    )


def at(user, seq: int) -> str:
    """An event's ``at`` as the API writes it (DRF's DateTimeField, in the current time zone)."""
    from rest_framework.fields import DateTimeField

    return DateTimeField().to_representation(Event.objects.get(recipient=user, seq=seq).created_at)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


# --- the list ------------------------------------------------------------------------------------


class TestList:
    def test_an_item_carries_its_texts_in_the_persons_language(self, client_for):
        user = UserFactory(language="fr")
        send(user, 1)
        notify(event_type="order.eta", recipients=[user], data=ETA)

        body = client_for(user).get(LIST).json()

        assert body == {
            "next": None,
            "results": [
                {
                    "id": 2,
                    "type": "order.eta",
                    "at": at(user, 2),
                    "data": ETA,
                    "read": False,
                    "title": None,  # a type without push texts
                    "body": None,
                    "link": "voisinage://orders/1",
                },
                {
                    "id": 1,
                    "type": "message.new",
                    "at": at(user, 1),
                    "data": message(1),
                    "read": False,
                    "title": "Message de Camille",
                    "body": "message 1",
                    "link": "voisinage://conversations/9",
                },
            ],
        }

    def test_english_for_an_english_speaker(self, client_for):
        user = UserFactory(language="en")
        send(user, 1)
        item = client_for(user).get(LIST).json()["results"][0]
        assert (item["title"], item["body"]) == ("Message from Camille", "message 1")

    def test_the_link_uses_the_apps_scheme(self, client_for, settings):
        settings.APP_LINK_SCHEME = "voisinage-beta"
        user = UserFactory()
        send(user, 1)
        item = client_for(user).get(LIST).json()["results"][0]
        assert item["link"] == "voisinage-beta://conversations/9"

    def test_only_ones_own_events(self, client_for):
        user, neighbour = UserFactory(), UserFactory()
        send(user, 1, 2)
        send(neighbour, 3)
        assert ids(client_for(user).get(LIST)) == [2, 1]
        assert ids(client_for(neighbour).get(LIST)) == [1]
        assert client_for(None).get(LIST).status_code == 401

    def test_pages_follow_next_without_duplicates_or_gaps_while_events_arrive(self, client_for):
        user = UserFactory()
        send(user, 1, 2, 3, 4, 5)
        api = client_for(user)

        first = api.get(LIST, {"limit": 2, "unread": "false"})
        assert ids(first) == [5, 4]
        following = first.json()["next"]
        assert following == "http://testserver/api/v1/notifications?before=4&limit=2&unread=false"
        send(user, 6, 7)  # newer events do not move the older pages
        second = api.get(following)
        assert ids(second) == [3, 2]
        third = api.get(second.json()["next"])
        assert ids(third) == [1]
        assert third.json()["next"] is None
        # The first page again starts with the newest.
        assert ids(api.get(LIST, {"limit": 2})) == [7, 6]

    def test_an_exact_last_page_has_no_next(self, client_for):
        user = UserFactory()
        send(user, 1, 2)
        response = client_for(user).get(LIST, {"limit": 2})
        assert (ids(response), response.json()["next"]) == ([2, 1], None)
        assert client_for(UserFactory()).get(LIST).json() == {"next": None, "results": []}

    def test_unread_filter_and_count(self, client_for):
        user = UserFactory()
        send(user, 1, 2, 3, 4)
        api = client_for(user)
        assert api.post(read_url(3)).status_code == 200
        assert api.post(read_url(1)).status_code == 200

        assert ids(api.get(LIST, {"unread": "true"})) == [4, 2]
        assert ids(api.get(LIST, {"unread": "true", "limit": 1, "before": 4})) == [2]
        everything = api.get(LIST).json()["results"]
        assert [(item["id"], item["read"]) for item in everything] == [
            (4, False),
            (3, True),
            (2, False),
            (1, True),
        ]
        assert api.get(COUNT).json() == {"unread": 2, "last_id": 4}
        assert client_for(UserFactory()).get(COUNT).json() == {"unread": 0, "last_id": 0}

    def test_the_inbox_shows_what_the_log_keeps(self, client_for, settings):
        settings.NOTIFICATIONS_EVENT_RETENTION_DAYS = 14
        user = UserFactory()
        send(user, 1, 2)
        Event.objects.filter(recipient=user, seq=1).update(
            created_at=timezone.now() - timedelta(days=15)
        )
        events_prune()
        api = client_for(user)
        assert ids(api.get(LIST)) == [2]
        assert api.get(COUNT).json() == {"unread": 1, "last_id": 2}
        assert api.post(read_url(1)).status_code == 404

    def test_the_query_count_does_not_grow_with_the_page(self, client_for):
        user = UserFactory()
        for n in range(30):
            send(user, n)
        notify(event_type="order.eta", recipients=[user], data=ETA)
        api = client_for(user)
        counts = []
        for limit in (2, 30):
            with CaptureQueriesContext(connection) as queries:
                assert len(ids(api.get(LIST, {"limit": limit}))) == limit
            counts.append(len(queries))
        assert counts[0] == counts[1] == 1


# --- marking read --------------------------------------------------------------------------------


class TestMarkRead:
    def test_marking_one_read_twice_is_the_same(self, client_for):
        user = UserFactory()
        send(user, 1, 2)
        api = client_for(user)

        first = api.post(read_url(1))
        assert (first.status_code, first.json()) == (200, {"unread": 1, "last_id": 2})
        read_at = Event.objects.get(recipient=user, seq=1).read_at
        assert read_at is not None

        again = api.post(read_url(1))
        assert (again.status_code, again.json()) == (200, {"unread": 1, "last_id": 2})
        assert Event.objects.get(recipient=user, seq=1).read_at == read_at
        assert unread_seqs(user) == [2]

    def test_someone_elses_or_an_unknown_id_is_404_and_changes_nothing(self, client_for):
        user, neighbour = UserFactory(), UserFactory()
        send(user, 1, 2, 3)
        send(neighbour, 4)
        api = client_for(neighbour)

        for seq in (3, 2, 0, 99999999999999999999):  # the user's ids that the neighbour lacks
            response = api.post(read_url(seq))
            assert response.status_code == 404, seq
            assert response.json()["code"] == "notification_not_found"
        api.credentials(HTTP_ACCEPT_LANGUAGE="fr")
        response = api.post(read_url(2))
        assert response.json() == {
            "code": "notification_not_found",
            "detail": "Notification introuvable.",
            "fields": {},
        }
        assert unread_seqs(user) == [1, 2, 3]
        assert client_for(None).post(read_url(1)).status_code == 401

    def test_read_all_up_to_leaves_a_newer_event_unread(self, client_for):
        user = UserFactory()
        send(user, 1, 2, 3)
        api = client_for(user)
        seen = api.get(LIST).json()["results"][0]["id"]
        send(user, 4)  # arrives after the client looked

        response = api.post(READ_ALL, {"up_to": seen}, format="json")

        assert response.json() == {"up_to": 3, "unread": 1, "last_id": 4}
        assert unread_seqs(user) == [4]
        assert ids(api.get(LIST, {"unread": "true"})) == [4]

    def test_read_all_without_up_to_marks_everything_and_a_larger_one_is_clamped(self, client_for):
        user, neighbour = UserFactory(), UserFactory()
        send(user, 1, 2)
        send(neighbour, 3, 4, 5)
        api = client_for(user)

        assert api.post(READ_ALL, {"up_to": 1000}, format="json").json() == {
            "up_to": 2,
            "unread": 0,
            "last_id": 2,
        }
        send(user, 6)  # id 3: above what the request saw, so unread
        assert unread_seqs(user) == [3]
        assert api.post(READ_ALL, {}, format="json").json() == {
            "up_to": 3,
            "unread": 0,
            "last_id": 3,
        }
        assert api.post(READ_ALL).json() == {"up_to": 3, "unread": 0, "last_id": 3}
        assert unread_seqs(neighbour) == [1, 2, 3]
        assert client_for(UserFactory()).post(READ_ALL).json() == {
            "up_to": 0,
            "unread": 0,
            "last_id": 0,
        }

    @pytest.mark.parametrize(
        "body",
        [{"up_to": -1}, {"up_to": "x"}, {"up_to": 1.5}, {"up_to": None}, {"a": 1}, [1], "1"],
    )
    def test_a_bad_body_is_400_and_changes_nothing(self, client_for, body):
        user = UserFactory()
        send(user, 1)
        response = client_for(user).post(READ_ALL, body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        if isinstance(body, dict):
            assert set(response.json()["fields"]) == set(body)
        assert unread_seqs(user) == [1]

    def test_an_up_to_beyond_a_bigint_is_400(self, client_for):
        user = UserFactory()
        send(user, 1)
        for raw in ('{"up_to": 9223372036854775808}', '{"up_to": 1e400}'):
            response = client_for(user).post(READ_ALL, raw, content_type="application/json")
            assert response.status_code == 400, raw
            assert response.json()["code"] in ("invalid", "parse_error")
        assert unread_seqs(user) == [1]

    @pytest.mark.parametrize(
        "query",
        [{"before": "x"}, {"before": 0}, {"limit": 0}, {"limit": 101}, {"unread": "maybe"}],
    )
    def test_a_bad_query_is_400(self, client_for, query):
        response = client_for(UserFactory()).get(LIST, query)
        assert response.status_code == 400
        assert set(response.json()["fields"]) == set(query)

    def test_unknown_query_parameters_are_ignored(self, client_for):
        user = UserFactory()
        send(user, 1)
        assert ids(client_for(user).get(LIST, {"status": "x", "cursor": "y"})) == [1]

    @pytest.mark.parametrize("segment", ["abc", "-1", "1.5", "null"])
    def test_a_path_id_that_is_no_integer_is_a_json_404(self, client_for, segment):
        user = UserFactory()
        send(user, 1)
        response = client_for(user).post(read_url(segment))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert unread_seqs(user) == [1]


def test_the_endpoints_are_documented(client_for):
    schema = yaml.safe_load(client_for(None).get("/api/schema/").content)
    paths = schema["paths"]
    operations = {
        LIST: "get",
        COUNT: "get",
        "/api/v1/notifications/{notification_id}/read": "post",
        READ_ALL: "post",
    }
    for path, method in operations.items():
        assert set(paths[path]) == {method}
        assert paths[path][method]["tags"] == ["notifications"]
    listing = paths[LIST]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"before", "limit", "unread"}
    assert set(listing["responses"]) == {"200", "400", "401", "403"}
    assert set(paths["/api/v1/notifications/{notification_id}/read"]["post"]["responses"]) >= {
        "200",
        "401",
        "404",
    }
    components = schema["components"]["schemas"]
    assert set(components["Notification"]["properties"]) == {
        "id",
        "type",
        "at",
        "data",
        "read",
        "title",
        "body",
        "link",
    }
    assert set(components["NotificationPage"]["properties"]) == {"next", "results"}
    assert set(components["Unread"]["properties"]) == {"unread", "last_id"}
    assert set(components["ReadAll"]["properties"]) == {"up_to", "unread", "last_id"}
    assert set(components["ReadAllInputRequest"]["properties"]) == {"up_to"}


@pytest.mark.django_db(transaction=True)
def test_an_event_committing_while_all_is_marked_read_stays_unread():
    """notify() holds the person's stream row until it commits: "all read" (no up_to) reads the
    latest id before that commit, so the new event, with a higher id, is left unread."""
    user = UserFactory()
    send(user, 1, 2)
    inserted, release = threading.Event(), threading.Event()

    def slow_notify() -> None:
        try:
            with transaction.atomic():
                send(user, 3)
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_notify)
    thread.start()
    try:
        assert inserted.wait(10)
        up_to, unread = events_mark_all_read(user_id=user.pk)
    finally:
        release.set()
        thread.join(10)

    assert (up_to, unread.unread, unread.last_id) == (2, 0, 2)
    assert unread_seqs(user) == [3]


# --- live: the read state reaches the person's other devices ------------------------------------


@pytest.mark.e2e
@pytest.mark.xdist_group("daphne")
@pytest.mark.django_db(transaction=True)
def test_marking_read_reaches_the_persons_other_socket(daphne, client_for):
    from tests.accounts.factories import access_token_for
    from tests.notifications.realtime import Socket, open_socket

    user, neighbour = UserFactory(), UserFactory()
    send(user, 1, 2, 3)
    phone, tablet = client_for(None), client_for(None)
    phone.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user, 'phone')}")
    tablet.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user, 'tablet')}")
    tickets = [api.post("/api/v1/realtime/ticket").json()["ticket"] for api in (phone, tablet)]
    neighbour_ticket = client_for(neighbour).post("/api/v1/realtime/ticket").json()["ticket"]
    with (
        open_socket(daphne, tickets[0], last_id=3) as on_phone,
        open_socket(daphne, tickets[1], last_id=3) as on_tablet,
        open_socket(daphne, neighbour_ticket) as on_neighbours,
    ):
        sockets = [Socket(on_phone), Socket(on_tablet)]
        assert [socket.until_ready() for socket in sockets] == [([], 3), ([], 3)]
        assert Socket(on_neighbours).until_ready() == ([], 0)

        assert phone.post(read_url(2)).json() == {"unread": 2, "last_id": 3}
        for socket in sockets:  # the tablet, and the phone's own socket too
            assert socket.next() == {
                "type": "notifications.read",
                "ids": [2],
                "unread": 2,
                "last_id": 3,
            }

        # Marked already: nothing is sent. Then everything, from the tablet.
        assert phone.post(read_url(2)).status_code == 200
        assert tablet.post(READ_ALL, {}, format="json").json() == {
            "up_to": 3,
            "unread": 0,
            "last_id": 3,
        }
        for socket in sockets:
            assert socket.next() == {
                "type": "notifications.read",
                "up_to": 3,
                "unread": 0,
                "last_id": 3,
            }

        # Events go on as before, and nobody else heard of any of it.
        send(user, 4)
        assert [socket.next()["id"] for socket in sockets] == [4, 4]
        send(neighbour, 1)
        assert Socket(on_neighbours).next()["id"] == 1
