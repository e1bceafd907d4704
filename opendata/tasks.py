"""The open data's monthly job: thin, it calls the service."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from opendata.services import months_compute_due


@shared_task(
    name="opendata.months_compute",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=6,
)
def months_compute_task() -> int:
    """Every association's closed months not computed yet (Celery beat, once a month; see
    backend/settings/celery.py). Idempotent: a month computed is left as it is, so a message
    delivered twice computes nothing the second time."""
    return months_compute_due()
