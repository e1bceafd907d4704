"""Background jobs of accounts: thin, they call services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from accounts import mail
from accounts.services import export
from accounts.services.retention import (
    account_tokens_purge,
    auth_sessions_purge,
    unverified_accounts_purge,
)


@shared_task(bind=True, name="accounts.mail_deliver", max_retries=None)
def mail_deliver(self: Any, mail_id: int) -> bool | None:
    """Sends one mail; while the server fails, retries with the outbox's backoff (the sweep is
    the durable path: a retry lost with the broker is picked up there)."""
    sent = mail.mail_deliver(mail_id=mail_id)
    if sent is False and self.request.retries < settings.EMAIL_MAX_RETRIES:
        raise self.retry(countdown=mail.mail_backoff(self.request.retries + 1).total_seconds())
    return sent


@shared_task(name="accounts.mail_sweep")
def mail_sweep() -> dict[str, int]:
    return mail.mail_sweep()


@shared_task(name="accounts.password_reset_send")
def password_reset_send(email: str) -> bool:
    """A reset link to ``email`` if it has an account (asked in the background: the request
    answers the same either way)."""
    from accounts.services.credentials import password_reset_send_now

    return password_reset_send_now(email=email)


@shared_task(name="accounts.retention_purge")
def retention_purge() -> dict[str, int]:
    """Celery beat: unverified accounts, used mail tokens and ended sessions past their time."""
    return {
        "unverified_accounts": unverified_accounts_purge(),
        "tokens": account_tokens_purge(),
        "sessions": auth_sessions_purge(),
    }


@shared_task(name="accounts.export_build")
def export_build(export_id: str) -> str | None:
    """Builds one data export's zip and mails its link."""
    data_export = export.export_build(export_id=export_id)
    return None if data_export is None else data_export.status


@shared_task(name="accounts.exports_purge")
def exports_purge() -> int:
    return export.exports_purge()


@shared_task(name="accounts.idempotency_purge")
def idempotency_purge() -> int:
    from accounts.idempotency import idempotency_purge as purge

    return purge()
