"""Reads of the sharing app."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.gis.geos import Point
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from psycopg.types.range import Range

from accounts.models import User
from backend.replicas import on_replica
from geo.privacy import blurred_point
from geo.selectors import Reachable, reach_radius_m, reachable_snapped, rows_for
from neighbourhoods.models import Membership
from neighbourhoods.selectors import require_active_member, share_a_neighbourhood
from sharing.models import BlockedPeriod, Conversation, Item, ItemPhoto, Loan, PersonBlock
from sharing.services.items import normalize

# Close spellings kept per search word, the closest first.
TYPO_CANDIDATES = 6


def search_words(q: str) -> list[str]:
    """The words of a search that can carry a typo: normalized, three characters or more."""
    return [w for w in re.split(r"[^\w]+|_", normalize(q)) if len(w) >= 3][:8]


def close_spellings(q: str, *, using: str = DEFAULT_DB_ALIAS) -> list[tuple[str, tuple[str, ...]]]:
    """Each word of ``q`` with its close spellings: for a word that no title holds as it is, the
    title words within trigram word similarity (the indexable ``%>`` operator; its threshold,
    ``pg_trgm.word_similarity_threshold``, is set on every database connection in settings).
    A word some title holds is taken as meant. One query on the short list of title words."""
    words = search_words(q)
    if not words:
        return []
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT q.i, CASE
                WHEN EXISTS (SELECT 1 FROM sharing_titleword t WHERE t.word = q.w)
                THEN '{}'::text[]
                ELSE array(
                    SELECT t.word FROM sharing_titleword t
                    WHERE t.word %%> q.w
                    ORDER BY word_similarity(q.w, t.word) DESC, t.word
                    LIMIT %s
                )
            END
            FROM unnest(%s::text[]) WITH ORDINALITY AS q(w, i)
            ORDER BY q.i
            """,
            [TYPO_CANDIDATES, words],
        )
        return [(word, tuple(row[1])) for word, row in zip(words, cursor.fetchall(), strict=True)]


# The items a resident may find (active, of an active member of one of their neighbourhoods, not
# their own, nor of someone either of them blocked) within a radius of a point, as (id, the graph
# it was snapped on, its snapped places, longitude, latitude: geo.snapping), with optional filters
# below. Fixed SQL put together from fixed parts: the ORM took longer to build and compile this
# query than PostgreSQL took to run it. tests/sharing/test_items.py checks it against the same
# rules written with the ORM (items_visible_to, items_available, SearchQuery).
_CANDIDATES_SQL = """
    SELECT i.id, i.snap_graph, i.snap, ST_X(i.location::geometry), ST_Y(i.location::geometry)
    FROM sharing_item i
    WHERE i.status = %(active)s AND i.owner_id <> %(me)s
      AND ST_DWithin(
          i.location, ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)::geography, %(radius)s
      )
      AND EXISTS (
          SELECT 1 FROM sharing_membership m
          WHERE m.user_id = i.owner_id AND m.neighbourhood_id = ANY(%(hoods)s)
            AND m.status = %(member)s
      )
      AND NOT EXISTS (
          SELECT 1 FROM sharing_personblock pb
          WHERE (pb.blocker_id = %(me)s AND pb.blocked_id = i.owner_id)
             OR (pb.blocker_id = i.owner_id AND pb.blocked_id = %(me)s)
      )
"""
_CANDIDATES_TEXT = " AND i.search @@ ({tsquery})"
_CANDIDATES_CATEGORY = " AND i.category = %(category)s"
_CANDIDATES_FREE = """
      AND NOT EXISTS (
          SELECT 1 FROM sharing_loan l
          WHERE l.item_id = i.id AND l.status = ANY(%(holding)s)
            AND l.hold && tstzrange(%(starts)s, %(ends)s, '[)')
      )
      AND NOT EXISTS (
          SELECT 1 FROM sharing_blockedperiod b
          WHERE b.item_id = i.id AND b.period && tstzrange(%(starts)s, %(ends)s, '[)')
      )
"""
_CONFIGS = ("voisinage_fr", "voisinage_en")


