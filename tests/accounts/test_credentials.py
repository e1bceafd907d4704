"""Address verification, password reset, change of address and consent, through a real SMTP
server: links are read from the mails as a person would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AccountToken, User
from tests.accounts.factories import PASSWORD, UserFactory, access_token_for

pytestmark = pytest.mark.django_db(transaction=True)


def bearer(client_for, user):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}")
    return client


def test_a_verification_link_works_once(client_for, smtp_server, eager_tasks):
    user = UserFactory(email_verified_at=None, language="en")
    client = bearer(client_for, user)
    assert client.post("/api/v1/me/email/verify/resend").status_code == 202
    token = smtp_server.wait_for(1, to=user.email)[0].token()

    anonymous = client_for(None)
    first = anonymous.post("/api/v1/auth/email/verify", {"token": token}, format="json")
    assert first.status_code == 200
    user.refresh_from_db()
    assert user.email_verified_at is not None
    assert client.get("/api/v1/me").json()["email_verified"] is True

    again = anonymous.post("/api/v1/auth/email/verify", {"token": token}, format="json")
    assert again.status_code == 400 and again.json()["code"] == "token_used"


@pytest.mark.parametrize(
    "token", ["forged" + "x" * 40, "short", "a" * 300, "with spaces in it and more"]
)
def test_forged_links_are_refused(client_for, token):
    UserFactory(email_verified_at=None)
    for url in ("/api/v1/auth/email/verify", "/api/v1/auth/password/reset/confirm"):
        body = {"token": token, "password": "a brand new passphrase"}
        if url.endswith("verify"):
            body.pop("password")
        response = client_for(None).post(url, body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] in ("token_invalid", "invalid")
    assert not User.objects.filter(email_verified_at__isnull=False).exists()


def test_an_expired_link_is_refused(client_for, smtp_server, eager_tasks):
    user = UserFactory(email_verified_at=None)
    bearer(client_for, user).post("/api/v1/me/email/verify/resend")
    token = smtp_server.wait_for(1, to=user.email)[0].token()
    AccountToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client_for(None).post("/api/v1/auth/email/verify", {"token": token}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "token_expired"
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_a_reset_answers_the_same_for_any_address_and_mails_only_the_owner(
    client_for, smtp_server, eager_tasks
):
    owner = UserFactory(email="owner@example.org")
    known = client_for(None).post(
        "/api/v1/auth/password/reset", {"email": "OWNER@example.org"}, format="json"
    )
    unknown = client_for(None).post(
        "/api/v1/auth/password/reset", {"email": "nobody@example.org"}, format="json"
    )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    (mail,) = smtp_server.wait_for(1, to=owner.email)
    assert mail.subject == "Choose a new password"
    assert smtp_server.mails(to="nobody@example.org") == []


def test_a_reset_sets_the_password_ends_every_session_and_works_once(
    client_for, smtp_server, eager_tasks
):
    user = UserFactory(email_verified_at=None)
    signed_in = bearer(client_for, user)
    assert signed_in.get("/api/v1/me").status_code == 200
    client_for(None).post("/api/v1/auth/password/reset", {"email": user.email}, format="json")
    token = smtp_server.wait_for(1, to=user.email)[0].token()

    weak = client_for(None).post(
        "/api/v1/auth/password/reset/confirm", {"token": token, "password": "123"}, format="json"
    )
    assert weak.status_code == 400 and "password" in weak.json()["fields"]
    done = client_for(None).post(
        "/api/v1/auth/password/reset/confirm",
        {"token": token, "password": "a brand new passphrase"},
        format="json",
    )
    assert done.status_code == 200
    assert signed_in.get("/api/v1/me").status_code == 401  # the other session ended
    user.refresh_from_db()
    assert user.check_password("a brand new passphrase")
    assert user.email_verified_at is not None  # the person read a mail sent to the address
    reused = client_for(None).post(
        "/api/v1/auth/password/reset/confirm",
        {"token": token, "password": "yet another passphrase"},
        format="json",
    )
    assert reused.status_code == 400 and reused.json()["code"] == "token_used"
    assert smtp_server.wait_for(2, to=user.email)[1].subject == "Your password has changed"


def test_a_change_of_address_waits_for_the_new_one_and_tells_the_old(
    client_for, smtp_server, eager_tasks
):
    user = UserFactory(email="old@example.org")
    client = bearer(client_for, user)
    wrong = client.post(
        "/api/v1/me/email", {"email": "new@example.org", "password": "nope"}, format="json"
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_password"

    asked = client.post(
        "/api/v1/me/email", {"email": "New@Example.org", "password": PASSWORD}, format="json"
    )
    assert asked.status_code == 202
    user.refresh_from_db()
    assert user.email == "old@example.org"  # not before the new address is verified
    notice = smtp_server.wait_for(1, to="old@example.org")[0]
    assert notice.subject == "Your address is changing" and "ne***@example.org" in notice.text
    token = smtp_server.wait_for(1, to="new@example.org")[0].token()

    verified = client_for(None).post("/api/v1/auth/email/verify", {"token": token}, format="json")
    assert verified.status_code == 200
    user.refresh_from_db()
    assert user.email == "new@example.org" and user.email_verified_at is not None


def test_a_change_to_an_address_with_an_account_reveals_nothing(
    client_for, smtp_server, eager_tasks
):
    user = UserFactory(email="me@example.org")
    other = UserFactory(email="taken@example.org")
    response = bearer(client_for, user).post(
        "/api/v1/me/email", {"email": "taken@example.org", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 202
    (mail,) = smtp_server.wait_for(1, to=other.email)
    assert mail.subject == "A sign-up with your address"
    user.refresh_from_db()
    assert user.email == "me@example.org"


def test_new_documents_ask_for_consent_again(client_for, settings):
    user = UserFactory()
    client = bearer(client_for, user)
    assert client.get("/api/v1/items/mine").status_code != 403
    settings.TERMS_VERSION = "2027-06"

    blocked = client.get("/api/v1/neighbourhoods?lat=60.17&lon=24.94")
    assert blocked.status_code == 403 and blocked.json()["code"] == "consent_required"
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["consent"]["current"] is False
    legal = client_for(None).get("/api/v1/legal").json()
    assert legal["terms_version"] == "2027-06" and legal["terms_url"].startswith("http")

    stale = client.post(
        "/api/v1/me/consents",
        {"terms_version": "2026-01", "privacy_version": legal["privacy_version"]},
        format="json",
    )
    assert stale.status_code == 400 and stale.json()["code"] == "consent_required"
    accepted = client.post(
        "/api/v1/me/consents",
        {"terms_version": "2027-06", "privacy_version": legal["privacy_version"]},
        format="json",
    )
    assert accepted.status_code == 200 and accepted.json()["consent"]["current"] is True
    assert client.get("/api/v1/neighbourhoods?lat=60.17&lon=24.94").status_code == 200
    assert user.consents.filter(document="terms", version="2027-06").exists()
