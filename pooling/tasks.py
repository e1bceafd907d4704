"""Background jobs of the pooling app: thin, they call services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from backend.errors import DomainError
from pooling.models import Batch
from pooling.planning.pipeline import batch_plan
from pooling.services.batches import cutoff_sweep
from pooling.services.retention import (
    courier_positions_purge,
    delivery_addresses_erase,
    proof_photos_purge,
)


@shared_task(
    name="pooling.batch_plan",
    # Late acks (settings): a worker killed mid-plan leaves the message unacknowledged and another
    # worker runs it again. Lost database connections are retried with backoff.
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=8,
)
def batch_plan_task(batch_id: int) -> dict[str, Any]:
    """Plans a batch; its progress (percent and stage) is on the batch row, read by the API.

    Idempotent: a message delivered twice (its worker died after planning, before the ack) finds
    the batch planned with no re-plan asked, and stops there. A run killed half-way left the batch
    in ``planning``: the next run claims a new version, and the version check of the last step
    keeps a stale run from landing (orders stay in one batch: pooling_order_in_one_active_batch).
    """
    state = Batch.objects.filter(pk=batch_id).values("status", "replan_requested").first()
    if (
        state is not None
        and state["status"] == Batch.Status.PLANNED
        and not state["replan_requested"]
    ):
        return {"ok": True, "batch_id": batch_id, "skipped": True, "status": state["status"]}
    try:
        batch = batch_plan(batch_id=batch_id)
    except DomainError as error:  # the batch is marked failed with this code
        return {"ok": False, "batch_id": batch_id, "code": error.code}
    if batch is None:
        return {"ok": True, "batch_id": batch_id, "skipped": True}
    return {"ok": True, "batch_id": batch_id, "status": batch.status, "version": batch.version}


@shared_task(name="pooling.cutoff_sweep")
def cutoff_sweep_task() -> list[int]:
    """Celery beat: plans each neighbourhood once its hub's cut-off time has passed."""
    return cutoff_sweep()


@shared_task(name="pooling.retention_purge")
def retention_purge_task() -> dict[str, int]:
    """Celery beat: couriers' positions, proof photos and past rounds' homes past their time."""
    return {
        "positions": courier_positions_purge(),
        "proof_photos": proof_photos_purge(),
        "rounds_erased": delivery_addresses_erase(),
    }
