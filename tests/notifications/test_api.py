"""The notifications API: websocket tickets and push devices, with their authorization matrix."""

from __future__ import annotations

import pytest
import yaml
from rest_framework.test import APIClient

from notifications.models import Device
from notifications.services import notify
from notifications.tickets import ticket_exists
from tests.accounts.factories import UserFactory
from tests.harness import free_port
from tests.notifications.factories import DeviceFactory
from tests.notifications.realtime import use_redis

pytestmark = pytest.mark.django_db

DEVICE = {"platform": "android", "token": "fcm:APA91bH-example_token", "locale": "fr-FR"}


def client(user=None, language="en") -> APIClient:
    api = APIClient()
    api.credentials(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        api.force_authenticate(user)
    return api


class TestTicket:
    URL = "/api/v1/realtime/ticket"

    def test_anonymous_gets_401(self):
        response = client().post(self.URL)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"

    def test_a_resident_gets_a_short_lived_single_use_ticket(self, settings, redis_server):
        settings.REALTIME_TICKET_TTL_SECONDS = 30
        user = UserFactory()
        notify(
            event_type="order.eta",
            recipients=[user],
            data={"order_id": 1, "route_id": 2, "eta": "2026-05-16T17:42:00+02:00", "minutes": 3},
        )

        response = client(user).post(self.URL)

        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"ticket", "expires_in", "last_id", "path"}
        assert (body["expires_in"], body["last_id"], body["path"]) == (30.0, 1, "/ws/v1/events")
        assert len(body["ticket"]) == 43
        assert ticket_exists(body["ticket"])
        # Redis keeps a hash of the ticket, never the ticket itself, for 30 s at most.
        redis = redis_server.client()
        keys = [k.decode() for k in redis.keys("ntest:rt:ticket:*")]
        assert body["ticket"] not in "".join(keys)
        assert all(0 < redis.pttl(k) <= 30_000 for k in keys)
        assert client(user).post(self.URL).json()["ticket"] != body["ticket"]

    def test_without_redis_the_answer_is_503_in_the_error_format(self, settings):
        use_redis(settings, f"redis://127.0.0.1:{free_port()}/0")
        response = client(UserFactory(), language="fr").post(self.URL)
        assert response.status_code == 503
        assert response.json() == {
            "code": "realtime_unavailable",
            "detail": "Les mises à jour en direct sont momentanément indisponibles ; réessayez "
            "plus tard.",
            "fields": {},
        }


class TestDevices:
    URL = "/api/v1/devices"

    def test_anonymous_gets_401(self):
        assert client().post(self.URL, DEVICE, format="json").status_code == 401
        device = DeviceFactory(platform="ios", token="t")
        assert client().delete(f"{self.URL}/{device.pk}").status_code == 401
        assert Device.objects.filter(pk=device.pk).exists()

    def test_a_resident_registers_a_device(self):
        user = UserFactory()
        response = client(user).post(self.URL, DEVICE, format="json")

        assert response.status_code == 201
        device = Device.objects.get(user=user)
        assert response.json() == {
            "id": device.pk,
            "platform": "android",
            "locale": "fr-FR",
            "created_at": response.json()["created_at"],
        }
        assert (device.token, device.platform, device.locale) == (
            DEVICE["token"],
            "android",
            "fr-FR",
        )

    def test_registering_a_known_token_again_updates_it_and_moves_it_to_the_caller(self):
        first, second = UserFactory(), UserFactory()
        created = client(first).post(self.URL, DEVICE, format="json").json()

        again = client(first).post(self.URL, {**DEVICE, "locale": "en-GB"}, format="json")
        assert (again.status_code, again.json()["id"], again.json()["locale"]) == (
            200,
            created["id"],
            "en-GB",
        )
        moved = client(second).post(self.URL, {**DEVICE, "platform": "ios"}, format="json")

        assert (moved.status_code, moved.json()["id"]) == (200, created["id"])
        device = Device.objects.get()
        assert (device.user_id, device.platform, device.locale) == (second.pk, "ios", "fr-FR")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"platform": "blackberry", "token": "t"}, "platform"),
            ({"platform": "ios"}, "token"),
            ({"platform": "ios", "token": "has space"}, "token"),
            ({"platform": "ios", "token": "x" * 1025}, "token"),
            ({"platform": "ios", "token": "t", "locale": "français"}, "locale"),
            ({"platform": "ios", "token": "t", "user": 3}, "user"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, body, field):
        response = client(UserFactory()).post(self.URL, body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert field in response.json()["fields"]
        assert not Device.objects.exists()

    def test_only_the_owner_deletes_a_device(self):
        owner, neighbour = UserFactory(), UserFactory()
        staff = UserFactory(is_staff=True)
        device = DeviceFactory(user=owner, platform="android", token="t")

        for other in (neighbour, staff):
            response = client(other).delete(f"{self.URL}/{device.pk}")
            assert response.status_code == 404
            assert response.json()["code"] == "device_not_found"
            assert Device.objects.filter(pk=device.pk).exists()

        assert client(owner).delete(f"{self.URL}/{device.pk}").status_code == 204
        assert not Device.objects.filter(pk=device.pk).exists()
        assert client(owner).delete(f"{self.URL}/{device.pk}").status_code == 404


def test_the_endpoints_are_documented():
    schema = yaml.safe_load(client().get("/api/schema/").content)
    paths = schema["paths"]
    assert set(paths["/api/v1/realtime/ticket"]) == {"post"}
    assert set(paths["/api/v1/devices"]) == {"post"}
    assert set(paths["/api/v1/devices/{device_id}"]) == {"delete"}
    ticket = paths["/api/v1/realtime/ticket"]["post"]
    # 403 and 409 are the errors every signed-in write may answer, 400 every operation (a query
    # string may hold a refused character) (backend/schema.py).
    assert set(ticket["responses"]) == {"201", "400", "401", "403", "409", "422", "503"}
    assert set(schema["components"]["schemas"]["Ticket"]["properties"]) == {
        "ticket",
        "expires_in",
        "last_id",
        "path",
    }
    assert set(schema["components"]["schemas"]["Device"]["properties"]) == {
        "id",
        "platform",
        "locale",
        "created_at",
    }
    assert set(paths["/api/v1/devices"]["post"]["responses"]) == {
        "200",
        "201",
        *("400", "401", "403", "404", "409", "413", "415"),  # backend/schema.py, for every body
        "422",  # a reused Idempotency-Key (accounts/idempotency.py)
    }
