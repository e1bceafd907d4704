"""Sessions: refresh tokens rotate, old ones are refused, logout and revocation end access at
once, a password change ends the other sessions."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AuthSession
from accounts.services.sessions import TokenReusedError, session_refresh, session_start
from notifications.models import Device
from tests.accounts.factories import PASSWORD, UserFactory

TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"


def login(client_for, user, device_name="phone"):
    response = client_for(None).post(
        TOKEN_URL,
        {"email": user.email, "password": PASSWORD, "device_name": device_name},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


def as_bearer(client_for, access):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.mark.django_db
def test_a_refresh_rotates_and_the_old_token_is_refused_after_the_grace(client_for, settings):
    settings.JWT_REFRESH_REUSE_GRACE_SECONDS = 0
    user = UserFactory()
    first = login(client_for, user)

    rotated = client_for(None).post(REFRESH_URL, {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    second = rotated.json()
    assert set(second) == {"access", "refresh"} and second["refresh"] != first["refresh"]
    assert as_bearer(client_for, second["access"]).get("/api/v1/me").status_code == 200

    # The old refresh token again: it was copied. Refused, and the session ends.
    reused = client_for(None).post(REFRESH_URL, {"refresh": first["refresh"]}, format="json")
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_reused"
    assert (
        client_for(None)
        .post(REFRESH_URL, {"refresh": second["refresh"]}, format="json")
        .json()["code"]
        == "session_ended"
    )
    assert as_bearer(client_for, second["access"]).get("/api/v1/me").status_code == 401


@pytest.mark.django_db
def test_a_retry_within_the_grace_gets_a_new_pair_without_ending_the_session(settings):
    settings.JWT_REFRESH_REUSE_GRACE_SECONDS = 60
    user = UserFactory()
    first = session_start(user=user)
    lost = session_refresh(refresh=first.refresh)  # its answer never reached the phone
    retried = session_refresh(refresh=first.refresh)
    assert retried.refresh not in (first.refresh, lost.refresh)
    assert session_refresh(refresh=retried.refresh).session.pk == first.session.pk
    with pytest.raises(TokenReusedError):  # the lost one only an eavesdropper could hold
        session_refresh(refresh=lost.refresh)


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_with_one_token_give_one_rotation(settings):
    settings.JWT_REFRESH_REUSE_GRACE_SECONDS = 0
    user = UserFactory()
    pair = session_start(user=user)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def refresh() -> None:
        try:
            barrier.wait()
            try:
                session_refresh(refresh=pair.refresh)
                outcomes.append("rotated")
            except TokenReusedError:
                outcomes.append("reused")
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["reused", "rotated"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "refresh",
    ["not-a-jwt", "a.b.c", "\u00e9" * 10, ""],
)
def test_forged_refresh_tokens_are_4xx(client_for, refresh):
    response = client_for(None).post(REFRESH_URL, {"refresh": refresh}, format="json")
    assert response.status_code in (400, 401)
    assert response.json()["code"] in ("invalid", "token_not_valid")


@pytest.mark.django_db
def test_logout_ends_the_session_and_its_device(client_for):
    user = UserFactory()
    tokens = login(client_for, user)
    client = as_bearer(client_for, tokens["access"])
    device = client.post(
        "/api/v1/devices", {"platform": "android", "token": "fcm-" + "x" * 40}, format="json"
    )
    assert device.status_code in (200, 201), device.json()
    assert Device.objects.get(user=user).session_id is not None

    assert client.post("/api/v1/auth/logout", {}, format="json").status_code == 204

    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").json()["code"] == "session_ended"
    refused = client_for(None).post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")
    assert refused.status_code == 401
    assert not Device.objects.filter(user=user).exists()  # no pushes to a logged-out phone


@pytest.mark.django_db
def test_a_person_lists_their_sessions_and_ends_another(client_for):
    user, stranger = UserFactory(), UserFactory()
    phone = login(client_for, user, "Pixel 8")
    tablet = login(client_for, user, "iPad")
    theirs = login(client_for, stranger, "other")
    client = as_bearer(client_for, phone["access"])

    listed = client.get("/api/v1/me/sessions").json()
    assert [(s["name"], s["current"]) for s in listed] in (
        [("iPad", False), ("Pixel 8", True)],
        [("Pixel 8", True), ("iPad", False)],
    )
    tablet_id = next(s["id"] for s in listed if s["name"] == "iPad")
    stranger_id = str(AuthSession.objects.get(user=stranger).pk)

    assert client.delete(f"/api/v1/me/sessions/{stranger_id}").status_code == 404
    assert client.delete("/api/v1/me/sessions/not-a-uuid").status_code == 404
    assert as_bearer(client_for, theirs["access"]).get("/api/v1/me").status_code == 200

    assert client.delete(f"/api/v1/me/sessions/{tablet_id}").status_code == 204
    assert as_bearer(client_for, tablet["access"]).get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").status_code == 200
    assert [s["name"] for s in client.get("/api/v1/me/sessions").json()] == ["Pixel 8"]


@pytest.mark.django_db(transaction=True)
def test_a_password_change_ends_the_other_sessions(client_for, smtp_server, eager_tasks):
    user = UserFactory()
    mine, other = login(client_for, user), login(client_for, user)
    client = as_bearer(client_for, mine["access"])

    wrong = client.post(
        "/api/v1/me/password",
        {"current_password": "not it", "new_password": "a brand new passphrase"},
        format="json",
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_password"
    weak = client.post(
        "/api/v1/me/password",
        {"current_password": PASSWORD, "new_password": "123"},
        format="json",
    )
    assert weak.status_code == 400 and "new_password" in weak.json()["fields"]

    changed = client.post(
        "/api/v1/me/password",
        {"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        format="json",
    )
    assert changed.status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    assert as_bearer(client_for, other["access"]).get("/api/v1/me").status_code == 401
    user.refresh_from_db()
    assert user.check_password("a brand new passphrase")
    (notice,) = smtp_server.wait_for(1, to=user.email)
    assert notice.subject == "Your password has changed"


@pytest.mark.django_db
def test_tokens_without_a_live_session_are_refused(client_for):
    from rest_framework_simplejwt.tokens import AccessToken

    user = UserFactory()
    bare = AccessToken.for_user(user)  # no session: minted outside a login
    assert as_bearer(client_for, str(bare)).get("/api/v1/me").status_code == 401
    expired = session_start(user=user)
    AuthSession.objects.filter(pk=expired.session.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert as_bearer(client_for, expired.access).get("/api/v1/me").status_code == 401
    user.is_active = False
    user.save()
    live = session_start(user=user)
    assert as_bearer(client_for, live.access).get("/api/v1/me").status_code == 401
