from __future__ import annotations

import pytest

from tests.accounts.factories import PASSWORD, UserFactory

TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"
WRONG_CREDENTIALS = {
    "code": "no_active_account",
    "detail": "No active account matches this email and password.",
    "fields": {},
}


def bearer(client, access):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("typed_email", ["sam@example.org", "Sam@Example.ORG", " sam@example.org"])
def test_token_pair_for_the_right_password_whatever_the_email_case(client_for, typed_email):
    user = UserFactory(email="sam@example.org")
    client = client_for(None)

    response = client.post(TOKEN_URL, {"email": typed_email, "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    me = bearer(client, response.json()["access"]).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["id"] == user.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("sam@example.org", "wrong password"),
        ("nobody@example.org", PASSWORD),
        ("sam@example.org", ""),
    ],
)
def test_wrong_credentials_are_401_in_the_error_format(client_for, email, password):
    UserFactory(email="sam@example.org")

    response = client_for(None).post(
        TOKEN_URL, {"email": email, "password": password}, format="json"
    )

    if password == "":
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert "password" in response.json()["fields"]
    else:
        assert response.status_code == 401
        assert response.json() == WRONG_CREDENTIALS


@pytest.mark.django_db
def test_inactive_account_gets_no_token(client_for):
    UserFactory(email="gone@example.org", is_active=False)

    response = client_for(None).post(
        TOKEN_URL, {"email": "gone@example.org", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == WRONG_CREDENTIALS


@pytest.mark.django_db
def test_wrong_credentials_message_in_french(client_for):
    response = client_for(None, language="fr").post(
        TOKEN_URL, {"email": "nobody@example.org", "password": "x"}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"
    assert (
        response.json()["detail"]
        == "Aucun compte actif ne correspond à cet e-mail et ce mot de passe."
    )


@pytest.mark.django_db
def test_refresh_gives_a_working_access_token(client_for):
    user = UserFactory()
    client = client_for(None)
    pair = client.post(TOKEN_URL, {"email": user.email, "password": PASSWORD}, format="json").json()

    response = client.post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 200
    access = response.json()["access"]
    assert bearer(client, access).get("/api/v1/me").json()["id"] == user.pk


@pytest.mark.django_db
def test_refresh_refuses_a_bad_token_and_an_access_token(client_for):
    user = UserFactory()
    client = client_for(None)
    pair = client.post(TOKEN_URL, {"email": user.email, "password": PASSWORD}, format="json").json()

    for token in ("garbage", pair["access"]):
        response = client.post(REFRESH_URL, {"refresh": token}, format="json")
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"
        assert response.json()["fields"] == {}

    missing = client.post(REFRESH_URL, {}, format="json")
    assert missing.status_code == 400
    assert "refresh" in missing.json()["fields"]
