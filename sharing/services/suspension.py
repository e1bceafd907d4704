"""What a suspension does to lending, in the suspension's transaction.

``neighbourhoods`` marks the membership suspended; here, once the person is active in no
neighbourhood any more, their items are hidden, their loans that have not started are cancelled
(the other party is told), their open wanted requests end and their pending offers are withdrawn.
Loans under way continue: the item must come back. Then the member hears of it, with the reason.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from accounts.models import User
from neighbourhoods.models import Membership
from neighbourhoods.services import membership_decision_tell, membership_suspend
from sharing.models import Item, Loan
from sharing.services.loans import loan_cancel_for_suspension
from sharing.services.wanted import wanted_withdraw_for_suspension


@transaction.atomic
def member_suspend(*, staff: User, membership_id: int, reason: str) -> Membership:
    membership = membership_suspend(staff=staff, membership_id=membership_id, reason=reason)
    user = membership.user
    if not Membership.objects.filter(user=user, status=Membership.Status.ACTIVE).exists():
        Item.objects.filter(owner=user, status=Item.Status.ACTIVE).update(status=Item.Status.HIDDEN)
        open_loans = Loan.objects.filter(
            Q(borrower=user) | Q(lender=user),
            status__in=[Loan.Status.REQUESTED, Loan.Status.ACCEPTED],
        ).values_list("pk", flat=True)
        for loan_id in sorted(open_loans):
            loan_cancel_for_suspension(loan_id=loan_id, suspended=user)
        wanted_withdraw_for_suspension(user=user)
    membership_decision_tell(membership, membership.suspended_reason)
    return membership
