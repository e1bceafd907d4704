"""Who may act for an assisted member, and what the permanence page reads.

``assistance_require`` is the one rule: a volunteer acts for an assisted member only if the
member is still assisted (not taken over, not deleted) and belongs to a neighbourhood the
volunteer runs (``neighbourhoods.selectors.staff_neighbourhood_ids``: the association's staff, or a
superuser). Anything else is the same 404, so a volunteer of another association learns nothing
of the member. Every on-behalf service and every panel page asks it.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from accounts.permissions import consent_current
from assistance.errors import AssistedConsentRequiredError, AssistedMemberNotFoundError
from assistance.models import AssistedAction
from neighbourhoods.models import Membership, Neighbourhood
from neighbourhoods.selectors import Scope, staff_neighbourhood_ids
from pooling.models import Order
from sharing.models import Item, Loan
from sharing.selectors import NearbySearch, items_nearby

# The memberships through which a volunteer may act: a suspended member's page still opens (the
# domains' services refuse what a suspension forbids), a refused or waiting one gives no right.
ASSISTING_STATUSES = (Membership.Status.ACTIVE, Membership.Status.SUSPENDED)


def _in_scope(scope: Scope) -> Exists:
    memberships = Membership.objects.filter(user_id=OuterRef("pk"), status__in=ASSISTING_STATUSES)
    if scope is not None:
        memberships = memberships.filter(neighbourhood_id__in=scope)
    return Exists(memberships)


def assisted_members_for(volunteer: User | AnonymousUser) -> QuerySet[User]:
    """The assisted members ``volunteer`` may act for (none for whoever runs no neighbourhood),
    by name."""
    scope = staff_neighbourhood_ids(volunteer)
    if scope is not None and not scope:
        return User.objects.none()
    return (
        User.objects.filter(is_assisted=True, is_active=True, deleted_at__isnull=True)
        .filter(_in_scope(scope))
        .order_by("display_name", "pk")
    )


def assistance_require(
    volunteer: User | AnonymousUser, member_id: int | str, *, consent: bool = True
) -> User:
    """The assisted member ``member_id`` if ``volunteer`` may act for them, else
    ``AssistedMemberNotFoundError`` (404). With ``consent``, the member's recorded consent must
    cover the documents in force (``consent_required``, 403), as the app asks of everyone."""
    try:
        pk = int(member_id)
    except (TypeError, ValueError):
        raise AssistedMemberNotFoundError() from None
    member = assisted_members_for(volunteer).filter(pk=pk).first()
    if member is None:
        raise AssistedMemberNotFoundError()
    if consent and not consent_current(member):
        raise AssistedConsentRequiredError()
    return member


def assistance_neighbourhoods(volunteer: User | AnonymousUser) -> QuerySet[Neighbourhood]:
    """Where ``volunteer`` may register assisted members: the neighbourhoods they run."""
    scope = staff_neighbourhood_ids(volunteer)
    neighbourhoods = Neighbourhood.objects.select_related("association").order_by("name")
    return neighbourhoods if scope is None else neighbourhoods.filter(pk__in=scope)


def member_neighbourhoods(member: User) -> list[Membership]:
    return list(
        Membership.objects.filter(user=member)
        .select_related("neighbourhood__association")
        .order_by("neighbourhood__name")
    )


def member_items(member: User) -> QuerySet[Item]:
    return (
        Item.objects.filter(owner=member)
        .exclude(status=Item.Status.WITHDRAWN)
        .order_by("-created_at", "-pk")
    )


# Loans still to be acted on, and those closed in the last weeks, on the permanence page.
OPEN_LOANS = ("requested", "accepted", "active", "returned", "disputed")


def member_loans(member: User) -> QuerySet[Loan]:
    return (
        Loan.objects.filter(Q(borrower=member) | Q(lender=member))
        .filter(status__in=OPEN_LOANS)
        .select_related("item", "borrower", "lender")
        .order_by("-created_at", "-pk")
    )


def member_loan(member: User, loan_id: int) -> Loan | None:
    return (
        Loan.objects.filter(Q(borrower=member) | Q(lender=member), pk=loan_id)
        .select_related("item", "borrower", "lender")
        .first()
    )


def member_orders(member: User) -> QuerySet[Order]:
    return (
        Order.objects.filter(resident=member)
        .exclude(status__in=(Order.Status.CANCELLED, Order.Status.RETURNED))
        .prefetch_related("parcels")
        .order_by("-created_at", "-pk")
    )


def member_history(member: User, limit: int = 30) -> QuerySet[AssistedAction]:
    return AssistedAction.objects.filter(member=member).select_related("volunteer")[:limit]


def assisted_items_nearby(
    *,
    member: User,
    minutes: float,
    q: str | None = None,
    category: str | None = None,
    available_from: datetime | None = None,
    available_until: datetime | None = None,
) -> NearbySearch:
    """The items near the member's home, by travel time with the member's walking profile: what
    the app would show them (``sharing.selectors.items_nearby`` with the member as the user)."""
    return items_nearby(
        user=member,
        minutes=minutes,
        profile=member.walking_profile,
        q=q or None,
        category=category or None,
        available_from=available_from,
        available_until=available_until,
    )
