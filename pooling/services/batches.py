"""Asking for a batch: staff ask for a day's plan, a new or changed order asks for a re-plan of the
open batch that takes it, and the cut-off sweep (Celery beat) opens each hub's batch of the day
and queues again the batches whose planning was lost.

Planning itself runs as a Celery task (``pooling.tasks.batch_plan_task``): ``pooling.planning``.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from neighbourhoods.errors import NotStaffError
from neighbourhoods.models import Neighbourhood
from neighbourhoods.selectors import staff_require
from pooling.errors import NoHubError
from pooling.models import Batch, Hub, Order
from pooling.planning import clock

logger = logging.getLogger(__name__)


# --- asking for a batch ----------------------------------------------------------------------------


def batch_request(*, actor: User, neighbourhood_id: int, day: date) -> tuple[Batch, bool]:
    """Staff of the neighbourhood's association ask for the day's plan. Returns the batch and
    whether it was created; an open batch of that day is re-planned instead of duplicated."""
    staff_require(actor, neighbourhood_id)
    neighbourhood = Neighbourhood.objects.filter(pk=neighbourhood_id).first()
    if neighbourhood is None:
        # 403 rather than 404, as for neighbourhoods that exist but are not the actor's.
        raise NotStaffError()
    return _batch_open(neighbourhood=neighbourhood, day=day, requested_by=actor)


def _batch_open(
    *, neighbourhood: Neighbourhood, day: date, requested_by: User | None
) -> tuple[Batch, bool]:
    hub = Hub.objects.filter(neighbourhood=neighbourhood, is_active=True).first()
    if hub is None:
        raise NoHubError()
    with transaction.atomic():
        existing = (
            Batch.objects.select_for_update()
            .filter(neighbourhood=neighbourhood, day=day, status__in=Batch.OPEN)
            .first()
        )
        if existing is not None:
            existing.replan_requested = True
            existing.save(update_fields=["replan_requested"])
            transaction.on_commit(partial(batch_plan_enqueue, existing.pk))
            return existing, False
        try:
            with transaction.atomic():
                batch = Batch.objects.create(
                    neighbourhood=neighbourhood, hub=hub, day=day, requested_by=requested_by
                )
        except IntegrityError:
            # Another request opened it a moment ago (the partial unique index said so).
            batch = Batch.objects.get(neighbourhood=neighbourhood, day=day, status__in=Batch.OPEN)
            return batch, False
        transaction.on_commit(partial(batch_plan_enqueue, batch.pk))
        return batch, True


def batch_plan_enqueue(batch_id: int) -> None:
    """Queues the planning task; if the broker is down, the cut-off sweep picks the batch up."""
    from kombu.exceptions import OperationalError as BrokerError

    from pooling.tasks import batch_plan_task

    try:
        batch_plan_task.delay(batch_id)
    except (BrokerError, OSError) as error:
        logger.warning("batch #%s waits for the sweep: broker unreachable (%s)", batch_id, error)


def batch_replan_request(*, batch_id: int) -> bool:
    """Asks for a new plan of a batch whose rounds have not started (orders added, cancelled or
    changed). Returns whether a re-plan was queued."""
    with transaction.atomic():
        updated = Batch.objects.filter(pk=batch_id, status__in=Batch.OPEN).update(
            replan_requested=True
        )
        if updated:
            transaction.on_commit(partial(batch_plan_enqueue, batch_id))
    return bool(updated)


def batches_touch_for_order(*, order: Order) -> None:
    """A new or changed order: the open batch that would take it is planned again."""
    if order.neighbourhood_id is None:
        return
    batch = (
        Batch.objects.filter(
            neighbourhood_id=order.neighbourhood_id,
            status__in=Batch.OPEN,
            day__gte=order.expected_on,
        )
        .order_by("day")
        .first()
    )
    if batch is not None:
        batch_replan_request(batch_id=batch.pk)


def cutoff_sweep(*, now: datetime | None = None) -> list[int]:
    """The Celery beat job: every hub whose cut-off has passed today gets its day's batch; batches
    whose planning was never queued (broker down), that wait for a re-plan, or whose planning run
    went silent for ``POOLING_PLANNING_STALE_SECONDS`` (lost with its worker) are queued again.
    Returns the batches queued."""
    now = timezone.localtime(now or timezone.now(), clock.local_zone())
    today = now.date()
    queued: list[int] = []
    for hub in Hub.objects.filter(is_active=True).select_related("neighbourhood"):
        if now.time() < hub.cutoff_time:
            continue
        done = Batch.objects.filter(neighbourhood_id=hub.neighbourhood_id, day=today).exclude(
            status__in=[Batch.Status.FAILED, Batch.Status.CANCELLED]
        )
        if done.exists():
            continue
        batch, created = _batch_open(neighbourhood=hub.neighbourhood, day=today, requested_by=None)
        if created:
            queued.append(batch.pk)
    silent = now - timedelta(seconds=settings.POOLING_PLANNING_STALE_SECONDS)
    stale = Batch.objects.filter(
        Q(status=Batch.Status.PENDING, created_at__lt=now - timedelta(minutes=2))
        | Q(status=Batch.Status.PLANNED, replan_requested=True)
        # A run that stopped reporting: its worker died and the broker lost its message.
        | Q(status=Batch.Status.PLANNING, progress_at__lt=silent)
    ).values_list("pk", flat=True)
    for batch_id in stale:
        if batch_id not in queued:
            batch_plan_enqueue(batch_id)
            queued.append(batch_id)
    return queued
