"""Reads of the sharing app."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.gis.geos import Point
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)
from psycopg.types.range import Range

from backend.accounts.models import User
from geo.selectors import Reachable, nearby_ids, rows_for
from sharing.models import BlockedPeriod, Item, Loan, Membership
from sharing.privacy import blurred_point
from sharing.services.items import normalize
from sharing.services.membership import require_active_member

# Close spellings kept per search word, the closest first.
TYPO_CANDIDATES = 6


def search_words(q: str) -> list[str]:
    """The words of a search that can carry a typo: normalized, three characters or more."""
    return [w for w in re.split(r"[^\w]+|_", normalize(q)) if len(w) >= 3][:8]


def close_spellings(q: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each word of ``q`` with its close spellings: for a word that no title holds as it is, the
    title words within trigram word similarity (the indexable ``%>`` operator; its threshold,
    ``pg_trgm.word_similarity_threshold``, is set on every database connection in settings).
    A word some title holds is taken as meant. One query on the short list of title words."""
    words = search_words(q)
    if not words:
        return []
    with connection.cursor() as cursor:
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


def text_filtered(qs: QuerySet[Item], q: str) -> QuerySet[Item]:
    """Full text in French and English (accents ignored), or close spellings of title words:
    "perseuse" finds "Perceuse à percussion". Each search word is widened to the title words
    that look like it (:func:`close_spellings`), and every word (or one of its close spellings)
    must match, so the whole filter is answered by the full-text index."""
    query = SearchQuery(q, config="voisinage_fr", search_type="websearch") | SearchQuery(
        q, config="voisinage_en", search_type="websearch"
    )
    spellings = close_spellings(q)
    if not any(group for _word, group in spellings):
        return qs.filter(search=query)
    typo: SearchQuery | None = None
    for word_, group in spellings:
        either: SearchQuery | None = None
        for word in dict.fromkeys((word_, *group)):
            for config in ("voisinage_fr", "voisinage_en"):
                one = SearchQuery(word, config=config, search_type="plain")
                either = one if either is None else either | one
        typo = either if typo is None else typo & either
    return qs.filter(search=query | typo)


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
        """The page's items with their owner (one query), then their photos (``photos_data``)
        and their owners' reliability (``owner_reliability``) in one static SQL statement: the
        ORM took longer to compile those subqueries than PostgreSQL to run them."""
        rows = rows_for(self.queryset, self.reachable, offset, offset + limit)
        extras = page_extras([row.pk for row in rows])
        for row in rows:
            photos, asked, answered, avg, n = extras.get(row.pk, ([], 0, 0, None, 0))
            row.photos_data = photos  # type: ignore[attr-defined]
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
        COALESCE(
            (SELECT jsonb_agg(
                jsonb_build_object(
                    'id', p.id, 'image', p.image, 'thumbnail', p.thumbnail,
                    'width', p.width, 'height', p.height, 'position', p.position
                ) ORDER BY p.position, p.id)
             FROM sharing_itemphoto p WHERE p.item_id = i.id),
            '[]'::jsonb
        ),
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


def page_extras(item_ids: list[int]) -> dict[int, tuple[list[dict[str, Any]], int, int, Any, int]]:
    """Per item: its photos (as :class:`PhotoSerializer` fields, in order) and its owner's loan
    requests asked and answered, average rating and number of ratings."""
    if not item_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(PAGE_EXTRAS_SQL, _reliability_params(item_ids))
        rows = cursor.fetchall()
    # Django has psycopg hand jsonb over as text (its JSONField decodes it).
    return {
        row[0]: (json.loads(row[1]) if isinstance(row[1], str) else row[1], *row[2:])
        for row in rows
    }


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
    return NearbySearch(reachable=reachable, queryset=nearby_page_queryset())


def nearby_page_queryset() -> QuerySet[Item]:
    """The items of a page of results, with their owner (see :meth:`NearbySearch.page`)."""
    return Item.objects.select_related("owner").defer("search")


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