def _text_tsquery(q: str, params: dict[str, Any], *, using: str = DEFAULT_DB_ALIAS) -> str:
    """The tsquery of a search, in French and English, accents ignored: the words as written
    (``websearch`` syntax), or every word in one of its close spellings (:func:`close_spellings`),
    so "perseuse" finds "Perceuse à percussion" and the whole filter is answered by the
    full-text index. Values go into ``params``; the SQL holds only placeholders."""
    params["q"] = q
    written = " || ".join(f"websearch_to_tsquery('{c}', %(q)s)" for c in _CONFIGS)
    spellings = close_spellings(q, using=using)
    if not any(group for _word, group in spellings):
        return written
    groups = []
    for g, (word_, group) in enumerate(spellings):
        either = []
        for w, word in enumerate(dict.fromkeys((word_, *group))):
            params[f"w{g}_{w}"] = word
            either += [f"plainto_tsquery('{c}', %(w{g}_{w})s)" for c in _CONFIGS]
        groups.append("(" + " || ".join(either) + ")")
    return f"({written}) || ({' && '.join(groups)})"


def _candidates_sql(
    *,
    user: User,
    neighbourhood_ids: list[int],
    origin: Point,
    radius_m: float,
    q: str | None,
    category: str | None,
    period: tuple[datetime, datetime] | None,
    using: str,
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {
        "active": Item.Status.ACTIVE.value,
        "member": Membership.Status.ACTIVE.value,
        "me": user.pk,
        "hoods": neighbourhood_ids,
        "x": origin.x,
        "y": origin.y,
        "radius": radius_m,
    }
    sql = _CANDIDATES_SQL
    if q:
        sql += _CANDIDATES_TEXT.format(tsquery=_text_tsquery(q, params, using=using))
    if category:
        sql += _CANDIDATES_CATEGORY
        params["category"] = category
    if period is not None:
        sql += _CANDIDATES_FREE
        params.update(holding=list(Loan.HOLDING), starts=period[0], ends=period[1])
    return sql, params


def item_candidates(
    *,
    user: User,
    neighbourhood_ids: list[int],
    origin: Point,
    radius_m: float,
    q: str | None = None,
    category: str | None = None,
    period: tuple[datetime, datetime] | None = None,
) -> list[tuple[int, float, float]]:
    """The items ``user`` may find within ``radius_m`` of ``origin`` (straight line), matching
    the text ``q``, in ``category`` and free for the whole of ``period``: (id, lon, lat).

    Read from the read replica when there is one fit for it (``backend.replicas``): a second of
    lag costs nothing here, and this is the costliest read of a search."""

    def read(using: str) -> list[tuple[int, float, float]]:
        sql, params = _candidates_sql(
            user=user,
            neighbourhood_ids=neighbourhood_ids,
            origin=origin,
            radius_m=radius_m,
            q=q,
            category=category,
            period=period,
            using=using,
        )
        with connections[using].cursor() as cursor:
            cursor.execute(f"SELECT c.id, c.x, c.y FROM ({sql}) AS c(id, g, s, x, y)", params)  # noqa: S608
            return [(row[0], row[1], row[2]) for row in cursor.fetchall()]

    return on_replica(read)


def items_reachable(
    *,
    user: User,
    neighbourhood_ids: list[int],
    origin: Point,
    seconds: float,
    profile: str,
    q: str | None = None,
    category: str | None = None,
    period: tuple[datetime, datetime] | None = None,
) -> Reachable:
    """The items of :func:`item_candidates` reachable from ``origin`` within ``seconds`` with
    ``profile``, sorted by travel time: one statement reads the candidates with their stored
    places on the street network (``geo.snapping``), then one bounded search times them all.
    Read from the replica as :func:`item_candidates` is."""

    def read(using: str) -> Reachable:
        sql, params = _candidates_sql(
            user=user,
            neighbourhood_ids=neighbourhood_ids,
            origin=origin,
            radius_m=reach_radius_m(seconds, profile),
            q=q,
            category=category,
            period=period,
            using=using,
        )
        return reachable_snapped(
            origin=origin, seconds=seconds, profile=profile, using=using, inner=sql, params=params
        )

    return on_replica(read)


def blocked_between(first_id: int, second_id: int) -> bool:
    """Whether either of the two has blocked the other."""
    return PersonBlock.objects.filter(
        Q(blocker_id=first_id, blocked_id=second_id) | Q(blocker_id=second_id, blocked_id=first_id)
    ).exists()


def blocked_user_ids(user_id: int) -> set[int]:
    """The people ``user_id`` blocked or was blocked by."""
    rows = PersonBlock.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id)).values_list(
        "blocker_id", "blocked_id"
    )
    return {b if a == user_id else a for a, b in rows}


