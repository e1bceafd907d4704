"""The life of a loan, each step allowed only to the party whose turn it is.

requested -> accepted | declined | cancelled | expired
accepted  -> active (handover confirmed by both, or by the lender's code) | cancelled
active    -> returned (borrower) -> closed (lender confirms, with the item's condition)
active | returned | closed (within a week) -> disputed
accepted | active -> renewed (a longer period, when nothing conflicts)

No two loans holding one item overlap, buffer included: a PostgreSQL exclusion constraint. Accepts
for one item are serialised on the item's row, and the constraint is the guard that cannot fail.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from psycopg.types.range import Range

from accounts.models import User
from backend.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from geo.osm_import import haversine_lengths
from neighbourhoods.errors import NotStaffError
from neighbourhoods.models import Membership
from neighbourhoods.selectors import (
    require_active_member,
    share_a_neighbourhood,
    staff_neighbourhood_ids,
)
from notifications.services.events import notify
from sharing.locks import lock
from sharing.models import BlockedPeriod, Conversation, Item, Loan
from sharing.selectors import blocked_between


class NotYourTurnError(ForbiddenError):
    code = "not_your_turn"
    default_message = _("This action is not yours to take on this loan.")


class WrongStateError(ConflictError):
    code = "invalid_state"
    default_message = _("This loan is not in a state that allows this action.")


class PeriodTakenError(ConflictError):
    code = "period_taken"
    default_message = _("The item is not available for this period.")


def _name(user: User) -> str:
    return user.public_name


def _loan_data(loan: Loan) -> dict[str, object]:
    return {"loan_id": loan.pk, "item_id": loan.item_id, "item_title": loan.item.title}


def _buffer() -> timedelta:
    return timedelta(hours=float(settings.SHARING_LOAN_BUFFER_HOURS))


def _hold(starts_at: datetime, ends_at: datetime) -> Range:
    return Range(starts_at - _buffer(), ends_at + _buffer(), "[)")


def validate_period(
    item: Item, starts_at: datetime, ends_at: datetime, *, now: datetime | None = None
) -> None:
    now = now or timezone.now()
    errors: dict[str, list[object]] = {}
    if ends_at <= starts_at:
        errors["ends_at"] = [_("The end must come after the start.")]
    elif ends_at - starts_at > timedelta(days=item.max_loan_days):
        errors["ends_at"] = [
            _("This item is lent for %(days)s days at most.") % {"days": item.max_loan_days}
        ]
    if starts_at < now - timedelta(hours=1):
        errors["starts_at"] = [_("The start is in the past.")]
    elif starts_at > now + timedelta(days=180):
        errors["starts_at"] = [_("The start is too far ahead.")]
    if errors:
        raise DomainError(next(iter(errors.values()))[0], code="invalid_period", fields=errors)


def _available(item: Item, hold: Range, period: Range, exclude_loan: int | None = None) -> bool:
    holding = item.loans.filter(status__in=Loan.HOLDING, hold__overlap=hold)
    if exclude_loan is not None:
        holding = holding.exclude(pk=exclude_loan)
    if holding.exists():
        return False
    return not BlockedPeriod.objects.filter(item=item, period__overlap=period).exists()


@transaction.atomic
def loan_request(
    *,
    borrower: User,
    item_id: int,
    starts_at: datetime,
    ends_at: datetime,
    message: str = "",
    offer_id: int | None = None,
) -> Loan:
    require_active_member(borrower)
    item = Item.objects.select_related("owner").filter(pk=item_id).first()
    if (
        item is None
        or item.status != Item.Status.ACTIVE
        or not share_a_neighbourhood(borrower, item.owner)
    ):
        raise NotFoundError()
    if item.owner_id == borrower.pk:
        raise DomainError(_("You cannot borrow your own item."), code="own_item")
    if blocked_between(borrower.pk, item.owner_id):
        raise NotFoundError()  # as for an item they cannot see
    validate_period(item, starts_at, ends_at)
    period = Range(starts_at, ends_at, "[)")
    if not _available(item, _hold(starts_at, ends_at), period):
        raise PeriodTakenError()
    now = timezone.now()
    ttl = timedelta(hours=float(settings.SHARING_REQUEST_TTL_HOURS))
    loan = Loan.objects.create(
        item=item,
        borrower=borrower,
        lender=item.owner,
        period=period,
        hold=_hold(starts_at, ends_at),
        message=message[:500],
        expires_at=max(min(now + ttl, starts_at), now + timedelta(minutes=30)),
        offer_id=offer_id,
    )
    Conversation.objects.create(loan=loan, first=borrower, second=item.owner)
    notify(
        event_type="loan.requested",
        recipients=[item.owner],
        data={
            **_loan_data(loan),
            "borrower_id": borrower.pk,
            "borrower_name": _name(borrower),
            "starts_at": starts_at,
            "ends_at": ends_at,
        },
    )
    return loan


def _locked(loan_id: int, item_first: bool = False) -> Loan:
    """Locks the loan (after its item's row when accepts and renewals must be serialised)."""
    if item_first:
        item_id = Loan.objects.filter(pk=loan_id).values_list("item_id", flat=True).first()
        if item_id is None:
            raise NotFoundError()
        lock(Item, item_id)
    loan = (
        Loan.objects.select_for_update(of=("self",))
        .select_related("item", "borrower", "lender")
        .filter(pk=loan_id)
        .first()
    )
    if loan is None:
        raise NotFoundError()
    return loan


def _party(loan: Loan, actor: User) -> str:
    if actor.pk == loan.lender_id:
        return "lender"
    if actor.pk == loan.borrower_id:
        return "borrower"
    raise NotYourTurnError()


class MeetingTooFarError(DomainError):
    code = "meeting_too_far"
    default_message = _("Choose a meeting place near the object (at most 3 km from it).")


MEETING_MAX_M = 3000.0


def _metres(a: Point, b: Point) -> float:
    """Great-circle distance between two WGS84 points."""
    return float(haversine_lengths(np.array([a.x, b.x]), np.array([a.y, b.y]))[0])


@transaction.atomic
def loan_accept(
    *,
    actor: User,
    loan_id: int,
    meeting_point: Point | None = None,
    meeting_note: str = "",
) -> Loan:
    """The lender accepts; ``meeting_point`` (else their home) is where they meet, shown to the
    borrower from now on, with ``meeting_note`` ("at the bakery's door")."""
    loan = _locked(loan_id, item_first=True)
    if _party(loan, actor) != "lender":
        raise NotYourTurnError()
    if loan.status != Loan.Status.REQUESTED:
        raise WrongStateError()
    if meeting_point is not None:
        reference = loan.item.location or actor.home
        if reference is not None and _metres(reference, meeting_point) > MEETING_MAX_M:
            raise MeetingTooFarError(fields={"meeting_point": [MeetingTooFarError.default_message]})
        loan.meeting_point = meeting_point
    loan.meeting_note = meeting_note[:200]
    require_active_member(actor)
    if loan.expires_at <= timezone.now():
        raise WrongStateError(_("This request has expired."), code="request_expired")
    start, end = loan.period.lower, loan.period.upper
    if BlockedPeriod.objects.filter(item=loan.item, period__overlap=loan.period).exists():
        raise PeriodTakenError()
    loan.status = Loan.Status.ACCEPTED
    loan.decided_at = timezone.now()
    loan.handover_code = f"{secrets.randbelow(1_000_000):06d}"
    try:
        with transaction.atomic():
            loan.save(
                update_fields=[
                    "status",
                    "decided_at",
                    "handover_code",
                    "meeting_point",
                    "meeting_note",
                ]
            )
    except IntegrityError:
        raise PeriodTakenError() from None
    notify(
        event_type="loan.accepted",
        recipients=[loan.borrower],
        data={
            **_loan_data(loan),
            "owner_id": actor.pk,
            "owner_name": _name(actor),
            "starts_at": start,
            "ends_at": end,
        },
    )
    # Requests that can no longer be met are declined at once, so nobody waits for nothing.
    clashing = (
        Loan.objects.filter(item=loan.item, status=Loan.Status.REQUESTED, hold__overlap=loan.hold)
        .exclude(pk=loan.pk)
        .select_related("borrower", "item")
    )
    for other in clashing.order_by("pk"):
        other.status = Loan.Status.DECLINED
        other.decided_at = timezone.now()
        other.save(update_fields=["status", "decided_at"])
        notify(
            event_type="loan.declined",
            recipients=[other.borrower],
            data={
                **_loan_data(other),
                "owner_name": _name(actor),
                "reason": str(_("The item was promised to someone else for this period.")),
            },
        )
    return loan


@transaction.atomic
def loan_decline(*, actor: User, loan_id: int, reason: str = "") -> Loan:
    loan = _locked(loan_id)
    if _party(loan, actor) != "lender":
        raise NotYourTurnError()
    if loan.status != Loan.Status.REQUESTED:
        raise WrongStateError()
    loan.status = Loan.Status.DECLINED
    loan.decided_at = timezone.now()
    loan.save(update_fields=["status", "decided_at"])
    data = {**_loan_data(loan), "owner_name": _name(actor)}
    if reason:
        data["reason"] = reason[:300]
    notify(event_type="loan.declined", recipients=[loan.borrower], data=data)
    return loan


@transaction.atomic
def loan_cancel(*, actor: User, loan_id: int) -> Loan:
    """The borrower may cancel a request or an accepted loan until it starts; the lender may
    cancel an accepted loan until it starts (a request, the lender declines)."""
    loan = _locked(loan_id)
    party = _party(loan, actor)
    if loan.status == Loan.Status.REQUESTED and party == "lender":
        raise NotYourTurnError()  # the lender declines a request
    if loan.status not in (Loan.Status.REQUESTED, Loan.Status.ACCEPTED):
        raise WrongStateError()
    if loan.status == Loan.Status.ACCEPTED and loan.period.lower <= timezone.now():
        raise WrongStateError(
            _("The loan has started: it can no longer be cancelled."), code="loan_started"
        )
    loan.status = Loan.Status.CANCELLED
    loan.cancelled_by = actor
    loan.save(update_fields=["status", "cancelled_by"])
    other = loan.lender if party == "borrower" else loan.borrower
    notify(
        event_type="loan.cancelled",
        recipients=[other],
        data={**_loan_data(loan), "cancelled_by_name": _name(actor)},
    )
    return loan


def loan_cancel_for_suspension(*, loan_id: int, suspended: User) -> None:
    """Inside ``member_suspend``'s transaction: a suspended member's open loans end."""
    loan = _locked(loan_id)
    if loan.status not in (Loan.Status.REQUESTED, Loan.Status.ACCEPTED):
        return
    loan.status = Loan.Status.CANCELLED
    loan.cancelled_by = suspended
    loan.save(update_fields=["status", "cancelled_by"])
    other = loan.lender if suspended.pk == loan.borrower_id else loan.borrower
    notify(
        event_type="loan.cancelled",
        recipients=[other],
        data={**_loan_data(loan), "cancelled_by_name": _name(suspended)},
    )


@transaction.atomic
def loan_handover(*, actor: User, loan_id: int, code: str | None = None) -> Loan:
    """Each party confirms the handover; or the borrower types the code the lender's phone shows,
    which confirms it for both at once."""
    loan = _locked(loan_id)
    party = _party(loan, actor)
    if loan.status != Loan.Status.ACCEPTED:
        raise WrongStateError()
    if loan.period.lower - timedelta(days=1) > timezone.now():
        raise WrongStateError(
            _("The handover can be confirmed from the day before the loan starts."),
            code="too_early",
        )
    now = timezone.now()
    if code is not None:
        if party != "borrower":
            raise NotYourTurnError()
        if not secrets.compare_digest(code.strip(), loan.handover_code):
            raise DomainError(
                _("This code is not the one shown on the lender's phone."),
                code="wrong_code",
                fields={"code": [_("Wrong code.")]},
            )
        loan.borrower_handover_at = loan.lender_handover_at = now
    elif party == "borrower":
        loan.borrower_handover_at = loan.borrower_handover_at or now
    else:
        loan.lender_handover_at = loan.lender_handover_at or now
    fields = ["borrower_handover_at", "lender_handover_at"]
    if loan.borrower_handover_at and loan.lender_handover_at:
        loan.status = Loan.Status.ACTIVE
        fields.append("status")
        loan.save(update_fields=fields)
        notify(
            event_type="loan.handover_confirmed",
            recipients=[loan.borrower, loan.lender],
            data={**_loan_data(loan), "ends_at": loan.period.upper},
        )
    else:
        loan.save(update_fields=fields)
    return loan


@transaction.atomic
def loan_return(*, actor: User, loan_id: int) -> Loan:
    loan = _locked(loan_id)
    if _party(loan, actor) != "borrower":
        raise NotYourTurnError()
    if loan.status != Loan.Status.ACTIVE:
        raise WrongStateError()
    loan.status = Loan.Status.RETURNED
    loan.save(update_fields=["status"])
    notify(
        event_type="loan.returned",
        recipients=[loan.lender],
        data={**_loan_data(loan), "borrower_name": _name(actor)},
    )
    return loan


@transaction.atomic
def loan_confirm_return(
    *, actor: User, loan_id: int, condition: str, note: str = "", photo: bytes | None = None
) -> Loan:
    from django.core.files.base import ContentFile

    from sharing.services.items import _clean_image

    loan = _locked(loan_id)
    if _party(loan, actor) != "lender":
        raise NotYourTurnError()
    if loan.status != Loan.Status.RETURNED:
        raise WrongStateError()
    if condition not in Loan.ReturnCondition.values:
        raise DomainError(
            code="invalid", fields={"condition": [_("Choose fine, worn or damaged.")]}
        )
    if condition == Loan.ReturnCondition.DAMAGED and not photo:
        raise DomainError(
            _("A damaged item needs a photo."),
            code="photo_required",
            fields={"photo": [_("A damaged item needs a photo.")]},
        )
    if photo:
        image, _thumb, _w, _h = _clean_image(photo)
        loan.return_photo.save(f"loan{loan.pk}.jpg", ContentFile(image), save=False)
    loan.status = Loan.Status.CLOSED
    loan.return_condition = condition
    loan.return_note = note[:500]
    loan.closed_at = timezone.now()
    loan.save(
        update_fields=["status", "return_condition", "return_note", "closed_at", "return_photo"]
    )
    notify(
        event_type="loan.return_confirmed",
        recipients=[loan.borrower],
        data={**_loan_data(loan), "condition": condition},
    )
    return loan


@transaction.atomic
def loan_dispute(*, actor: User, loan_id: int, reason: str) -> Loan:
    loan = _locked(loan_id)
    party = _party(loan, actor)
    if not reason.strip():
        raise DomainError(code="invalid", fields={"reason": [_("This field is required.")]})
    disputable = loan.status in (Loan.Status.ACTIVE, Loan.Status.RETURNED) or (
        loan.status == Loan.Status.CLOSED
        and loan.closed_at
        and loan.closed_at > timezone.now() - timedelta(days=7)
    )
    if not disputable:
        raise WrongStateError()
    loan.status = Loan.Status.DISPUTED
    loan.dispute_reason = reason.strip()[:1000]
    loan.save(update_fields=["status", "dispute_reason"])
    other = loan.lender if party == "borrower" else loan.borrower
    notify(
        event_type="loan.disputed",
        recipients=[other],
        data={**_loan_data(loan), "opened_by_name": _name(actor)},
    )
    return loan


@transaction.atomic
def loan_dispute_settle(*, staff: User, loan_id: int, resolution: str) -> Loan:
    """The association settles a dispute: the loan is closed with what was decided, which both
    parties are told. Only the staff of an association running a neighbourhood the lender
    belongs to may do it."""
    loan = _locked(loan_id)
    scope = staff_neighbourhood_ids(staff)
    lender_memberships = Membership.objects.filter(user_id=loan.lender_id)
    if scope is not None and not lender_memberships.filter(neighbourhood_id__in=scope).exists():
        raise NotStaffError()
    text = resolution.strip()
    if not text:
        raise DomainError(code="invalid", fields={"resolution": [_("This field is required.")]})
    if loan.status != Loan.Status.DISPUTED:
        raise WrongStateError(_("This loan is not in dispute."), code="not_disputed")
    now = timezone.now()
    loan.status = Loan.Status.CLOSED
    loan.closed_at = loan.closed_at or now
    loan.dispute_resolution = text[:1000]
    loan.dispute_resolved_by = staff
    loan.dispute_resolved_at = now
    loan.save(
        update_fields=[
            "status",
            "closed_at",
            "dispute_resolution",
            "dispute_resolved_by",
            "dispute_resolved_at",
        ]
    )
    notify(
        event_type="loan.dispute_settled",
        recipients=[loan.lender, loan.borrower],
        data={**_loan_data(loan), "resolution": text[:500]},
    )
    return loan


class RenewalPendingError(ConflictError):
    code = "renewal_pending"
    default_message = _("A renewal is already asked: wait for the lender's answer.")


class NoRenewalError(ConflictError):
    code = "no_renewal_asked"
    default_message = _("No renewal is asked for this loan.")


def _renewal_period(loan: Loan, ends_at: datetime) -> Range:
    """The loan's period extended to ``ends_at``, if the rules allow it (the constraint still
    decides against other loans when it is saved)."""
    if loan.renewals >= settings.SHARING_MAX_RENEWALS:
        raise ConflictError(_("This loan cannot be renewed again."), code="renewals_exhausted")
    start = loan.period.lower
    if ends_at <= loan.period.upper:
        raise DomainError(
            code="invalid_period",
            fields={"ends_at": [_("A renewal must end later than the loan does now.")]},
        )
    validate_period(loan.item, start, ends_at, now=start)
    new_period = Range(start, ends_at, "[)")
    if BlockedPeriod.objects.filter(item=loan.item, period__overlap=new_period).exists():
        raise PeriodTakenError()
    others = Loan.objects.filter(
        item=loan.item, status__in=Loan.HOLDING, hold__overlap=_hold(start, ends_at)
    ).exclude(pk=loan.pk)
    if others.exists():
        raise PeriodTakenError()
    return new_period


@transaction.atomic
def loan_renew(*, actor: User, loan_id: int, ends_at: datetime) -> Loan:
    """The borrower asks to keep the object until ``ends_at``; the lender accepts or declines
    (nothing changes until then)."""
    loan = _locked(loan_id, item_first=True)
    if _party(loan, actor) != "borrower":
        raise NotYourTurnError()
    if loan.status not in (Loan.Status.ACCEPTED, Loan.Status.ACTIVE):
        raise WrongStateError()
    if loan.renewal_ends_at is not None:
        raise RenewalPendingError()
    _renewal_period(loan, ends_at)
    loan.renewal_ends_at = ends_at
    loan.save(update_fields=["renewal_ends_at"])
    notify(
        event_type="loan.renewal_requested",
        recipients=[loan.lender],
        data={**_loan_data(loan), "ends_at": ends_at, "borrower_name": _name(actor)},
    )
    return loan


@transaction.atomic
def loan_renew_accept(*, actor: User, loan_id: int) -> Loan:
    """The lender lets the borrower keep the object until the end asked."""
    loan = _locked(loan_id, item_first=True)
    if _party(loan, actor) != "lender":
        raise NotYourTurnError()
    if loan.status not in (Loan.Status.ACCEPTED, Loan.Status.ACTIVE):
        raise WrongStateError()
    if loan.renewal_ends_at is None:
        raise NoRenewalError()
    ends_at = loan.renewal_ends_at
    start = loan.period.lower
    loan.period = _renewal_period(loan, ends_at)
    loan.hold = _hold(start, ends_at)
    loan.renewals += 1
    loan.renewal_ends_at = None
    try:
        with transaction.atomic():
            loan.save(update_fields=["period", "hold", "renewals", "renewal_ends_at"])
    except IntegrityError:
        raise PeriodTakenError() from None
    notify(
        event_type="loan.renewal_accepted",
        recipients=[loan.borrower],
        data={**_loan_data(loan), "ends_at": ends_at, "owner_name": _name(actor)},
    )
    return loan


@transaction.atomic
def loan_renew_decline(*, actor: User, loan_id: int, reason: str = "") -> Loan:
    """The lender wants the object back at the end agreed first."""
    loan = _locked(loan_id, item_first=True)
    if _party(loan, actor) != "lender":
        raise NotYourTurnError()
    if loan.renewal_ends_at is None:
        raise NoRenewalError()
    loan.renewal_ends_at = None
    loan.save(update_fields=["renewal_ends_at"])
    notify(
        event_type="loan.renewal_declined",
        recipients=[loan.borrower],
        data={
            **_loan_data(loan),
            "ends_at": loan.period.upper,
            "owner_name": _name(actor),
            "reason": reason[:1000],
        },
    )
    return loan


def loans_expire(*, now: datetime | None = None) -> int:
    """Requests nobody answered in time expire (a periodic task)."""
    now = now or timezone.now()
    count = 0
    ids = list(
        Loan.objects.filter(status=Loan.Status.REQUESTED, expires_at__lte=now).values_list(
            "pk", flat=True
        )[:1000]
    )
    for loan_id in ids:
        with transaction.atomic():
            loan = _locked(loan_id)
            if loan.status != Loan.Status.REQUESTED or loan.expires_at > now:
                continue
            loan.status = Loan.Status.EXPIRED
            loan.save(update_fields=["status"])
            notify(event_type="loan.expired", recipients=[loan.borrower], data=_loan_data(loan))
            count += 1
    return count


__all__ = [
    "loan_accept",
    "loan_cancel",
    "loan_confirm_return",
    "loan_decline",
    "loan_dispute",
    "loan_handover",
    "loan_renew",
    "loan_renew_accept",
    "loan_renew_decline",
    "loan_request",
    "loan_return",
    "loans_expire",
]
