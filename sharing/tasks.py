"""Background jobs of the sharing app (Celery beat runs them; see backend/settings/celery.py): thin,
they call services."""

from __future__ import annotations

from celery import shared_task

from sharing.services.loans import loans_expire
from sharing.services.reminders import reminders_send
from sharing.services.wanted import wanted_widen


@shared_task(name="sharing.loans_expire")
def loans_expire_task() -> int:
    """Loan requests nobody answered in time expire."""
    return loans_expire()


@shared_task(name="sharing.wanted_widen")
def wanted_widen_task() -> dict[str, int]:
    """Wanted requests nobody answered reach more neighbours; those whose period began expire."""
    return wanted_widen()


@shared_task(name="sharing.reminders_send")
def reminders_send_task() -> dict[str, int]:
    """Loans that start tomorrow, are due tomorrow or are overdue: reminders, once each."""
    return reminders_send()
