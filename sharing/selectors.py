"""Reads of the sharing app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Point
from django.contrib.postgres.search import SearchQuery
from django.db.models import Avg, Count, Exists, OuterRef, Prefetch, Q, QuerySet
from psycopg.types.range import Range

from backend.accounts.models import User
from geo.selectors import Reachable, nearby_ids, rows_for
from sharing.models import BlockedPeriod, Item, ItemPhoto, Loan, Membership
from sharing.privacy import blurred_point
from sharing.services.items import normalize
from sharing.services.membership import require_active_member


def text_filtered(qs: QuerySet[Item], q: str) -> QuerySet[Item]:
    """Full text in French and English (accents ignored), or a close spelling of a title word:
    "perseuse" finds "Perceuse à percussion". The trigram test is the indexable ``<%`` operator,
    whose threshold (``pg_trgm.word_similarity_threshold``, 0.45 here) is set on every database
    connection in settings, so PostgreSQL can combine the text and location indexes."""
    query = SearchQuery(q, config="voisinage_fr", search_type="websearch") | SearchQuery(
        q, config="voisinage_en", search_type="websearch"
    )
    return qs.filter(Q(search=query) | Q(title_norm__trigram_word_similar=normalize(q)))


def items_visible_to(user: User, neighbourhood_ids: list[int] | None = None) -> QuerySet[Item]:
    """Active items of active members who share a neighbourhood with ``user`` (not their own)."""
    ids = neighbourhood_ids if neighbourhood_ids is not None else require_active_member(user)
    shares = Membership.objects.filter(
        user=OuterRef("owner_id"), neighbourhood_id__in=ids, status=Membership.Status.ACTIVE
    )
    return Item.objects.filter(Exists(shares), status=Item.Status.ACTIVE).exclude(owner=user)


def items_available(qs: QuerySet[Item], starts_at: datetime, ends_at: datetime) -> QuerySet[Item]:
    period = Range(starts_at, ends_at, "[)")
    held = Loan.objects.filter(item=OuterRef("pk"), status__in=Loan.HOLDING, hold__overlap=period)
    blocked = BlockedPeriod.objects.filter(item=OuterRef("pk"), period__overlap=period)
    return qs.filter(~Exists(held), ~Exists(blocked))


@dataclass(frozen=True)
class NearbySearch:
    reachable: Reachable
    queryset: QuerySet[Item]

    def page(self, offset: int, limit: int) -> list[Item]:
        return rows_for(self.queryset, self.reachable, offset, offset + limit)


def items_nearby(
    *,
    user: User,
    minutes: float,
    profile: str = "walk",
    at: Point | None = None,
    q: str | None = None,
    category: str | None = None,
    available_from: datetime | None = None,
    available_until: datetime | None = None,
) -> NearbySearch:
    """Items sorted by travel time from the resident's home (or ``at``). The origin is blurred
    like every home, so that the answer reveals nothing finer than a cell on either side."""
    from sharing.services.items import NoHomeError

    ids = require_active_member(user)
    origin = at
    if origin is None:
        if user.home is None:
            raise NoHomeError()
        origin = blurred_point(user.home)
    qs = items_visible_to(user, ids)
    if q:
        qs = text_filtered(qs, q)
    if category:
        qs = qs.filter(category=category)
    if available_from and available_until:
        qs = items_available(qs, available_from, available_until)
    reachable = nearby_ids(
        origin=origin, seconds=minutes * 60, profile=profile, queryset=qs, field="location"
    )
    page_qs = Item.objects.select_related("owner").prefetch_related(
        Prefetch("photos", queryset=ItemPhoto.objects.order_by("position"))
    )
    return NearbySearch(reachable=reachable, queryset=page_qs)


def loans_for(user: User, role: str | None = None, status: str | None = None) -> QuerySet[Loan]:
    qs = Loan.objects.select_related("item", "borrower", "lender")
    if role == "borrower":
        qs = qs.filter(borrower=user)
    elif role == "lender":
        qs = qs.filter(lender=user)
    else:
        qs = qs.filter(Q(borrower=user) | Q(lender=user))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at")


@dataclass(frozen=True)
class Reliability:
    response_rate: float | None
    rating: float | None
    ratings: int


def reliability(user_ids: list[int]) -> dict[int, Reliability]:
    """Response rate to loan requests and average rating (shown once three ratings exist)."""
    from sharing.models import Rating

    answered = dict(
        Loan.objects.filter(lender_id__in=user_ids)
        .exclude(status__in=[Loan.Status.CANCELLED])
        .values_list("lender_id")
        .annotate(
            n=Count("pk", filter=~Q(status__in=[Loan.Status.REQUESTED, Loan.Status.EXPIRED])),
        )
        .values_list("lender_id", "n")
    )
    asked = dict(
        Loan.objects.filter(lender_id__in=user_ids)
        .exclude(status__in=[Loan.Status.CANCELLED])
        .values_list("lender_id")
        .annotate(n=Count("pk"))
        .values_list("lender_id", "n")
    )
    ratings = {
        row["ratee_id"]: (row["avg"], row["n"])
        for row in Rating.objects.filter(ratee_id__in=user_ids)
        .values("ratee_id")
        .annotate(avg=Avg("score"), n=Count("pk"))
    }
    out = {}
    for uid in user_ids:
        n_asked = asked.get(uid, 0)
        avg, n = ratings.get(uid, (None, 0))
        answered_rate = None
        if n_asked:
            # Expired requests count as unanswered.
            answered_rate = round(answered.get(uid, 0) / n_asked, 2)
        out[uid] = Reliability(
            response_rate=answered_rate,
            rating=round(avg, 1) if avg is not None and n >= 3 else None,
            ratings=n,
        )
    return out
