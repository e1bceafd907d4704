"""The pages mails link to: opening a link changes nothing, the button does."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def browser(language: str = "fr") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE=language, HTTP_ACCEPT="text/html,application/xhtml+xml")


def test_opening_a_verification_link_shows_a_button_and_the_button_verifies(
    client_for, smtp_server, eager_tasks
):
    user = UserFactory(email_verified_at=None, language="fr")
    client = client_for(None)
    from tests.accounts.factories import access_token_for

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}")
    client.post("/api/v1/me/email/verify/resend")
    mail = smtp_server.wait_for(1, to=user.email)[0]
    link = next(link for link in mail.links() if "/account/verify-email" in link)
    path = link.split("8000", 1)[1] if "8000" in link else link

    page = browser().get(path)
    assert page.status_code == 200
    assert "Confirmer mon adresse" in page.content.decode()
    user.refresh_from_db()
    assert user.email_verified_at is None  # a mail scanner opening the link changes nothing

    done = browser().post("/account/verify-email", {"token": mail.token()})
    assert done.status_code == 200 and "Votre adresse est confirmée." in done.content.decode()
    user.refresh_from_db()
    assert user.email_verified_at is not None
    again = browser("en").post("/account/verify-email", {"token": mail.token()})
    assert again.status_code == 400 and "already used" in again.content.decode()


def test_the_reset_page_sets_a_password(smtp_server, eager_tasks):
    user = UserFactory(language="en")
    asked = browser("en").post("/account/forgot-password", {"email": user.email})
    assert asked.status_code == 200 and "If this address has an account" in asked.content.decode()
    token = smtp_server.wait_for(1, to=user.email)[0].token()

    form = browser("en").get(f"/account/reset-password?token={token}")
    assert form.status_code == 200 and 'type="password"' in form.content.decode()
    weak = browser("en").post("/account/reset-password", {"token": token, "password": "1"})
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    done = browser("en").post(
        "/account/reset-password", {"token": token, "password": "a brand new passphrase"}
    )
    assert done.status_code == 200
    user.refresh_from_db()
    assert user.check_password("a brand new passphrase")


@pytest.mark.parametrize("path", ["/account/verify-email", "/account/reset-password?token=short"])
def test_a_page_without_a_valid_token_is_a_400_page(path):
    response = browser("en").get(path)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_the_documents_are_readable_in_both_languages(settings):
    french = browser("fr").get("/legal/privacy")
    english = browser("en").get("/legal/terms")
    assert french.status_code == english.status_code == 200
    assert settings.PRIVACY_VERSION in french.content.decode()
    assert "Terms of use" in english.content.decode()
    assert browser().get("/legal/other").status_code == 404
