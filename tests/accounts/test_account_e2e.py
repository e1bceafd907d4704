"""The whole life of an account on a real server (Daphne and a Celery worker, the test database)
with a real SMTP server: register, verify, log in, rotate, reset the password, the other session
refused, export downloaded and read, delete, the address registers again; the counterpart still
reads the loan and the conversation, with a "former member"."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point

from accounts.models import User
from neighbourhoods.models import Membership
from sharing.services import loans as loan_services
from sharing.services.conversations import message_send
from tests.accounts.test_deletion import bring_to_closed
from tests.harness import CeleryWorker, Daphne, app_env, django_database_url, wait_until
from tests.mailserver import SmtpServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "un vélo rouge au marché"
NEW_PASSWORD = "une échelle bleue au grenier"


@pytest.fixture
def stack(redis_server, street_graph):
    """Daphne and a Celery worker on the test database, mailing to a real SMTP server here."""
    smtp = SmtpServer().up()
    env = app_env(
        database_url=django_database_url(),
        redis_url=redis_server.url,
        VOISINAGE_ENV="test",
        LOG_LEVEL="WARNING",
        EMAIL_URL=smtp.url,
        JWT_REFRESH_REUSE_GRACE_SECONDS="0",
        MEDIA_ROOT=settings.MEDIA_ROOT,
        PRIVATE_ROOT=str(settings.MEDIA_ROOT) + "-private",
        **{f"THROTTLE_{s.upper()}": "" for s in settings.THROTTLE_RATES},
    )
    with Daphne(env) as server, CeleryWorker(env, pool="solo") as _worker:
        yield server, smtp
    smtp.down()


def call(server: Daphne, method: str, path: str, token: str | None = None, body=None):
    return server.request(method, path, token=token, body=body)


def link_path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def test_an_account_from_sign_up_to_deletion(stack, make_resident, make_item, period):
    server, smtp = stack
    email = "alice.durand@example.org"
    documents = {
        "terms_version": settings.TERMS_VERSION,
        "privacy_version": settings.PRIVACY_VERSION,
    }

    # Register, then verify with the mailed link.
    status, body = call(
        server, "POST", "/api/v1/auth/register",
        body={"email": email, "password": PASSWORD, "display_name": "Alice", "language": "en",
              **documents},
    )  # fmt: skip
    assert status == 202, body
    verify = smtp.wait_for(1, to=email)[0]
    assert verify.subject == "Confirm your e-mail address"
    status, body = call(server, "POST", "/api/v1/auth/email/verify", body={"token": verify.token()})
    assert status == 200, body

    # Log in on two devices; the phone's refresh rotates and its old token is refused.
    def login(password: str, name: str) -> dict:
        status, tokens = call(
            server, "POST", "/api/v1/auth/token",
            body={"email": email, "password": password, "device_name": name},
        )  # fmt: skip
        assert status == 200, tokens
        return tokens

    phone, tablet = login(PASSWORD, "phone"), login(PASSWORD, "tablet")
    status, rotated = call(
        server, "POST", "/api/v1/auth/token/refresh", body={"refresh": phone["refresh"]}
    )
    assert status == 200 and rotated["refresh"] != phone["refresh"]
    status, refused = call(
        server, "POST", "/api/v1/auth/token/refresh", body={"refresh": phone["refresh"]}
    )
    assert status == 401 and refused["code"] == "token_reused"
    status, me = call(server, "GET", "/api/v1/me", token=tablet["access"])
    assert status == 200 and me["email_verified"] is True

    # Reset the password: every session ends, the tablet's included.
    status, _ = call(server, "POST", "/api/v1/auth/password/reset", body={"email": email})
    assert status == 202
    reset = smtp.wait_for(2, to=email)[1]
    assert reset.subject == "Choose a new password"
    status, body = call(
        server, "POST", "/api/v1/auth/password/reset/confirm",
        body={"token": reset.token(), "password": NEW_PASSWORD},
    )  # fmt: skip
    assert status == 200, body
    status, body = call(server, "GET", "/api/v1/me", token=tablet["access"])
    assert status == 401 and body["code"] == "session_ended"
    status, _ = call(
        server, "POST", "/api/v1/auth/token", body={"email": email, "password": PASSWORD}
    )
    assert status == 401
    tokens = login(NEW_PASSWORD, "phone")

    # A loan with a neighbour, finished, with messages: what the neighbour must keep reading.
    alice = User.objects.get(email=email)
    neighbour = make_resident(name="Bérénice")
    User.objects.filter(pk=alice.pk).update(home=Point(24.9384, 60.1699, srid=4326))
    Membership.objects.create(
        user=alice,
        neighbourhood=Membership.objects.get(user=neighbour).neighbourhood,
        status="active",
    )
    drill = make_item(owner=neighbour, title="Perceuse")
    loan = loan_services.loan_request(
        borrower=alice, item_id=drill.pk, starts_at=period[0], ends_at=period[1]
    )
    message_send(sender=alice, conversation_id=loan.conversation.pk, body="Je passe ce soir ?")
    message_send(sender=neighbour, conversation_id=loan.conversation.pk, body="Oui, à 19 h")
    bring_to_closed(loan, neighbour, alice)

    # Export: a Celery job with visible progress, a mailed link, a zip of JSON files.
    status, export = call(server, "POST", "/api/v1/me/export", token=tokens["access"])
    assert status == 202, export
    status, _ = call(server, "POST", "/api/v1/me/export", token=tokens["access"])
    assert status in (202, 409)  # 409 export_running while the first is under way

    def ready() -> bool:
        _, state = call(server, "GET", f"/api/v1/me/exports/{export['id']}", token=tokens["access"])
        return state["status"] == "ready"

    wait_until(ready, timeout=180, what="the export")

    def ready_mails() -> list:
        return [m for m in smtp.mails(to=email) if "/download" in " ".join(m.links())]

    wait_until(lambda: bool(ready_mails()), timeout=60, what="the export's mail")
    ready_mail = ready_mails()[0]
    download = next(link for link in ready_mail.links() if "/download" in link)
    with urllib.request.urlopen(server.http + link_path(download), timeout=10) as answer:  # noqa: S310
        assert answer.headers["Content-Type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(answer.read()))
    names = set(archive.namelist())
    profile = json.loads(archive.read(next(n for n in names if n.endswith("profile.json"))))
    assert profile["email"] == email
    assert any("loans" in n for n in names) and any("messages" in n for n in names)

    # Delete: the password is asked; then the token is dead and the address is free again.
    status, body = call(
        server, "DELETE", "/api/v1/me", token=tokens["access"], body={"password": NEW_PASSWORD}
    )
    assert status == 204, body
    status, _ = call(server, "GET", "/api/v1/me", token=tokens["access"])
    assert status == 401
    status, _ = call(
        server, "DELETE", "/api/v1/me", token=tokens["access"], body={"password": NEW_PASSWORD}
    )
    assert status == 401  # deleting twice: nothing left to delete
    smtp.clear()
    status, _ = call(
        server, "POST", "/api/v1/auth/register",
        body={"email": email, "password": PASSWORD, "display_name": "Alice", **documents},
    )  # fmt: skip
    assert status == 202
    # A new account (the owner of a taken address would get "A sign-up with your address").
    assert smtp.wait_for(1, to=email)[0].subject == "Confirm your e-mail address"

    # The neighbour still reads the loan and the conversation, with a former member.
    from tests.accounts.factories import access_token_for

    neighbour_token = access_token_for(neighbour)
    status, seen = call(server, "GET", f"/api/v1/loans/{loan.pk}", token=neighbour_token)
    assert status == 200 and seen["borrower"]["name"] == "former member"
    status, messages = call(
        server, "GET", f"/api/v1/conversations/{loan.conversation.pk}/messages",
        token=neighbour_token,
    )  # fmt: skip
    rows = messages["results"] if isinstance(messages, dict) else messages
    assert sorted((m["sender"]["name"], m["body"]) for m in rows) == [
        ("Bérénice", "Oui, à 19 h"),
        ("former member", "Je passe ce soir ?"),
    ]
