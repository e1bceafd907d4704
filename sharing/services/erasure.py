"""What lending does when a member deletes their account (RGPD art. 17), in that transaction.

What others need stays, pointing to the pseudonymous "former member": loans, conversations and
their messages, ratings, reports. What was the person's goes or closes: their items are withdrawn
and their photos deleted, requests on their items declined, loans not started cancelled (the other
party is told), wanted requests closed and pending offers withdrawn. An object in their hands or
lent out must come back first: those loans block the deletion.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet

from accounts.models import User
from sharing.models import Item, ItemPhoto, Loan, LoanReminder, PersonBlock, WantedNotice
from sharing.services.loans import loan_cancel_for_suspension, loan_decline
from sharing.services.wanted import wanted_withdraw_for_suspension

# The loans during which an object is with the borrower (or its return is in question).
UNDER_WAY = (Loan.Status.ACTIVE, Loan.Status.RETURNED, Loan.Status.DISPUTED)


def member_loans_under_way(user: User) -> QuerySet[Loan]:
    """The loans that must be settled before ``user`` may delete their account."""
    return (
        Loan.objects.filter(Q(borrower=user) | Q(lender=user), status__in=UNDER_WAY)
        .select_related("item")
        .order_by("pk")
    )


@transaction.atomic
def member_erase(*, user: User) -> list[str]:
    """Closes what ``user`` had going in lending; answers the storage names of the files to
    delete once the transaction has committed."""
    requests_on_items = Loan.objects.filter(lender=user, status=Loan.Status.REQUESTED)
    for loan_id in sorted(requests_on_items.values_list("pk", flat=True)):
        loan_decline(actor=user, loan_id=loan_id)
    not_started = Loan.objects.filter(
        Q(borrower=user) | Q(lender=user),
        status__in=[Loan.Status.REQUESTED, Loan.Status.ACCEPTED],
    )
    for loan_id in sorted(not_started.values_list("pk", flat=True)):
        loan_cancel_for_suspension(loan_id=loan_id, suspended=user)
    wanted_withdraw_for_suspension(user=user)
    # The places they chose to meet (often near their home) go with the home.
    Loan.objects.filter(lender=user).exclude(meeting_point=None).update(
        meeting_point=None, meeting_note=""
    )
    # Blocks either way: nothing of the person is left to block or to be blocked from.
    PersonBlock.objects.filter(Q(blocker=user) | Q(blocked=user)).delete()

    items = Item.objects.select_for_update().filter(owner=user).order_by("pk")
    list(items)  # the lock
    items.exclude(status=Item.Status.WITHDRAWN).update(status=Item.Status.WITHDRAWN)
    files: list[str] = []
    photos = ItemPhoto.objects.filter(item__owner=user)
    for image, thumbnail in photos.values_list("image", "thumbnail"):
        files.extend([image, thumbnail])
    photos.delete()

    LoanReminder.objects.filter(recipient=user).delete()
    WantedNotice.objects.filter(neighbour=user).delete()
    return [name for name in files if name]
