"""Couriers on their rounds: start a round, mark a stop delivered (with a proof: the recipient's
code, a photo or a signature, and notes) or failed (its parcels go back to the pool). Every
action is checked against the acting courier.

Actions sent late from an offline queue carry the courier's own time (``client_at``) and are
applied by it, whatever order they arrive in: a stop action older than the stop's last applied
one is stale (answered, nothing changes); a newer one on a done stop corrects it (the latest
action by the courier's clock wins); a stop action on a round not started yet starts it at that
time, and the round's start is the earliest of its actions' times. ``started_at``,
``done_at`` and ``completed_at`` are the courier's times. Positions are in
``pooling.services.positions`` (re-exported here), duty in ``pooling.services.duty``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.models import User
from backend.errors import NotFoundError
from notifications.services.events import notify
from pooling.errors import (
    BadProofCodeError,
    NotYourRouteError,
    ProofRequiredError,
    RouteChangedError,
    RouteStateError,
    StopCorrectionError,
    StopStateError,
)
from pooling.models import Assignment, Batch, Courier, DropKind, Order, Route, Stop
from pooling.services.duty import client_time, day_start, duty_record
from pooling.services.orders import code_new
from pooling.services.positions import (
    PositionResult,
    courier_position_update,
    eta_tell,
    may_send_position,
    position_from_socket,
)
from pooling.services.proofs import (
    ProofFile,
    proof_photo_check,
    proof_photo_clean,
    proof_signature_clean,
)

__all__ = [
    "PositionResult",
    "RouteOutcome",
    "StopOutcome",
    "courier_position_update",
    "may_send_position",
    "position_from_socket",
    "proof_photo_check",
    "route_etag",
    "route_start",
    "route_start_record",
    "stop_delivered",
    "stop_delivered_record",
    "stop_failed",
    "stop_failed_record",
]


@dataclass(frozen=True)
class RouteOutcome:
    route: Route
    applied: bool


@dataclass(frozen=True)
class StopOutcome:
    stop: Stop
    # False: stale (older, by the courier's clock, than the stop's last applied action).
    applied: bool


def route_etag(route: Route) -> str:
    """The strong ETag of a round as its courier reads it: every change bumps ``version``."""
    return f'"route-{route.pk}-v{route.version}"'


def _if_match(route: Route, if_match: str | None) -> None:
    if if_match is None:
        return
    tags = {tag.strip() for tag in if_match.split(",")}
    if "*" not in tags and route_etag(route) not in tags:
        raise RouteChangedError()


def _locked(actor: User, route_id: int) -> tuple[Batch, Route]:
    """The batch and the round, locked in that order (as the planner does), if ``actor`` is the
    round's courier (403 otherwise, 404 if there is none)."""
    batch_id = Route.objects.filter(pk=route_id).values_list("batch_id", flat=True).first()
    if batch_id is None:
        raise NotFoundError()
    batch = Batch.objects.select_for_update().get(pk=batch_id)
    route = Route.objects.select_for_update().filter(pk=route_id).first()
    if route is None:
        raise NotFoundError()
    if not Courier.objects.filter(pk=route.courier_id, user=actor).exists():
        raise NotYourRouteError()
    return batch, route


def _bump(route: Route, *fields: str) -> None:
    route.version += 1
    route.save(update_fields=["version", *fields])


def _start(batch: Batch, route: Route, at: datetime) -> None:
    """The courier leaves the hub at ``at``: the batch is dispatched (no more re-plans), the
    round's orders are out for delivery and their residents get an ETA; the courier is on duty."""
    if batch.status not in (Batch.Status.PLANNED, Batch.Status.DISPATCHED, Batch.Status.PLANNING):
        raise RouteStateError()
    now = timezone.now()
    if batch.status != Batch.Status.DISPATCHED:
        batch.status = Batch.Status.DISPATCHED
        batch.dispatched_at = at
        batch.progress_stage = "dispatched"
        batch.save(update_fields=["status", "dispatched_at", "progress_stage"])
        # Orders claimed by a re-plan that will now never land go back to the pool.
        stray = Assignment.objects.filter(batch=batch, released_at__isnull=True, stop__isnull=True)
        Order.objects.filter(pk__in=stray.values("order_id"), status=Order.Status.PLANNED).update(
            status=Order.Status.PENDING
        )
        stray.update(
            released_at=now, outcome=Assignment.Outcome.RELEASED, release_reason="dispatched"
        )
    elif batch.dispatched_at is None or at < batch.dispatched_at:
        batch.dispatched_at = at
        batch.save(update_fields=["dispatched_at"])
    route.status = Route.Status.STARTED
    route.started_at = at
    courier = Courier.objects.select_for_update().get(pk=route.courier_id)
    duty_record(courier=courier, on_duty=True, at=at)
    # A position measured since the start, received before it (offline): the round's first.
    if courier.last_position_at is not None and courier.last_position_at >= at:
        route.last_position = courier.last_position
        route.last_position_at = courier.last_position_at
    _bump(route, "status", "started_at", "last_position", "last_position_at")
    held = list(
        Assignment.objects.filter(
            stop__route=route, stop__status=Stop.Status.PENDING, released_at__isnull=True
        )
        .select_related("order", "stop")
        .order_by("order_id")
    )
    Order.objects.filter(pk__in=[a.order_id for a in held]).update(
        status=Order.Status.OUT_FOR_DELIVERY, updated_at=now
    )
    for a in held:
        eta_tell(a, a.stop.eta, route, now)  # type: ignore[union-attr]