def _blocks_with(user_id: int, other: Any) -> Exists:
    return Exists(
        PersonBlock.objects.filter(
            Q(blocker_id=user_id, blocked_id=other) | Q(blocker_id=other, blocked_id=user_id)
        )
    )


def items_visible_to(user: User, neighbourhood_ids: list[int] | None = None) -> QuerySet[Item]:
    """Active items of active members who share a neighbourhood with ``user`` (not their own,
    nor those of a person either of them blocked)."""
    ids = neighbourhood_ids if neighbourhood_ids is not None else require_active_member(user)
    shares = Membership.objects.filter(
        user=OuterRef("owner_id"), neighbourhood_id__in=ids, status=Membership.Status.ACTIVE
    )
    return (
        Item.objects.filter(Exists(shares), status=Item.Status.ACTIVE)
        .exclude(owner=user)
        .exclude(_blocks_with(user.pk, OuterRef("owner_id")))
    )


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
        """The page's items with their owner (one query), then their first photo's small size
        (``thumbnail_name``) and their owners' reliability (``owner_reliability``) in one static
        SQL statement: the ORM took longer to compile those subqueries than PostgreSQL to run
        them."""
        rows = rows_for(self.queryset, self.reachable, offset, offset + limit)
        extras = page_extras([row.pk for row in rows])
        for row in rows:
            thumbnail, asked, answered, avg, n = extras.get(row.pk, (None, 0, 0, None, 0))
            row.thumbnail_name = thumbnail  # type: ignore[attr-defined]
            row.owner_reliability = _reliability(asked, answered, avg, n)  # type: ignore[attr-defined]
        return rows


# The reliability of the person whose id is ``{who}``: loan requests asked (cancelled ones aside)
# and answered (expired ones count as unanswered), average rating and number of ratings. One rule
# for every place that shows it (a page of results, an item's page, wanted matches).
RELIABILITY_JOINS = """
    CROSS JOIN LATERAL (
        SELECT count(*) AS asked,
               count(*) FILTER (WHERE l.status <> ALL(%(unanswered)s)) AS answered
        FROM sharing_loan l
        WHERE l.lender_id = {who} AND l.status <> %(cancelled)s
    ) r
    CROSS JOIN LATERAL (
        SELECT avg(t.score) AS avg, count(*) AS n FROM sharing_rating t WHERE t.ratee_id = {who}
    ) g
"""

_PAGE_EXTRAS_SELECT = """
    SELECT i.id,
        (SELECT p.thumbnail FROM sharing_itemphoto p
         WHERE p.item_id = i.id ORDER BY p.position, p.id LIMIT 1),
        r.asked, r.answered, g.avg, g.n
    FROM sharing_item i
"""
# Fixed SQL, put together once at import (no input in it: the values travel as parameters).
PAGE_EXTRAS_SQL = (
    _PAGE_EXTRAS_SELECT + RELIABILITY_JOINS.format(who="i.owner_id") + " WHERE i.id = ANY(%(ids)s)"
)
RELIABILITY_SQL = (
    "SELECT u.id, r.asked, r.answered, g.avg, g.n FROM unnest(%(ids)s::bigint[]) AS u(id)"  # noqa: S608
    + RELIABILITY_JOINS.format(who="u.id")
)


