"""Background jobs of assistance: thin, they call services."""

from __future__ import annotations

from celery import shared_task

from assistance.services import assisted_actions_purge


@shared_task(name="assistance.audit_purge")
def audit_purge() -> int:
    """Celery beat: the on-behalf history past ASSISTANCE_AUDIT_DAYS."""
    return assisted_actions_purge()
