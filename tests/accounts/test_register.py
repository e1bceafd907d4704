from __future__ import annotations

import threading

import pytest
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
        **overrides,
    }


@pytest.mark.django_db
def test_register_creates_the_account_and_returns_profile_and_tokens(client_for):
    response = client_for(None).post(URL, payload(), format="json")

    assert response.status_code == 201
    body = response.json()
    user = User.objects.get()
    assert body["user"] == {
        "id": user.pk,
        "email": "camille.martin@example.org",
        "display_name": "Camille",
        "language": "fr",
        "home": None,
        "home_address": "",
        "notification_preferences": DEFAULT_PREFERENCES,
    }
    assert set(body) == {"user", "access", "refresh"}
    assert "password" not in response.content.decode()
    assert user.email == "camille.martin@example.org"
    assert user.check_password("un vélo rouge au marché")
    assert not user.is_staff and not user.is_superuser

    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert client.get("/api/v1/me").json()["id"] == user.pk


@pytest.mark.django_db
@pytest.mark.parametrize("accept_language", ["fr", "en"])
def test_register_language_defaults_to_the_request_language(client_for, accept_language):
    body = payload()
    del body["language"]
    response = client_for(None, language=accept_language).post(URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["user"]["language"] == accept_language
    assert User.objects.get().language == accept_language


@pytest.mark.django_db
def test_register_ignores_a_stale_authorization_header(client_for):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token", HTTP_ACCEPT_LANGUAGE="en")

    assert client.post(URL, payload(), format="json").status_code == 201


@pytest.mark.django_db
def test_duplicate_email_whatever_its_case_is_refused_and_nothing_is_created(client_for):
    existing = UserFactory(email="camille.martin@example.org", display_name="First")

    response = client_for(None).post(
        URL, payload(email="CAMILLE.martin@example.ORG"), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "email_taken",
        "detail": "An account with this email address already exists.",
        "fields": {"email": ["An account with this email address already exists."]},
    }
    assert list(User.objects.values_list("pk", "display_name")) == [(existing.pk, "First")]


@pytest.mark.django_db
def test_duplicate_email_message_in_french(client_for):
    UserFactory(email="camille.martin@example.org")

    response = client_for(None, language="fr").post(URL, payload(), format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Un compte existe déjà avec cette adresse e-mail."


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
    assert set(response.json()["fields"]) == {"email", "password", "display_name"}


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
