"""Planning a neighbourhood's deliveries for a day: a batch's planning run.

A batch is asked for by the association's staff, or created by the cut-off sweep (Celery beat):
``pooling.services.batches``. Planning runs as a Celery task in four steps, each visible on the
batch row (percent + stage):

1. claim (one transaction): the batch takes the neighbourhood's waiting orders. An order is in
   at most one active batch: the assignment table's partial unique index refuses a second one,
   and claims are ``INSERT ... ON CONFLICT DO NOTHING``, so two batches racing for an order
   cannot both get it.
2. compute (no transaction; seconds of work): drops within each resident's choice and walking
   limit, stops, travel matrices from the walking engine, rounds by PyVRP, and the impact
   (``inputs``, then ``compute``).
3. legs: the path of every leg as a LineString, from the walking engine (``compute``).
4. save (one transaction): only if the batch is still at the version the plan started from and
   no round has started; routes, stops and assignments replace the previous plan, and people
   are told (order.planned, relay.parcels_to_receive, route.updated on a re-plan) (``save``).

Planning is several transactions on purpose: holding a transaction and row locks through seconds
of solving would block couriers and residents. The version check makes the last one safe: a plan
computed from stale inputs is dropped, and the newer run lands instead.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from backend.errors import DomainError
from pooling.models import Assignment, Batch, Order
from pooling.planning.compute import Progress, batch_compute, legs_compute
from pooling.planning.inputs import batch_inputs_load
from pooling.planning.save import batch_plan_save


def batch_progress(batch_id: int, percent: int, stage: str) -> None:
    """Progress, written outside any transaction so that the API shows it at once."""
    Batch.objects.filter(pk=batch_id).update(
        progress_percent=percent, progress_stage=stage, progress_at=timezone.now()
    )


def batch_plan(
    *,
    batch_id: int,
    seconds: float | None = None,
    max_iterations: int | None = None,
    progress: Progress | None = None,
) -> Batch | None:
    """Plans (or re-plans) a batch: see the module's docstring. Returns the batch, or None when
    it is no longer plannable (dispatched, completed, cancelled)."""

    def say(percent: int, stage: str) -> None:
        batch_progress(batch_id, percent, stage)
        if progress is not None:
            progress(percent, stage)

    version = batch_claim(batch_id=batch_id)
    if version is None:
        return None
    try:
        say(10, "collecting")
        inputs = batch_inputs_load(batch_id=batch_id, version=version)
        computation = batch_compute(
            inputs,
            seconds=settings.POOLING_SOLVER_SECONDS if seconds is None else seconds,
            max_iterations=max_iterations
            if max_iterations is not None
            else settings.POOLING_SOLVER_MAX_ITERATIONS,
            progress=say,
        )
        say(90, "paths")
        computation.legs = legs_compute(computation)
        say(95, "saving")
        return batch_plan_save(computation)
    except DomainError as error:
        batch_fail(batch_id=batch_id, version=version, code=error.code)
        raise
    except Exception:
        batch_fail(batch_id=batch_id, version=version, code="internal_error")
        raise


def batch_claim(*, batch_id: int) -> int | None:
    """Starts a planning run: the batch's new version, with the waiting orders claimed."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status not in Batch.OPEN:
            return None
        batch.version += 1
        batch.status = Batch.Status.PLANNING
        batch.replan_requested = False
        batch.progress_percent = 5
        batch.progress_stage = "claiming"
        batch.progress_at = timezone.now()
        batch.error_code = ""
        batch.save(
            update_fields=[
                "version",
                "status",
                "replan_requested",
                "progress_percent",
                "progress_stage",
                "progress_at",
                "error_code",
            ]
        )
        _waiting_orders_claim(batch)
        return batch.version


def _waiting_orders_claim(batch: Batch) -> None:
    """The neighbourhood's orders waiting for a batch, expected on or before its day, join it
    (an order another batch holds stays there: the partial unique index refuses a second one)."""
    waiting = (
        Order.objects.filter(
            neighbourhood_id=batch.neighbourhood_id,
            status=Order.Status.PENDING,
            expected_on__lte=batch.day,
        )
        .exclude(Exists(Assignment.objects.filter(order=OuterRef("pk"), released_at__isnull=True)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Assignment.objects.bulk_create(
        [Assignment(batch=batch, order_id=pk) for pk in waiting], ignore_conflicts=True
    )


def batch_fail(*, batch_id: int, version: int, code: str) -> None:
    """A planning run that broke: the batch is failed and its orders go back to the pool (unless
    a newer run took over)."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.version != version or batch.status != Batch.Status.PLANNING:
            return
        now = timezone.now()
        held = Assignment.objects.filter(batch=batch, released_at__isnull=True)
        Order.objects.filter(pk__in=held.values("order_id"), status=Order.Status.PLANNED).update(
            status=Order.Status.PENDING
        )
        held.update(
            released_at=now, outcome=Assignment.Outcome.RELEASED, release_reason="batch_failed"
        )
        batch.routes.all().delete()
        batch.status = Batch.Status.FAILED
        batch.error_code = code[:64]
        batch.progress_stage = "failed"
        batch.save(update_fields=["status", "error_code", "progress_stage"])
