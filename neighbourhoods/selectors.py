"""Who belongs where, and who runs what.

``staff_neighbourhood_ids`` is the one rule for "which neighbourhoods may this person run": the
neighbourhoods of the associations whose ``staff`` they are in, every neighbourhood for a
superuser, none for anybody else. The API's moderation, the planning of deliveries, the settling
of disputes and every list of the admin ask it, and refuse with ``NotStaffError``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Point
from django.db.models import Count, Exists, OuterRef, QuerySet

from accounts.models import User
from neighbourhoods.errors import NotMemberError, NotStaffError, SuspendedError
from neighbourhoods.models import Association, Membership, Neighbourhood

# A scope of neighbourhoods: their ids, or ``None`` for every neighbourhood (a superuser).
Scope = list[int] | None


def staff_neighbourhood_ids(user: User | AnonymousUser) -> Scope:
    """The neighbourhoods ``user`` may run, by id (ascending); ``None`` means all of them."""
    if not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return None
    return list(
        Neighbourhood.objects.filter(association__staff=user)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def in_scope(scope: Scope, neighbourhood_id: int | None) -> bool:
    return scope is None or neighbourhood_id in scope


def staff_require(user: User | AnonymousUser, neighbourhood_id: int | None = None) -> Scope:
    """Refuses (``NotStaffError``) whoever does not run ``neighbourhood_id``, or, without one,
    whoever runs no neighbourhood at all; returns the person's scope."""
    scope = staff_neighbourhood_ids(user)
    allowed = bool(scope) if neighbourhood_id is None else in_scope(scope, neighbourhood_id)
    if scope is not None and not allowed:
        raise NotStaffError()
    return scope


def staff_associations(user: User | AnonymousUser) -> QuerySet[Association]:
    """The associations ``user`` works for (every one for a superuser)."""
    if not user.is_authenticated or not user.is_active:
        return Association.objects.none()
    if user.is_superuser:
        return Association.objects.all()
    return Association.objects.filter(staff=user)


def members_of(scope: Scope, *, user_field: str = "pk") -> Exists:
    """A condition on a user column: the user is (or was) a member of a scoped neighbourhood.

    The one rule for "whose rows belong to these neighbourhoods" when the rows belong to a person
    (loans through their lender, items through their owner, wanted requests through their
    requester): the panel's lists and dashboard ask it, and ``count_per_member_neighbourhood``
    is the same rule grouped by neighbourhood."""
    memberships = Membership.objects.filter(user_id=OuterRef(user_field))
    if scope is not None:
        memberships = memberships.filter(neighbourhood_id__in=scope)
    return Exists(memberships)


def count_per_member_neighbourhood(
    queryset: QuerySet[Any], *, person: str, neighbourhood_ids: list[int], distinct: str = "pk"
) -> dict[int, int]:
    """``members_of``'s rule per neighbourhood: for each of ``neighbourhood_ids``, how many
    distinct ``distinct`` values the rows of ``queryset`` hold whose ``person`` (a relation to
    the user: ``"lender"``, ``"requester"``) is or was a member of it. A person who belongs to two
    neighbourhoods counts in both. Neighbourhoods with no row are left out; one query."""
    key = f"{person}__memberships__neighbourhood_id"
    rows = (
        queryset.filter(**{f"{key}__in": neighbourhood_ids})
        .order_by()
        .values(key)
        .annotate(n=Count(distinct, distinct=True))
        .values_list(key, "n")
    )
    return {int(neighbourhood): int(n) for neighbourhood, n in rows}


def active_neighbourhood_ids(user: User) -> list[int]:
    return list(
        Membership.objects.filter(user=user, status=Membership.Status.ACTIVE).values_list(
            "neighbourhood_id", flat=True
        )
    )


def require_active_member(user: User) -> list[int]:
    """The neighbourhoods where ``user`` is an active member; refuses the suspended
    (``SuspendedError``) and those who belong nowhere (``NotMemberError``)."""
    rows = list(Membership.objects.filter(user=user).values_list("neighbourhood_id", "status"))
    active = [n for n, s in rows if s == Membership.Status.ACTIVE]
    if not active:
        if any(s == Membership.Status.SUSPENDED for _n, s in rows):
            raise SuspendedError()
        raise NotMemberError()
    return active


def share_a_neighbourhood(a: User, b: User) -> bool:
    """Whether ``a`` and ``b`` are both active members of one neighbourhood."""
    return Membership.objects.filter(
        user=b,
        status=Membership.Status.ACTIVE,
        neighbourhood__memberships__user=a,
        neighbourhood__memberships__status=Membership.Status.ACTIVE,
    ).exists()


def memberships_for_staff(staff: User, status: str | None = None) -> QuerySet[Membership]:
    """The memberships of the neighbourhoods ``staff`` runs, newest first; refuses whoever runs
    none."""
    scope = staff_require(staff)
    qs = Membership.objects.select_related("user", "neighbourhood")
    if scope is not None:
        qs = qs.filter(neighbourhood_id__in=scope)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def neighbourhoods_at(point: Point) -> QuerySet[Neighbourhood]:
    """The neighbourhoods whose area covers ``point``, by name."""
    return (
        Neighbourhood.objects.select_related("association")
        .filter(area__intersects=point)
        .order_by("name")
    )


def membership_statuses(user: User) -> dict[int, str]:
    """``user``'s membership status in each neighbourhood they asked to join, by its id."""
    return dict(Membership.objects.filter(user=user).values_list("neighbourhood_id", "status"))