def _reliability_params(ids: list[int]) -> dict[str, Any]:
    return {
        "ids": ids,
        "cancelled": Loan.Status.CANCELLED.value,
        "unanswered": [Loan.Status.REQUESTED.value, Loan.Status.EXPIRED.value],
    }


def page_extras(item_ids: list[int]) -> dict[int, tuple[str | None, int, int, Any, int]]:
    """Per item: the storage name of its first photo's small size (or None) and its owner's
    loan requests asked and answered, average rating and number of ratings."""
    if not item_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(PAGE_EXTRAS_SQL, _reliability_params(item_ids))
        rows = cursor.fetchall()
    return {row[0]: (row[1] or None, *row[2:]) for row in rows}


def items_nearby(
    *,
    user: User,
    minutes: float,
    profile: str | None = None,
    at: Point | None = None,
    q: str | None = None,
    category: str | None = None,
    available_from: datetime | None = None,
    available_until: datetime | None = None,
) -> NearbySearch:
    """Items sorted by travel time from the resident's home (or ``at``). The origin is blurred
    like every home, so that the answer reveals nothing finer than a cell on either side.
    ``profile`` defaults to the resident's own walking profile."""
    from sharing.services.items import NoHomeError

    ids = require_active_member(user)
    profile = profile or user.walking_profile
    origin = at
    if origin is None:
        if user.home is None:
            raise NoHomeError()
        origin = blurred_point(user.home)
    period = (available_from, available_until) if available_from and available_until else None
    reachable = items_reachable(
        user=user,
        neighbourhood_ids=ids,
        origin=origin,
        seconds=minutes * 60,
        profile=profile,
        q=q,
        category=category,
        period=period,
    )
    return NearbySearch(reachable=reachable, queryset=nearby_page_queryset())


def nearby_page_queryset() -> QuerySet[Item]:
    """The items of a page of results, with their owner (see :meth:`NearbySearch.page`)."""
    return Item.objects.select_related("owner").only(*NEARBY_PAGE_FIELDS)


# What a row of the nearby list shows (NearbyItemSerializer): the rest of the item and of its
# owner (password hash, home, ...) is neither read nor turned into objects.
NEARBY_PAGE_FIELDS = (
    "id",
    "owner_id",
    "title",
    "description",
    "category",
    "condition",
    "deposit_cents",
    "max_loan_days",
    "location",
    "owner__id",
    "owner__display_name",
    "owner__deleted_at",
    "owner__email",
)


def loan_conversation_id(loan: Loan) -> int | None:
    return Conversation.objects.filter(loan=loan).values_list("pk", flat=True).first()


def item_thumbnail_name(item_id: int) -> str | None:
    """The storage name of the item's first photo's small size, if it has a photo."""
    return (
        ItemPhoto.objects.filter(item_id=item_id)
        .order_by("position", "pk")
        .values_list("thumbnail", flat=True)
        .first()
    )


def loans_for(user: User, role: str | None = None, status: str | None = None) -> QuerySet[Loan]:
    qs = Loan.objects.select_related("item", "borrower", "lender").annotate(
        # What each loan of a list shows beside it, in the same query.
        conversation_pk=Subquery(Conversation.objects.filter(loan=OuterRef("pk")).values("pk")[:1]),
        thumbnail_name=Subquery(
            ItemPhoto.objects.filter(item=OuterRef("item_id"))
            .order_by("position", "pk")
            .values("thumbnail")[:1]
        ),
    )
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


def _reliability(asked: int, answered: int, avg: Any, n: int) -> Reliability:
    return Reliability(
        response_rate=round(answered / asked, 2) if asked else None,
        rating=round(float(avg), 1) if avg is not None and n >= 3 else None,
        ratings=n,
    )


def reliability(user_ids: list[int]) -> dict[int, Reliability]:
    """Response rate to loan requests and average rating (shown once three ratings exist), for
    a page of lenders in one query."""
    if not user_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(RELIABILITY_SQL, _reliability_params(user_ids))
        return {row[0]: _reliability(*row[1:]) for row in cursor.fetchall()}


