"""Mail to people: rendered from templates in their language, sent through an outbox.

``mail_queue`` renders a mail (``accounts/templates/mail/<name>.<language>.{subject.txt,txt,html}``,
plain text and HTML) and writes it to ``MailOutbox`` in the caller's transaction; after the commit
Celery hands it to the mail server (``EMAIL_URL``). A server that is down or refuses for a while
delays the mail, with retries that wait longer each time; the sweep (Celery beat) sends whatever
is due, so a broker outage at commit time loses nothing either. A sent mail's row is deleted:
links and codes in mails are not kept once the server has them.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import MailOutbox, User

logger = logging.getLogger(__name__)

LANGUAGES = ("fr", "en")
# A mail the server has refused for this long is dropped (and logged): it is no longer news.
GIVE_UP_AFTER = timedelta(days=3)
SWEEP_BATCH = 100


def _language(language: str | None) -> str:
    return language if language in LANGUAGES else "fr"


def mail_render(template: str, context: Mapping[str, Any], language: str) -> tuple[str, str, str]:
    """The subject, text and HTML of mail ``template`` in ``language``."""
    language = _language(language)
    base = f"mail/{template}.{language}"
    full = {
        "public_base_url": settings.PUBLIC_BASE_URL,
        "language": language,
        **context,
    }
    with translation.override(language):
        subject = " ".join(render_to_string(f"{base}.subject.txt", full).split())
        text = render_to_string(f"{base}.txt", full).strip() + "\n"
        html = render_to_string(f"{base}.html", full)
    return subject, text, html


def mail_queue(
    *,
    to: str,
    template: str,
    context: Mapping[str, Any] | None = None,
    language: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> MailOutbox:
    """Writes a mail to the outbox; it leaves after the commit of the caller's transaction (and
    not at all if it rolls back)."""
    subject, text, html = mail_render(template, context or {}, _language(language))
    with transaction.atomic(savepoint=False):
        mail = MailOutbox.objects.create(
            to=to, subject=subject[:200], text=text, html=html, headers=dict(headers or {})
        )
        transaction.on_commit(partial(_enqueue, mail.pk), robust=True)
    return mail


def mail_to_user(
    user: User,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    to: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> MailOutbox | None:
    """A mail to a person, in their language, at their address (or ``to``). ``None``: the person
    has no address (an assisted member, who reads no mail) and nothing is sent."""
    address = to or user.email
    if not address:
        return None
    name = user.display_name or address.split("@")[0]
    full = {"user": user, "name": name, **(context or {})}
    return mail_queue(
        to=address,
        template=template,
        context=full,
        language=user.language,
        headers=headers,
    )


def _enqueue(mail_id: int) -> None:
    from accounts.tasks import mail_deliver  # the task module imports this one

    mail_deliver.delay(mail_id)


def mail_backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 30 s, 1 min, 2 min... up to an hour."""
    seconds = settings.EMAIL_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, 3600))


def mail_deliver(*, mail_id: int, now: datetime | None = None) -> bool | None:
    """Hands one mail to the server. True: sent (and deleted). False: the server failed, the mail
    waits (``due_at``). None: nothing to do (already sent, or another worker has it)."""
    now = now or timezone.now()
    with transaction.atomic():
        mail = MailOutbox.objects.select_for_update(skip_locked=True).filter(pk=mail_id).first()
        if mail is None:
            return None
        message = EmailMultiAlternatives(
            subject=mail.subject,
            body=mail.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[mail.to],
            headers=mail.headers or None,
            connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
        )
        if mail.html:
            message.attach_alternative(mail.html, "text/html")
        try:
            message.send()
        except (smtplib.SMTPException, OSError) as error:
            mail.attempts += 1
            mail.last_error = f"{type(error).__name__}: {error}"[:200]
            if now - mail.created_at > GIVE_UP_AFTER:
                logger.error(
                    "mail %s dropped after %s attempts: %s", mail.pk, mail.attempts, mail.last_error
                )
                mail.delete()
                return False
            mail.due_at = now + mail_backoff(mail.attempts)
            mail.save(update_fields=["attempts", "last_error", "due_at"])
            logger.warning(
                "mail %s not sent (%s), retry at %s",
                mail.pk,
                mail.last_error,
                mail.due_at.isoformat(),
            )
            return False
        mail.delete()
        return True


def mail_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Sends every mail that is due (those the queue could not carry, and the retries)."""
    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0}
    ids = list(
        MailOutbox.objects.filter(due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for mail_id in ids:
        result = mail_deliver(mail_id=mail_id, now=now)
        if result is True:
            counts["sent"] += 1
        elif result is False:
            counts["failed"] += 1
    return counts
