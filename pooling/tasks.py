"""Background jobs of the pooling app: thin, they call services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from backend.errors import DomainError
from pooling.services.batching import batch_plan, cutoff_sweep


@shared_task(name="pooling.batch_plan")
def batch_plan_task(batch_id: int) -> dict[str, Any]:
    """Plans a batch; its progress (percent and stage) is on the batch row, read by the API."""
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