def _start_earlier(batch: Batch, route: Route, at: datetime) -> bool:
    """A round started (or done) by actions received first, with an action from an earlier
    time: the round started then. True if it moved."""
    if route.started_at is not None and at >= route.started_at:
        return False
    route.started_at = at
    _bump(route, "started_at")
    if batch.dispatched_at is None or at < batch.dispatched_at:
        batch.dispatched_at = at
        batch.save(update_fields=["dispatched_at"])
    courier = Courier.objects.select_for_update().get(pk=route.courier_id)
    duty_record(courier=courier, on_duty=True, at=at)
    return True


def route_start_record(
    *, actor: User, route_id: int, client_at: datetime | None = None, if_match: str | None = None
) -> RouteOutcome:
    """Starts a round. Without ``client_at`` (a live app) a round already started is refused
    (409); with it (an action from an offline queue) a round already started by a later action
    takes this earlier time, and one started earlier answers ``applied: false``."""
    with transaction.atomic():
        batch, route = _locked(actor, route_id)
        _if_match(route, if_match)
        at = client_time(client_at, not_before=day_start(batch.day))
        if route.status == Route.Status.PLANNED:
            _start(batch, route, at)
            return RouteOutcome(route, True)
        if client_at is None:
            raise RouteStateError()
        return RouteOutcome(route, _start_earlier(batch, route, at))


def route_start(*, actor: User, route_id: int, client_at: datetime | None = None) -> Route:
    return route_start_record(actor=actor, route_id=route_id, client_at=client_at).route


def _stop_of(route: Route, stop_id: int) -> Stop:
    stop = Stop.objects.select_for_update().filter(pk=stop_id, route=route).first()
    if stop is None:
        raise NotFoundError()
    return stop


def _held(stop: Stop) -> list[Assignment]:
    """The orders the stop hands over (not released)."""
    return list(
        Assignment.objects.select_for_update(of=("self",))
        .filter(stop=stop, released_at__isnull=True)
        .select_related("order")
        .order_by("order_id")
    )


def _code_matches(stop: Stop, held: list[Assignment], code: str) -> bool:
    if stop.kind == DropKind.HOME:
        expected = [a.order.delivery_code for a in held]
    else:
        expected = [stop.relay_point.handover_code] if stop.relay_point else []
    # Compare against every candidate, always, in constant time.
    matches = [hmac.compare_digest(code.encode(), e.encode()) for e in expected]
    return any(matches)


def _files_forget(stop: Stop) -> None:
    names = [f.name for f in (stop.proof_photo, stop.proof_signature) if f]
    stop.proof_photo = ""
    stop.proof_signature = ""
    for name in names:
        transaction.on_commit(partial(default_storage.delete, name))


def _undo(stop: Stop) -> None:
    """Takes back the outcome of a done stop, before a later action by the courier's clock
    replaces it: its orders are on the round again, as before the first action."""
    if stop.status == Stop.Status.DELIVERED:
        held = _held(stop)
        if any(
            a.order.status == Order.Status.DELIVERED and stop.kind != DropKind.HOME for a in held
        ):
            raise StopCorrectionError()  # already picked up at the relay
        Assignment.objects.filter(pk__in=[a.pk for a in held]).update(
            outcome=Assignment.Outcome.PLANNED
        )
        Order.objects.filter(pk__in=[a.order_id for a in held]).update(
            status=Order.Status.OUT_FOR_DELIVERY, delivered_at=None, pickup_code=""
        )
    elif stop.status == Stop.Status.FAILED:
        failed = list(
            Assignment.objects.select_for_update(of=("self",))
            .filter(stop=stop, outcome=Assignment.Outcome.FAILED)
            .select_related("order")
            .order_by("order_id")
        )
        for a in failed:
            again = Assignment.objects.filter(order=a.order_id, released_at__isnull=True).exists()
            if again or a.order.status not in (Order.Status.PENDING, Order.Status.RETURNED):
                raise StopCorrectionError()  # in another batch, or cancelled, meanwhile
        Assignment.objects.filter(pk__in=[a.pk for a in failed]).update(
            outcome=Assignment.Outcome.PLANNED, released_at=None, release_reason=""
        )
        Order.objects.filter(pk__in=[a.order_id for a in failed]).update(
            status=Order.Status.OUT_FOR_DELIVERY, attempts=F("attempts") - 1
        )
    _files_forget(stop)
    stop.status = Stop.Status.PENDING
    stop.proof = ""
    stop.proof_notes = ""
    stop.fail_reason = ""
    stop.done_at = None


