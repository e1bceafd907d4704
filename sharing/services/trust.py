"""Trust: ratings after a loan, reports to the association, and what its staff do about them.

- A rating follows a closed loan, once per loan and party, about the other party; averages are
  shown once three exist (``sharing.selectors.reliability``).
- A report names an item, a message or a member the reporter can see, and lands in the queue of
  a neighbourhood the reporter and the reported person share.
- Staff of that neighbourhood's association hide the item or the message, dismiss the report, or
  suspend the member (``sharing.services.suspension``). Approving and refusing memberships is
  ``neighbourhoods.services``'s.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from backend.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from neighbourhoods.models import Membership
from neighbourhoods.selectors import staff_require
from sharing.locks import lock
from sharing.models import Item, Loan, Message, Rating, Report
from sharing.selectors import items_visible_to
from sharing.services.suspension import member_suspend


class NotAPartyError(ForbiddenError):
    code = "not_a_party"
    default_message = _("Only the borrower and the lender of this loan can rate it.")


class ReportClosedError(ConflictError):
    code = "report_closed"
    default_message = _("This report was already handled.")


# --- ratings ----------------------------------------------------------------------------------


@transaction.atomic
def rating_create(*, rater: User, loan_id: int, score: int, comment: str = "") -> Rating:
    loan = Loan.objects.filter(pk=loan_id).first()
    if loan is None:
        raise NotFoundError()
    if rater.pk not in (loan.borrower_id, loan.lender_id):
        raise NotAPartyError()
    if loan.status != Loan.Status.CLOSED:
        raise ConflictError(_("A loan is rated once it is closed."), code="loan_not_closed")
    if not 1 <= score <= 5:
        raise DomainError(code="invalid", fields={"score": [_("From 1 to 5.")]})
    ratee_id = loan.lender_id if rater.pk == loan.borrower_id else loan.borrower_id
    try:
        with transaction.atomic():
            return Rating.objects.create(
                loan=loan, rater=rater, ratee_id=ratee_id, score=score, comment=comment.strip()
            )
    except IntegrityError:
        raise ConflictError(_("You already rated this loan."), code="already_rated") from None


# --- reports ----------------------------------------------------------------------------------


def _shared_neighbourhood(reporter: User, owner_id: int) -> int | None:
    """A neighbourhood where the reporter is active and the reported person is a member
    (active or already suspended), the oldest first."""
    mine = Membership.objects.filter(user=reporter, status=Membership.Status.ACTIVE).values(
        "neighbourhood_id"
    )
    return (
        Membership.objects.filter(
            user_id=owner_id,
            neighbourhood_id__in=mine,
            status__in=[Membership.Status.ACTIVE, Membership.Status.SUSPENDED],
        )
        .order_by("neighbourhood_id")
        .values_list("neighbourhood_id", flat=True)
        .first()
    )


@transaction.atomic
def report_create(
    *,
    reporter: User,
    target: str,
    reason: str,
    item_id: int | None = None,
    message_id: int | None = None,
    member_id: int | None = None,
) -> Report:
    """Reports what the reporter can see: an item of a neighbour, a message the other party of
    one of their conversations wrote, a member of a neighbourhood they share. Anything else is
    not found. One open report per reporter and target."""
    if not reason.strip():
        raise DomainError(code="invalid", fields={"reason": [_("This field is required.")]})
    fields: dict[str, object] = {}
    if target == Report.Target.ITEM:
        item = items_visible_to(reporter).filter(pk=item_id or 0).first()
        if item is None:
            raise NotFoundError()
        owner_id, fields = item.owner_id, {"item": item}
    elif target == Report.Target.MESSAGE:
        message = (
            Message.objects.select_related("conversation")
            .filter(pk=message_id or 0, hidden=False)
            .filter(Q(conversation__first=reporter) | Q(conversation__second=reporter))
            .first()
        )
        if message is None:
            raise NotFoundError()
        if message.sender_id == reporter.pk:
            raise DomainError(_("This is your own message."), code="own_message")
        owner_id, fields = message.sender_id, {"message": message}
    elif target == Report.Target.MEMBER:
        if member_id == reporter.pk:
            raise DomainError(_("You cannot report yourself."), code="own_account")
        if member_id is None or not User.objects.filter(pk=member_id).exists():
            raise NotFoundError()
        owner_id, fields = member_id, {"member_id": member_id}
    else:
        raise DomainError(code="invalid", fields={"target": [_("Choose item, message or member.")]})
    neighbourhood_id = _shared_neighbourhood(reporter, owner_id)
    if neighbourhood_id is None:
        raise NotFoundError()
    lock(User, reporter.pk)  # one open report per reporter and target, even when sent twice
    if Report.objects.filter(
        reporter=reporter, target=target, status=Report.Status.OPEN, **fields
    ).exists():
        raise ConflictError(_("You already reported this."), code="already_reported")
    return Report.objects.create(
        reporter=reporter,
        target=target,
        neighbourhood_id=neighbourhood_id,
        reason=reason.strip()[:1000],
        **fields,
    )


def _locked_report(staff: User, report_id: int) -> Report:
    report = lock(Report, report_id)
    staff_require(staff, report.neighbourhood_id)
    if report.status != Report.Status.OPEN:
        raise ReportClosedError()
    return report


def _close(report: Report, staff: User, status: str) -> None:
    """Closes the report, and the other open reports about the same thing in the same
    neighbourhood (the action answered them too)."""
    now = timezone.now()
    subject = {
        Report.Target.ITEM: {"item_id": report.item_id},
        Report.Target.MESSAGE: {"message_id": report.message_id},
        Report.Target.MEMBER: {"member_id": report.member_id},
    }[Report.Target(report.target)]
    same = Report.objects.filter(
        neighbourhood_id=report.neighbourhood_id,
        target=report.target,
        status=Report.Status.OPEN,
        **subject,
    )
    if status == Report.Status.DISMISSED:
        same = same.filter(pk=report.pk)
    same.update(status=status, handled_by=staff, handled_at=now)
    report.refresh_from_db()


@transaction.atomic
def report_hide(*, staff: User, report_id: int) -> Report:
    """Hides the reported item (nobody finds it any more) or message (nobody reads it)."""
    report = _locked_report(staff, report_id)
    if report.target == Report.Target.ITEM:
        assert report.item_id is not None  # the target check constraint
        item = lock(Item, report.item_id)
        item.status = Item.Status.HIDDEN
        item.save(update_fields=["status", "updated_at"])
    elif report.target == Report.Target.MESSAGE:
        assert report.message_id is not None
        Message.objects.filter(pk=report.message_id).update(hidden=True)
    else:
        raise DomainError(
            _("A member is not hidden: suspend them, or dismiss the report."),
            code="nothing_to_hide",
        )
    _close(report, staff, Report.Status.ACTIONED)
    return report


@transaction.atomic
def report_dismiss(*, staff: User, report_id: int) -> Report:
    report = _locked_report(staff, report_id)
    _close(report, staff, Report.Status.DISMISSED)
    return report


@transaction.atomic
def report_suspend(*, staff: User, report_id: int, reason: str) -> Report:
    """Suspends the person the report is about (the item's owner, the message's sender, the
    member) in the report's neighbourhood."""
    report = _locked_report(staff, report_id)
    if report.item is not None:
        user_id = report.item.owner_id
    elif report.message is not None:
        user_id = report.message.sender_id
    else:
        assert report.member_id is not None  # the target check constraint
        user_id = report.member_id
    membership_id = (
        Membership.objects.filter(user_id=user_id, neighbourhood_id=report.neighbourhood_id)
        .values_list("pk", flat=True)
        .first()
    )
    if membership_id is None:
        raise ConflictError(
            _("This person is no longer a member of this neighbourhood."), code="not_a_member"
        )
    member_suspend(staff=staff, membership_id=membership_id, reason=reason)
    _close(report, staff, Report.Status.ACTIONED)
    return report