@dataclass(frozen=True)
class TakenPeriod:
    starts_at: datetime
    ends_at: datetime
    kind: str  # "loan" (a loan holds it, with the buffer between loans) or "blocked"


def item_taken_periods(item: Item, starts_at: datetime, ends_at: datetime) -> list[TakenPeriod]:
    """When the item cannot be asked for between ``starts_at`` and ``ends_at``: the loans that
    hold it (their hold, the buffer included) and its blocked periods, in time order. Nobody's
    name: a borrower sees that it is taken, not by whom."""
    window = Range(starts_at, ends_at, "[)")
    held = Loan.objects.filter(item=item, status__in=Loan.HOLDING, hold__overlap=window)
    blocked = BlockedPeriod.objects.filter(item=item, period__overlap=window)
    periods = [TakenPeriod(r.lower, r.upper, "loan") for r in held.values_list("hold", flat=True)]
    periods += [
        TakenPeriod(r.lower, r.upper, "blocked") for r in blocked.values_list("period", flat=True)
    ]
    return sorted(periods, key=lambda p: (p.starts_at, p.ends_at))


@dataclass(frozen=True)
class MemberProfile:
    user: User
    neighbourhoods: list[dict[str, Any]]
    reliability: Reliability | None
    lent: int
    borrowed: int
    items: Sequence[Item]


def member_profile(viewer: User, member_id: int) -> MemberProfile | None:
    """What a neighbour may know of a member: name, the neighbourhoods they share, ratings, how
    many loans, the items they list. No place at all. ``None`` when the two share no
    neighbourhood, or one blocked the other (the same answer as for nobody)."""
    member = User.objects.filter(pk=member_id, is_active=True).first()
    if member is None:
        return None
    if member.pk != viewer.pk and (
        blocked_between(viewer.pk, member.pk) or not share_a_neighbourhood(viewer, member)
    ):
        return None
    shared = (
        Membership.objects.filter(user=member, status=Membership.Status.ACTIVE)
        .filter(
            neighbourhood__memberships__user=viewer,
            neighbourhood__memberships__status=Membership.Status.ACTIVE,
        )
        .values("neighbourhood_id", "neighbourhood__name")
        .order_by("neighbourhood__name")
        .distinct()
    )
    done = ("returned", "closed")
    items = list(
        Item.objects.filter(owner=member, status=Item.Status.ACTIVE)
        .annotate(
            thumbnail_name=Subquery(
                ItemPhoto.objects.filter(item=OuterRef("pk"))
                .order_by("position", "pk")
                .values("thumbnail")[:1]
            )
        )
        .order_by("-created_at")[:50]
    )
    return MemberProfile(
        user=member,
        neighbourhoods=[
            {"id": row["neighbourhood_id"], "name": row["neighbourhood__name"]} for row in shared
        ],
        reliability=reliability([member.pk]).get(member.pk),
        lent=Loan.objects.filter(lender=member, status__in=done).count(),
        borrowed=Loan.objects.filter(borrower=member, status__in=done).count(),
        items=items,
    )


# Loans that went through: the item was handed back (returned, or closed once both agreed).
LOANS_COMPLETED = (Loan.Status.RETURNED, Loan.Status.CLOSED)


def impact_of_person(user: User, *, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """The person's own lending figures for ``GET /me/impact``, in two queries: completed loans
    as borrower and as lender, objects not bought (one per completed borrowing) and the items
    they share now (listed and not withdrawn nor hidden)."""
    loans = (
        Loan.objects.using(using)
        .filter(Q(borrower=user) | Q(lender=user), status__in=LOANS_COMPLETED)
        .aggregate(
            borrowed=Count("pk", filter=Q(borrower=user)),
            lent=Count("pk", filter=Q(lender=user)),
        )
    )
    shared = Item.objects.using(using).filter(owner=user, status=Item.Status.ACTIVE).count()
    return {
        "loans_as_borrower": loans["borrowed"],
        "loans_as_lender": loans["lent"],
        "objects_not_bought": loans["borrowed"],
        "items_shared": shared,
    }
