"""Background jobs of the notifications app: thin, they call services.

``push_deliver`` is queued after each commit that wrote pushes; transient FCM errors retry it
with exponential backoff. ``push_sweep`` (every 30 s, Celery beat) sends what the queue could not
carry (broker down at commit time, a lost task, the end of someone's quiet hours).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from notifications.services import (
    email_digest_sweep,
    events_prune,
    positions_purge,
    push_outbox_deliver,
)

# Celery's own retries are a fast path; the outbox row is the durable one (the sweep).
MAX_TASK_RETRIES = 10


@shared_task(bind=True, name="notifications.push_deliver", max_retries=MAX_TASK_RETRIES)
def push_deliver(self: Any, event_ids: list[int]) -> dict[str, int]:
    run = push_outbox_deliver(event_ids=event_ids)
    if run.retry_ids and run.retry_at is not None:
        countdown = max((run.retry_at - timezone.now()).total_seconds(), 0.0)
        raise self.retry(args=[run.retry_ids], countdown=countdown)
    return {"sent": run.sent, "skipped": run.skipped, "deferred": run.deferred}


@shared_task(name="notifications.push_sweep")
def push_sweep() -> dict[str, int]:
    total = {"sent": 0, "skipped": 0, "deferred": 0, "retrying": 0}
    while True:
        run = push_outbox_deliver()
        total["sent"] += run.sent
        total["skipped"] += run.skipped
        total["deferred"] += run.deferred
        total["retrying"] += len(run.retry_ids)
        if (
            run.sent + run.skipped + run.deferred + run.failed + run.expired + len(run.retry_ids)
            == 0
        ):
            return total


@shared_task(name="notifications.events_prune")
def events_prune_task() -> int:
    return events_prune()


@shared_task(name="notifications.positions_purge")
def positions_purge_task() -> int:
    return positions_purge()


@shared_task(name="notifications.email_digest_sweep")
def email_digest_sweep_task() -> dict[str, int]:
    return email_digest_sweep()
