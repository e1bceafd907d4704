from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import User
from accounts.preferences import NOTIFICATION_TYPES
from accounts.services import EmailTakenError, user_create
from tests.accounts.factories import UserFactory

URL = "/api/v1/auth/register"
DEFAULT_PREFERENCES = {
    "push": True,
    "email": True,
    "quiet_hours": None,
    "types": dict.fromkeys(NOTIFICATION_TYPES, True),
}


def payload(**overrides):
    return {
        "email": "Camille.Martin@Example.org",
        "password": "un vélo rouge au marché",
        "display_name": "Camille",
        "language": "fr",
        "terms_version": settings.TERMS_VERSION,
        "privacy_version": settings.PRIVACY_VERSION,
        **overrides,
    }


@pytest.mark.django_db(transaction=True)
def test_register_creates_an_unverified_account_and_mails_a_link(
    client_for, smtp_server, eager_tasks
):
    response = client_for(None).post(URL, payload(), format="json")

    assert response.status_code == 202
    assert response.json() == {
        "detail": "Check your mailbox: a link there confirms your address.",
        "email": "camille.martin@example.org",
    }
    user = User.objects.get()
    assert user.email == "camille.martin@example.org"
    assert user.check_password("un vélo rouge au marché")
    assert not user.is_staff and not user.is_superuser
    assert user.email_verified_at is None
    assert (user.terms_version, user.privacy_version) == (
        settings.TERMS_VERSION,
        settings.PRIVACY_VERSION,
    )
    assert set(user.consents.values_list("document", "version")) == {
        ("terms", settings.TERMS_VERSION),
        ("privacy", settings.PRIVACY_VERSION),
    }
    (mail,) = smtp_server.wait_for(1, to=user.email)
    assert mail.subject == "Confirmez votre adresse e-mail"  # the person's language
    assert "/account/verify-email?token=" in mail.text

    # Logging in works at once; the profile says the address waits for its verification.
    tokens = client_for(None).post(
        "/api/v1/auth/token",
        {"email": user.email, "password": "un vélo rouge au marché"},
        format="json",
    )
    assert tokens.status_code == 200
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    me = client.get("/api/v1/me").json()
    assert me["id"] == user.pk and me["email_verified"] is False
    assert me["notification_preferences"] == DEFAULT_PREFERENCES
    assert me["roles"] == [] and me["consent"]["current"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("accept_language", ["fr", "en"])
def test_register_language_defaults_to_the_request_language(client_for, accept_language):
    body = payload()
    del body["language"]
    response = client_for(None, language=accept_language).post(URL, body, format="json")

    assert response.status_code == 202
    assert User.objects.get().language == accept_language


@pytest.mark.django_db
def test_register_ignores_a_stale_authorization_header(client_for):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token", HTTP_ACCEPT_LANGUAGE="en")

    assert client.post(URL, payload(), format="json").status_code == 202


@pytest.mark.django_db(transaction=True)
def test_a_taken_email_answers_as_a_new_one_and_its_owner_is_told(
    client_for, smtp_server, eager_tasks
):
    existing = UserFactory(email="camille.martin@example.org", display_name="First")

    taken = client_for(None).post(URL, payload(email="CAMILLE.martin@example.ORG"), format="json")
    fresh = client_for(None).post(URL, payload(email="someone.new@example.org"), format="json")

    assert taken.status_code == fresh.status_code == 202
    assert taken.json()["detail"] == fresh.json()["detail"]
    assert set(taken.json()) == set(fresh.json()) == {"detail", "email"}
    assert User.objects.filter(email="camille.martin@example.org").get().pk == existing.pk
    assert existing.check_password("correct horse battery staple")  # unchanged
    (owner_mail,) = smtp_server.wait_for(1, to=existing.email)
    assert owner_mail.subject == "A sign-up with your address"
    assert "/account/reset-password?token=" in owner_mail.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [{"terms_version": "2001-01"}, {"privacy_version": "old"}],
)
def test_registering_against_old_documents_asks_for_the_versions_in_force(client_for, overrides):
    response = client_for(None).post(URL, payload(**overrides), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "consent_required"
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("84736251907", "This password is entirely numeric."),
        ("camille.martin@example", "The password is too similar to the email."),
    ],
)
def test_weak_passwords_are_refused_with_the_validators_message(client_for, password, message):
    response = client_for(None).post(URL, payload(password=password), format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert message in body["fields"]["password"]
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"language": "de"}, "language"),
        ({"is_staff": True}, "is_staff"),
        ({"is_superuser": True}, "is_superuser"),
        ({"home": {"type": "Point", "coordinates": [2.35, 48.85]}}, "home"),
    ],
)
def test_invalid_or_unknown_fields_are_refused(client_for, overrides, field):
    response = client_for(None).post(URL, payload(**overrides), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_missing_fields_are_named(client_for):
    response = client_for(None).post(URL, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {
        "email",
        "password",
        "display_name",
        "terms_version",
        "privacy_version",
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_email_create_one_account():
    """The check in user_create races; the unique constraint on lower(email) does not."""
    workers = 8
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def register(index: int) -> None:
        try:
            barrier.wait()
            email = "Race@Example.org" if index % 2 else "race@example.ORG"
            try:
                user_create(email=email, password="a long enough passphrase")
                outcome = "created"
            except EmailTakenError:
                outcome = "taken"
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created"] + ["taken"] * (workers - 1)
    assert list(User.objects.values_list("email", flat=True)) == ["race@example.org"]