def _prepare(
    actor: User, route_id: int, stop_id: int, client_at: datetime | None, if_match: str | None
) -> tuple[Batch, Route, Stop, datetime, bool]:
    """Locks and checks what a stop action needs. Returns the batch, the round, the stop, the
    action's time, and whether it is stale (older than the stop's last applied action)."""
    batch, route = _locked(actor, route_id)
    _if_match(route, if_match)
    stop = _stop_of(route, stop_id)
    at = client_time(client_at, not_before=day_start(batch.day))
    if client_at is None:
        # A live app: the round is under way and the stop still to do.
        if route.status != Route.Status.STARTED:
            raise RouteStateError()
        if stop.status != Stop.Status.PENDING:
            raise StopStateError()
        return batch, route, stop, at, False
    if stop.action_at is not None and at <= stop.action_at:
        return batch, route, stop, at, True
    if route.status == Route.Status.PLANNED:
        _start(batch, route, at)  # an action from the queue before the start was received
    else:
        _start_earlier(batch, route, at)
    return batch, route, stop, at, False


def _route_close(route: Route) -> None:
    """A round with no stop left to do is completed, at its last stop's time by the courier's
    clock (a correction of an earlier stop does not move it); the batch, when every round is."""
    if route.stops.filter(status=Stop.Status.PENDING).exists():
        return
    last = route.stops.aggregate(last=Max("done_at"))["last"]
    if route.status == Route.Status.COMPLETED and route.completed_at == last:
        return
    route.status = Route.Status.COMPLETED
    route.completed_at = last
    _bump(route, "status", "completed_at")
    batch = Batch.objects.select_for_update().get(pk=route.batch_id)
    if (
        batch.status != Batch.Status.COMPLETED
        and not batch.routes.exclude(status=Route.Status.COMPLETED).exists()
    ):
        batch.status = Batch.Status.COMPLETED
        batch.progress_stage = "completed"
        batch.save(update_fields=["status", "progress_stage"])


def stop_delivered_record(
    *,
    actor: User,
    route_id: int,
    stop_id: int,
    code: str | None = None,
    photo: UploadedFile | None = None,
    signature: UploadedFile | None = None,
    notes: str = "",
    client_at: datetime | None = None,
    if_match: str | None = None,
) -> StopOutcome:
    """The parcels of a stop are handed over, with a proof: the code the recipient shows (the
    resident's order code at home, the relay's handover code at a relay or host), a photo
    (re-encoded without EXIF) or a signature (PNG or SVG), and the courier's notes.

    At home the orders are delivered. At a relay point or a neighbour host's they wait for
    their resident (``awaiting_pickup``), who gets a pickup code to show there.
    """
    if not code and photo is None and signature is None:
        raise ProofRequiredError()
    photo_file = proof_photo_clean(photo) if photo is not None else None
    signature_file = proof_signature_clean(signature) if signature is not None else None
    with transaction.atomic():
        _batch, route, stop, at, stale = _prepare(actor, route_id, stop_id, client_at, if_match)
        if stale:
            return StopOutcome(stop, False)
        if stop.status != Stop.Status.PENDING:
            _undo(stop)
        held = _held(stop)
        if code:
            if not _code_matches(stop, held, code):
                raise BadProofCodeError()
            stop.proof = Stop.Proof.CODE
        elif photo_file is not None:
            stop.proof = Stop.Proof.PHOTO
        else:
            stop.proof = Stop.Proof.SIGNATURE
        _files_save(stop, photo_file, signature_file)
        stop.proof_notes = notes
        stop.status = Stop.Status.DELIVERED
        stop.fail_reason = ""
        stop.done_at = at
        stop.action_at = at
        stop.save()
        _handed_over(stop, held, at)
        _bump(route)
        _route_close(route)
    return StopOutcome(stop, True)


