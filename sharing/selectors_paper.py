"""Reads behind the association's paper: the items a noticeboard sheet lists, the loans a member's
sheet shows, and the items found again by the short code printed beside them
(``sharing/codes.py``)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Point
from django.db.models import Exists, OuterRef, Q

from accounts.models import User
from geo.selectors import nearby_by_travel_time
from neighbourhoods.models import Membership
from neighbourhoods.selectors import staff_neighbourhood_ids
from sharing.models import Item, Loan

# Loans a member still has to do something about: asked, promised, in hand, handed back and
# waiting for the lender's word, or in dispute.
LOANS_UNDER_WAY = (
    Loan.Status.REQUESTED,
    Loan.Status.ACCEPTED,
    Loan.Status.ACTIVE,
    Loan.Status.RETURNED,
    Loan.Status.DISPUTED,
)

# What a noticeboard's line shows of an item and its owner (the owner's name only: no place).
NOTICEBOARD_FIELDS = (
    "id",
    "code",
    "title",
    "category",
    "location",
    "owner_id",
    "owner__id",
    "owner__display_name",
    "owner__email",
    "owner__deleted_at",
)


def noticeboard_items(
    *, neighbourhood_id: int, origin: Point, minutes: int, profile: str
) -> list[Item]:
    """The active items of the neighbourhood's active members that are within ``minutes`` of
    ``origin`` for ``profile``, nearest first, each with ``travel_seconds``. An item's place is
    the centre of its owner's blur cell (``geo.privacy``): the time is counted to it, never to a
    home."""
    members = Membership.objects.filter(
        user=OuterRef("owner_id"),
        neighbourhood_id=neighbourhood_id,
        status=Membership.Status.ACTIVE,
    )
    queryset = (
        Item.objects.filter(Exists(members), status=Item.Status.ACTIVE, owner__is_active=True)
        .select_related("owner")
        .only(*NOTICEBOARD_FIELDS)
    )
    return nearby_by_travel_time(
        origin=origin, seconds=minutes * 60, profile=profile, queryset=queryset
    )


def loans_under_way(user: User) -> list[Loan]:
    """``user``'s loans as borrower and as lender that are not over, in the order they start."""
    return list(
        Loan.objects.filter(Q(borrower=user) | Q(lender=user), status__in=LOANS_UNDER_WAY)
        .select_related("item", "borrower", "lender")
        .order_by("period", "pk")
    )


def item_code_for_staff(user: User | AnonymousUser, code: str) -> int | None:
    """The id of the item of ``code`` when ``user`` runs a neighbourhood its owner belongs to
    (the panel's rule for items, ``panel.scoping``); ``None`` otherwise."""
    scope = staff_neighbourhood_ids(user)
    if scope == [] or not getattr(user, "is_staff", False):
        return None
    items = Item.objects.filter(code=code)
    if scope is not None:
        members = Membership.objects.filter(user=OuterRef("owner_id"), neighbourhood_id__in=scope)
        items = items.filter(Exists(members))
    return items.values_list("pk", flat=True).first()
