"""Neighbourhoods and membership: joining, approval, suspension."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.errors import ConflictError, DomainError, ForbiddenError
from sharing.locks import lock
from sharing.models import Item, Loan, Membership, Neighbourhood


class NotStaffError(ForbiddenError):
    code = "not_association_staff"
    default_message = _("Only the association's staff can do this.")


class NotMemberError(ForbiddenError):
    code = "not_a_member"
    default_message = _("You must be an active member of this neighbourhood.")


class SuspendedError(ForbiddenError):
    code = "member_suspended"
    default_message = _("Your membership is suspended.")


def is_staff_of(user: User, neighbourhood: Neighbourhood) -> bool:
    return neighbourhood.association.staff.filter(pk=user.pk).exists()


def active_neighbourhood_ids(user: User) -> list[int]:
    return list(
        Membership.objects.filter(user=user, status=Membership.Status.ACTIVE).values_list(
            "neighbourhood_id", flat=True
        )
    )


def require_active_member(user: User) -> list[int]:
    """The neighbourhoods where ``user`` may list and borrow; refuses the suspended."""
    rows = list(Membership.objects.filter(user=user).values_list("neighbourhood_id", "status"))
    active = [n for n, s in rows if s == Membership.Status.ACTIVE]
    if not active:
        if any(s == Membership.Status.SUSPENDED for _n, s in rows):
            raise SuspendedError()
        raise NotMemberError()
    return active


def share_a_neighbourhood(a: User, b: User) -> bool:
    return Membership.objects.filter(
        user=b,
        status=Membership.Status.ACTIVE,
        neighbourhood__memberships__user=a,
        neighbourhood__memberships__status=Membership.Status.ACTIVE,
    ).exists()


@transaction.atomic
def membership_join(
    *, user: User, neighbourhood: Neighbourhood, ask_me_too: bool = False
) -> Membership:
    existing = (
        Membership.objects.select_for_update()
        .filter(user=user, neighbourhood=neighbourhood)
        .first()
    )
    if existing is not None:
        if existing.status == Membership.Status.SUSPENDED:
            raise SuspendedError()
        if existing.status == Membership.Status.REFUSED:
            raise ConflictError(
                _("The association refused this membership."), code="membership_refused"
            )
        return existing
    status = (
        Membership.Status.ACTIVE
        if neighbourhood.join_policy == Neighbourhood.JoinPolicy.OPEN
        else Membership.Status.PENDING
    )
    return Membership.objects.create(
        user=user,
        neighbourhood=neighbourhood,
        status=status,
        ask_me_too=ask_me_too,
        decided_at=timezone.now() if status == Membership.Status.ACTIVE else None,
    )


@transaction.atomic
def membership_approve(*, staff: User, membership_id: int) -> Membership:
    membership = lock(Membership, membership_id)
    if not is_staff_of(staff, membership.neighbourhood):
        raise NotStaffError()
    if membership.status not in (Membership.Status.PENDING, Membership.Status.SUSPENDED):
        raise ConflictError(_("This membership is not waiting for approval."), code="not_pending")
    membership.status = Membership.Status.ACTIVE
    membership.suspended_reason = ""
    membership.decided_by = staff
    membership.decided_at = timezone.now()
    membership.save(update_fields=["status", "suspended_reason", "decided_by", "decided_at"])
    return membership


@transaction.atomic
def membership_refuse(*, staff: User, membership_id: int) -> Membership:
    membership = lock(Membership, membership_id)
    if not is_staff_of(staff, membership.neighbourhood):
        raise NotStaffError()
    if membership.status != Membership.Status.PENDING:
        raise ConflictError(_("This membership is not waiting for approval."), code="not_pending")
    membership.status = Membership.Status.REFUSED
    membership.decided_by = staff
    membership.decided_at = timezone.now()
    membership.save(update_fields=["status", "decided_by", "decided_at"])
    return membership


@transaction.atomic
def membership_suspend(*, staff: User, membership_id: int, reason: str) -> Membership:
    """Suspends a member: they can neither list nor request. Their items are hidden, their
    pending requests and loans that have not started are cancelled; loans under way continue
    (the item must come back) and are left to the parties."""
    from sharing.services.loans import loan_cancel_for_suspension

    if not reason.strip():
        raise DomainError(
            _("A suspension needs a reason."),
            code="reason_required",
            fields={"reason": [_("This field is required.")]},
        )
    membership = lock(Membership, membership_id)
    if not is_staff_of(staff, membership.neighbourhood):
        raise NotStaffError()
    membership.status = Membership.Status.SUSPENDED
    membership.suspended_reason = reason.strip()[:500]
    membership.decided_by = staff
    membership.decided_at = timezone.now()
    membership.save(update_fields=["status", "suspended_reason", "decided_by", "decided_at"])
    user = membership.user
    if not Membership.objects.filter(user=user, status=Membership.Status.ACTIVE).exists():
        Item.objects.filter(owner=user, status=Item.Status.ACTIVE).update(status=Item.Status.HIDDEN)
        open_loans = Loan.objects.filter(
            Q(borrower=user) | Q(lender=user),
            status__in=[Loan.Status.REQUESTED, Loan.Status.ACCEPTED],
        ).values_list("pk", flat=True)
        for loan_id in sorted(open_loans):
            loan_cancel_for_suspension(loan_id=loan_id, suspended=user)
    return membership