def _files_save(stop: Stop, photo: ProofFile | None, signature: ProofFile | None) -> None:
    if photo is not None:
        stop.proof_photo.save(photo.content.name or "proof.jpg", photo.content, save=False)
    if signature is not None:
        stop.proof_signature.save(
            signature.content.name or "signature.png", signature.content, save=False
        )


def _handed_over(stop: Stop, held: list[Assignment], at: datetime) -> None:
    Assignment.objects.filter(pk__in=[a.pk for a in held]).update(
        outcome=Assignment.Outcome.DELIVERED
    )
    now = timezone.now()
    if stop.kind == DropKind.HOME:
        Order.objects.filter(pk__in=[a.order_id for a in held]).update(
            status=Order.Status.DELIVERED, delivered_at=at, updated_at=now
        )
        for a in held:
            notify(
                event_type="order.delivered",
                data={
                    "order_id": a.order_id,
                    "merchant_name": a.order.merchant_name,
                    "delivered_at": timezone.localtime(at).isoformat(),
                    "place": stop.kind,
                    "proof": stop.proof,
                },
                recipients=[a.order.resident_id],
            )
        return
    relay = stop.relay_point
    assert relay is not None  # a relay or host stop has its relay point (a DB constraint)
    for a in held:
        Order.objects.filter(pk=a.order_id).update(
            status=Order.Status.AWAITING_PICKUP, pickup_code=code_new(), updated_at=now
        )
        notify(
            event_type="order.awaiting_pickup",
            data={
                "order_id": a.order_id,
                "merchant_name": a.order.merchant_name,
                "relay_point_id": relay.pk,
                "relay_name": relay.name,
                "place": stop.kind,
                "arrived_at": timezone.localtime(at).isoformat(),
            },
            recipients=[a.order.resident_id],
        )


def stop_delivered(
    *,
    actor: User,
    route_id: int,
    stop_id: int,
    code: str | None = None,
    photo: UploadedFile | None = None,
    client_at: datetime | None = None,
) -> Stop:
    return stop_delivered_record(
        actor=actor, route_id=route_id, stop_id=stop_id, code=code, photo=photo, client_at=client_at
    ).stop


def stop_failed_record(
    *,
    actor: User,
    route_id: int,
    stop_id: int,
    reason: str,
    photo: UploadedFile | None = None,
    notes: str = "",
    client_at: datetime | None = None,
    if_match: str | None = None,
) -> StopOutcome:
    """A stop could not be delivered: its parcels leave the batch and go back to the pool (or
    back to the sender after ``POOLING_MAX_ATTEMPTS`` attempts)."""
    photo_file = proof_photo_clean(photo) if photo is not None else None
    with transaction.atomic():
        _batch, route, stop, at, stale = _prepare(actor, route_id, stop_id, client_at, if_match)
        if stale:
            return StopOutcome(stop, False)
        if stop.status != Stop.Status.PENDING:
            _undo(stop)
        held = _held(stop)
        stop.status = Stop.Status.FAILED
        stop.fail_reason = reason
        stop.proof_notes = notes
        stop.done_at = at
        stop.action_at = at
        stop.proof = Stop.Proof.PHOTO if photo_file is not None else ""
        _files_save(stop, photo_file, None)
        stop.save()
        _failed(held, reason, at)
        _bump(route)
        _route_close(route)
    return StopOutcome(stop, True)


def _failed(held: list[Assignment], reason: str, at: datetime) -> None:
    now = timezone.now()
    Assignment.objects.filter(pk__in=[a.pk for a in held]).update(
        outcome=Assignment.Outcome.FAILED, released_at=now, release_reason=reason[:32]
    )
    Order.objects.filter(pk__in=[a.order_id for a in held]).update(
        attempts=F("attempts") + 1, updated_at=now
    )
    limit = int(settings.POOLING_MAX_ATTEMPTS)
    orders = Order.objects.filter(pk__in=[a.order_id for a in held])
    orders.filter(attempts__gte=limit).update(status=Order.Status.RETURNED)
    orders.filter(attempts__lt=limit).update(status=Order.Status.PENDING)
    attempts = dict(orders.values_list("pk", "attempts"))
    for a in held:
        notify(
            event_type="order.failed",
            data={
                "order_id": a.order_id,
                "merchant_name": a.order.merchant_name,
                "reason": reason,
                "next_step": "return" if attempts[a.order_id] >= limit else "retry",
            },
            recipients=[a.order.resident_id],
        )


def stop_failed(
    *,
    actor: User,
    route_id: int,
    stop_id: int,
    reason: str,
    photo: UploadedFile | None = None,
    client_at: datetime | None = None,
) -> Stop:
    return stop_failed_record(
        actor=actor,
        route_id=route_id,
        stop_id=stop_id,
        reason=reason,
        photo=photo,
        client_at=client_at,
    ).stop
