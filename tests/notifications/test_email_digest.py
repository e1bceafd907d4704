"""Mail digests for people without the app, through a real SMTP server: important events only,
one digest at most per NOTIFICATIONS_EMAIL_DIGEST_MINUTES, and an unsubscribe link that works
without signing in (a GET asks, a POST or a mail client's one-click unsubscribes)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from accounts.mail import mail_sweep
from accounts.models import User
from notifications.catalogue import CATALOGUE
from notifications.models import EmailOutbox
from notifications.services import email_digest_sweep, notify, unsubscribe_token
from tests.accounts.factories import UserFactory
from tests.notifications.factories import DeviceFactory

pytestmark = pytest.mark.django_db

REQUESTED = CATALOGUE["loan.requested"].example  # Camille would like to borrow “Perceuse Bosch”
ACCEPTED = CATALOGUE["loan.accepted"].example  # Léa agreed to lend you “Perceuse Bosch”
DELIVERED = CATALOGUE["order.delivered"].example
URL = "/email/unsubscribe"


@pytest.fixture(autouse=True)
def _digest_settings(settings):
    settings.NOTIFICATIONS_EMAIL_DIGEST_MINUTES = 60
    settings.PUBLIC_BASE_URL = "https://voisinage.example"


def send_digests(smtp_server, *, now=None) -> dict[str, int]:
    """The sweep, then the mail outbox handed to the SMTP server."""
    counts = email_digest_sweep(now=now)
    mail_sweep(now=timezone.now() + timedelta(days=1))
    return counts


def link_token(mail) -> str:
    link = next(link for link in mail.links() if "/email/unsubscribe" in link)
    assert link.startswith("https://voisinage.example/email/unsubscribe?token=")
    return parse_qs(urlsplit(link).query)["token"][0]


def test_two_important_events_make_one_digest_with_both(smtp_server):
    person = UserFactory(language="en", display_name="Awa")
    notify(event_type="loan.requested", recipients=[person], data=REQUESTED)
    notify(event_type="loan.accepted", recipients=[person], data=ACCEPTED)
    notify(event_type="loan.declined", recipients=[person], data=CATALOGUE["loan.declined"].example)

    assert send_digests(smtp_server) == {"sent": 1, "dropped": 0}

    [mail] = smtp_server.wait_for(1, to=person.email)
    assert mail.subject == "2 updates from your neighbourhood"
    assert "Hello Awa" in mail.text
    assert "- New loan request: Camille would like to borrow “Perceuse Bosch”." in mail.text
    assert "- Loan accepted: Léa agreed to lend you “Perceuse Bosch”." in mail.text
    assert "Loan declined" not in mail.text  # not an important type
    assert "Camille would like to borrow" in mail.html and '<html lang="en">' in mail.html
    url = f"https://voisinage.example{URL}?token="
    assert str(mail.message["List-Unsubscribe"]).strip().startswith(f"<{url}")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert int(link_token(mail).split(":")[0]) == person.pk
    assert not EmailOutbox.objects.filter(sent_at__isnull=True).exists()
    person.refresh_from_db()
    assert person.email_digest_sent_at is not None

    assert send_digests(smtp_server) == {"sent": 0, "dropped": 0}
    assert len(smtp_server.mails()) == 1


def test_the_digest_is_in_the_persons_language(smtp_server):
    person = UserFactory(language="fr", display_name="Awa")
    notify(event_type="order.delivered", recipients=[person], data=DELIVERED)
    send_digests(smtp_server)
    [mail] = smtp_server.wait_for(1, to=person.email)
    assert mail.subject == "Du nouveau dans votre quartier"
    assert "Bonjour Awa" in mail.text and "Librairie du Marais" in mail.text


def test_at_most_one_digest_an_hour(smtp_server):
    person = UserFactory()
    start = timezone.now()
    notify(event_type="loan.requested", recipients=[person], data=REQUESTED)
    assert send_digests(smtp_server, now=start)["sent"] == 1
    notify(event_type="loan.accepted", recipients=[person], data=ACCEPTED)

    assert send_digests(smtp_server, now=start + timedelta(minutes=59))["sent"] == 0
    assert len(smtp_server.mails()) == 1
    assert EmailOutbox.objects.filter(sent_at__isnull=True).count() == 1

    assert send_digests(smtp_server, now=start + timedelta(minutes=61))["sent"] == 1
    _first, second = smtp_server.wait_for(2, to=person.email)
    assert "agreed to lend you" in second.text and "would like to borrow" not in second.text
    assert second.subject == "News from your neighbourhood"


def test_a_parcel_delivered_at_home_is_not_mailed_one_at_a_relay_is(smtp_server):
    person = UserFactory()
    notify(event_type="order.delivered", recipients=[person], data={**DELIVERED, "place": "home"})
    assert not EmailOutbox.objects.exists()
    notify(event_type="order.delivered", recipients=[person], data={**DELIVERED, "place": "host"})
    assert EmailOutbox.objects.count() == 1


def test_no_mail_for_someone_with_a_device_an_unverified_address_or_mail_off(smtp_server):
    with_device = DeviceFactory().user
    unverified = UserFactory(email_verified_at=None)
    mail_off = UserFactory(notification_preferences={"email": False})
    type_off = UserFactory(notification_preferences={"types": {"loan_requested": False}})
    deleted = UserFactory(deleted_at=timezone.now())
    everyone = [with_device, unverified, mail_off, type_off, deleted]
    notify(event_type="loan.requested", recipients=everyone, data=REQUESTED)

    assert not EmailOutbox.objects.exists()
    assert send_digests(smtp_server) == {"sent": 0, "dropped": 0}
    assert smtp_server.mails() == []


def test_a_device_registered_before_the_digest_drops_it(smtp_server):
    person = UserFactory()
    notify(event_type="loan.requested", recipients=[person], data=REQUESTED)
    DeviceFactory(user=person)  # the app is installed: its log shows the event
    assert send_digests(smtp_server) == {"sent": 0, "dropped": 1}
    assert smtp_server.mails() == []
    assert not EmailOutbox.objects.filter(sent_at__isnull=True).exists()


def test_unsubscribe_from_the_link_without_signing_in(smtp_server, client_for):
    person = UserFactory(language="fr")
    notify(event_type="loan.requested", recipients=[person], data=REQUESTED)
    send_digests(smtp_server)
    token = link_token(smtp_server.wait_for(1, to=person.email)[0])
    browser = Client(HTTP_ACCEPT="text/html")

    shown = browser.get(URL, {"token": token})
    assert shown.status_code == 200 and shown["Content-Type"].startswith("text/html")
    page = shown.content.decode()
    assert "Ne plus recevoir ces courriels" in page and '<form method="post"' in page
    person.refresh_from_db()
    assert person.notification_preferences == {}  # a GET (a mail scanner) changes nothing

    done = browser.post(f"{URL}?token={token}")
    assert done.status_code == 200 and "C'est fait" in done.content.decode()
    person.refresh_from_db()
    assert person.notification_preferences == {"email": False}

    notify(event_type="loan.accepted", recipients=[person], data=ACCEPTED)
    assert not EmailOutbox.objects.filter(sent_at__isnull=True).exists()
    assert send_digests(smtp_server, now=timezone.now() + timedelta(hours=2))["sent"] == 0
    assert len(smtp_server.mails()) == 1

    # The app turns it back on.
    response = client_for(person).patch(
        "/api/v1/me", {"notification_preferences": {"email": True}}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["notification_preferences"]["email"] is True
    notify(event_type="loan.accepted", recipients=[person], data=ACCEPTED)
    assert send_digests(smtp_server, now=timezone.now() + timedelta(hours=2))["sent"] == 1


def test_one_click_unsubscribe_from_the_mail_client():
    person = UserFactory()
    notify(event_type="loan.requested", recipients=[person], data=REQUESTED)
    response = Client().post(
        f"{URL}?token={unsubscribe_token(person.pk)}",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    person.refresh_from_db()
    assert person.notification_preferences == {"email": False}
    assert not EmailOutbox.objects.filter(sent_at__isnull=True).exists()  # nothing more is sent


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "{pk}",
        "{pk}:forged-signature",
        "{other}:{signature}",  # someone else's id with this person's signature
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_token_is_refused_and_changes_nothing(method, token):
    person, other = UserFactory(), UserFactory()
    signature = unsubscribe_token(person.pk).split(":", 1)[1]
    value = token.format(pk=person.pk, other=other.pk, signature=signature)
    before = list(User.objects.order_by("pk").values_list("notification_preferences", flat=True))

    page = getattr(Client(HTTP_ACCEPT="text/html"), method)(f"{URL}?token={value}")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
    assert "lien n'est pas valable" in page.content.decode()
    answer = getattr(Client(HTTP_ACCEPT_LANGUAGE="en"), method)(f"{URL}?token={value}")
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "invalid_token",
        "detail": "This unsubscribe link is not valid.",
        "fields": {"token": ["This unsubscribe link is not valid."]},
    }
    after = list(User.objects.order_by("pk").values_list("notification_preferences", flat=True))
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_send_one_digest(smtp_server):
    """Two sweeps, each on its own database connection, start at the same moment: the person's
    row lock lets one write the digest; the other skips them. One mail leaves."""
    people = [UserFactory() for _ in range(3)]
    for person in people:
        notify(event_type="loan.requested", recipients=[person], data=REQUESTED)
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(email_digest_sweep())
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(result["sent"] for result in results) == 3
    for person in people:
        assert len(smtp_server.wait_for(1, to=person.email)) == 1
    time.sleep(0.5)
    assert len(smtp_server.mails()) == 3
    assert not EmailOutbox.objects.filter(sent_at__isnull=True).exists()
