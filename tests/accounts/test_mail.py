"""Mail through a real SMTP server: rendering in the person's language, the outbox, retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.mail import mail_deliver, mail_sweep, mail_to_user
from accounts.models import MailOutbox
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_mail_leaves_after_the_commit_in_the_persons_language(smtp_server, eager_tasks):
    french = UserFactory(language="fr", display_name="Awa")
    english = UserFactory(language="en", display_name="Bob")
    with transaction.atomic():
        for person in (french, english):
            mail_to_user(
                person, "password_reset", {"url": "http://x/reset?token=abc", "minutes": 60}
            )
        assert smtp_server.mails() == []  # nothing before the commit
    fr, en = (
        smtp_server.wait_for(1, to=french.email)[0],
        smtp_server.wait_for(1, to=english.email)[0],
    )
    assert fr.subject == "Choisir un nouveau mot de passe"
    assert "Bonjour Awa" in fr.text and "valable 60 minutes" in fr.text
    assert '<html lang="fr">' in fr.html and "token=abc" in fr.html
    assert en.subject == "Choose a new password" and "Hello Bob" in en.text
    assert en.token() == "abc"
    assert not MailOutbox.objects.exists()  # a sent mail is not kept


def test_a_rolled_back_transaction_sends_nothing(smtp_server, eager_tasks):
    person = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        mail_to_user(person, "password_reset", {"url": "http://x", "minutes": 60})
        raise RuntimeError
    assert not MailOutbox.objects.exists() and smtp_server.mails() == []


def test_a_mail_server_down_delays_the_mail_and_loses_nothing(smtp_server, settings):
    settings.EMAIL_RETRY_SECONDS = 30
    person = UserFactory()
    smtp_server.down()
    mail = mail_to_user(person, "password_reset", {"url": "http://x", "minutes": 60})
    assert mail_deliver(mail_id=mail.pk) is False
    mail.refresh_from_db()
    assert mail.attempts == 1 and mail.last_error
    assert mail.due_at > timezone.now() + timedelta(seconds=20)
    assert mail_sweep() == {"sent": 0, "failed": 0}  # not due yet
    smtp_server.up()
    assert mail_sweep(now=timezone.now() + timedelta(minutes=1)) == {"sent": 1, "failed": 0}
    assert len(smtp_server.wait_for(1, to=person.email)) == 1
    assert not MailOutbox.objects.exists()
