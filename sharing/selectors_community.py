"""Reads of the community side of sharing: wanted requests and their matches, inboxes,
conversations, moderation queues. (Items and loans are read in ``sharing/selectors.py``.)

Matching a wanted request: the requester's visible items whose text matches the request's title
(as a whole, or else any of its meaningful words) and category, free for its period, timed on
the street graph from the request's blurred place within its walking budget, then ranked by a
score that mixes three parts in [0, 1]:

    score = 0.5 * nearness + 0.3 * relevance + 0.2 * trust

- nearness: 1 at the door, 0 at the edge of the budget (``1 - seconds / budget``);
- relevance: the better of the title's trigram word similarity and the full-text rank
  (``ts_rank`` normalised to ``rank / (rank + 1)``, doubled and capped at 1);
- trust: the mean of the lender's response rate and of their average rating mapped to [0, 1]
  (shown once three exist), 0.5 for a lender we know nothing about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from accounts.models import User
from backend.errors import NotFoundError
from geo.graph import network_for_point
from geo.privacy import blurred_point
from geo.profiles import get_profile
from geo.selectors import Reachable
from neighbourhoods.models import Membership
from neighbourhoods.selectors import require_active_member, share_a_neighbourhood, staff_require
from sharing.models import (
    Conversation,
    Item,
    ItemPhoto,
    Message,
    Offer,
    Rating,
    Report,
    WantedRequest,
)
from sharing.selectors import Reliability, blocked_user_ids, items_reachable, reliability
from sharing.services.items import normalize

WEIGHT_NEARNESS = 0.5
WEIGHT_RELEVANCE = 0.3
WEIGHT_TRUST = 0.2
NEUTRAL_TRUST = 0.5
# The nearest this many reachable items are ranked; farther ones cannot make the first rounds.
MATCH_CANDIDATES = 200


@dataclass(frozen=True)
class Match:
    item: Item  # with ``travel_seconds`` set, as NearbyItemSerializer wants it
    seconds: float
    relevance: float
    trust: float
    score: float


@dataclass(frozen=True)
class Matches:
    rows: list[Match]
    reliability: dict[int, Reliability]


def _search_query(text: str) -> SearchQuery:
    return SearchQuery(text, config="voisinage_fr", search_type="websearch") | SearchQuery(
        text, config="voisinage_en", search_type="websearch"
    )


def trust_of(rel: Reliability | None) -> float:
    parts = []
    if rel is not None and rel.response_rate is not None:
        parts.append(float(rel.response_rate))
    if rel is not None and rel.rating is not None:
        parts.append((float(rel.rating) - 1.0) / 4.0)
    return sum(parts) / len(parts) if parts else NEUTRAL_TRUST


def relevance_of(rank: float | None, similarity: float | None) -> float:
    rank = float(rank or 0.0)
    return max(float(similarity or 0.0), min(1.0, 2.0 * rank / (1.0 + rank)))


def any_word_query(title: str) -> str | None:
    """``title``'s meaningful words joined by ``or`` (websearch syntax), or None when it has
    fewer than two. Words that are stop words in French or in English are left out: the English
    half of each item's search vector holds French descriptions, where "pour" or "avec" are
    everywhere."""
    words = list(dict.fromkeys(w for w in re.findall(r"\w+", title.lower()) if len(w) >= 3))
    if len(words) < 2:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w FROM unnest(%s::text[]) WITH ORDINALITY AS t(w, n) "
            "WHERE numnode(plainto_tsquery('voisinage_fr', w)) > 0 "
            "AND numnode(plainto_tsquery('voisinage_en', w)) > 0 ORDER BY n",
            [words],
        )
        kept = [row[0] for row in cursor.fetchall()]
    return " or ".join(kept) if len(kept) >= 2 else None


def wanted_matches(wanted: WantedRequest, *, neighbourhood_ids: list[int] | None = None) -> Matches:
    """The items that could meet ``wanted``, best first (see the module's docstring).

    The title is matched as the nearby search matches ``q`` (every word, or a close spelling).
    People write requests as sentences ("Une perceuse pour samedi"): when the whole title finds
    nothing in reach, any of its meaningful words will do, and the rank sorts them out.
    """
    requester = wanted.requester
    ids = neighbourhood_ids if neighbourhood_ids is not None else require_active_member(requester)
    budget = float(wanted.minutes * 60)

    def reachable_for(text: str) -> Reachable:
        return items_reachable(
            user=requester,
            neighbourhood_ids=ids,
            origin=wanted.location,
            seconds=budget,
            profile=wanted.profile,
            q=text,
            category=wanted.category or None,
            period=(wanted.period.lower, wanted.period.upper),
        )

    text = wanted.title
    reachable = reachable_for(text)
    if not reachable.pks:
        loose = any_word_query(wanted.title)
        if loose is not None:
            text = loose
            reachable = reachable_for(text)
    pks = reachable.pks[:MATCH_CANDIDATES]
    if not pks:
        return Matches(rows=[], reliability={})
    seconds = reachable.seconds[:MATCH_CANDIDATES].tolist()
    rows = (
        Item.objects.annotate(
            rank=SearchRank(F("search"), _search_query(text)),
            similarity=TrigramWordSimilarity(normalize(wanted.title), "title_norm"),
        )
        .select_related("owner")
        .prefetch_related(Prefetch("photos", queryset=ItemPhoto.objects.order_by("position")))
        .in_bulk(pks)
    )
    rel = reliability(sorted({row.owner_id for row in rows.values()}))
    blocked = blocked_user_ids(wanted.requester_id)
    out = []
    for pk, sec in zip(pks, seconds, strict=True):
        item = rows.get(pk)
        if item is None or item.owner_id in blocked:
            continue
        photos = list(item.photos.all())  # prefetched, in position order
        item.thumbnail_name = photos[0].thumbnail.name if photos else None  # type: ignore[attr-defined]
        item.travel_seconds = sec  # type: ignore[attr-defined]
        relevance = relevance_of(item.rank, item.similarity)
        trust = trust_of(rel.get(item.owner_id))
        nearness = max(0.0, 1.0 - sec / budget)
        score = WEIGHT_NEARNESS * nearness + WEIGHT_RELEVANCE * relevance + WEIGHT_TRUST * trust
        out.append(
            Match(item=item, seconds=sec, relevance=relevance, trust=trust, score=round(score, 6))
        )
    out.sort(key=lambda m: (-m.score, m.seconds, m.item.pk))
    return Matches(rows=out, reliability=rel)


def seconds_to_points(
    *, origin: Point, points: list[Point], seconds: float, profile: str
) -> list[float | None]:
    """Travel seconds from ``origin`` to each of ``points`` (None beyond ``seconds`` or off the
    graph): one bounded search, as ``geo.selectors.nearby_ids`` does for rows of a table."""
    if not points:
        return []
    prof = get_profile(profile)
    net = network_for_point(origin.x, origin.y)
    start = net.snap(origin.x, origin.y, prof)
    budget = prof.effective_m(seconds)
    snaps = net.snap_many(np.array([p.x for p in points]), np.array([p.y for p in points]), prof)
    search = net.search(start, prof, limit_m=budget - start.approach_m)
    eff = net.costs_to(search, snaps, prof) + snaps.approach_m + start.approach_m
    return [float(prof.seconds(e)) if e <= budget else None for e in eff.tolist()]


def ask_me_too_candidates(
    wanted: WantedRequest, *, neighbourhood_ids: list[int], exclude_user_ids: set[int]
) -> list[tuple[User, float]]:
    """Active members who opted in to "ask me too" in a neighbourhood they share with the
    requester, within the walking budget from their blurred home, nearest first."""
    from django.conf import settings

    budget = float(wanted.minutes * 60)
    # Straight-line prefilter on the exact home, widened by a cell's diagonal (a blurred home is
    # at most that far from the home), then timed from the blurred home only.
    radius = get_profile(wanted.profile).effective_m(budget) + settings.SHARING_BLUR_CELL_M * 1.5
    opted_in = Membership.objects.filter(
        user=OuterRef("pk"),
        neighbourhood_id__in=neighbourhood_ids,
        status=Membership.Status.ACTIVE,
        ask_me_too=True,
    )
    users = list(
        User.objects.filter(
            Exists(opted_in),
            is_active=True,
            home__isnull=False,
            home__dwithin=(wanted.location, D(m=radius)),
        )
        .exclude(pk__in=exclude_user_ids | {wanted.requester_id})
        .order_by("pk")
    )
    blurred = [blurred_point(u.home) for u in users if u.home is not None]
    times = seconds_to_points(
        origin=wanted.location, points=blurred, seconds=budget, profile=wanted.profile
    )
    found = [(u, t) for u, t in zip(users, times, strict=True) if t is not None]
    found.sort(key=lambda pair: (pair[1], pair[0].pk))
    return found


# --- wanted requests, as people see them ----------------------------------------------------


def wanted_mine(user: User, status: str | None = None) -> QuerySet[WantedRequest]:
    offers = Offer.objects.select_related("lender", "item", "conversation", "loan").order_by(
        "created_at", "pk"
    )
    qs = (
        WantedRequest.objects.filter(requester=user)
        .annotate(notified_count=Count("notices"))
        .prefetch_related(Prefetch("offers", queryset=offers))
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def wanted_inbox(user: User) -> QuerySet[WantedRequest]:
    """The requests ``user`` was told about, with what they were told (item, travel time) and
    the offers they made."""
    return (
        WantedRequest.objects.annotate(
            mine=FilteredRelation("notices", condition=Q(notices__neighbour=user))
        )
        .filter(mine__isnull=False)
        .annotate(
            notice_seconds=F("mine__travel_seconds"),
            notice_item_id=F("mine__item_id"),
            notified_at=F("mine__created_at"),
        )
        .select_related("requester")
        .prefetch_related(
            Prefetch(
                "offers",
                queryset=Offer.objects.filter(lender=user).order_by("created_at", "pk"),
                to_attr="my_offers",
            )
        )
        .order_by("-notified_at", "-pk")
    )


def wanted_for(user: User, wanted_id: int) -> WantedRequest:
    """A wanted request as ``user`` may see it: theirs, one they were told about, or one of a
    neighbour who shares an active neighbourhood with them. Anything else is not found."""
    wanted = wanted_mine(user).filter(pk=wanted_id).first()
    if wanted is not None:
        return wanted
    wanted = WantedRequest.objects.select_related("requester").filter(pk=wanted_id).first()
    if wanted is None:
        raise NotFoundError()
    notified = wanted.notices.filter(neighbour=user).first()
    if notified is None and not share_a_neighbourhood(user, wanted.requester):
        raise NotFoundError()
    wanted.notice_seconds = notified.travel_seconds if notified else None  # type: ignore[attr-defined]
    wanted.notice_item_id = notified.item_id if notified else None  # type: ignore[attr-defined]
    wanted.my_offers = list(wanted.offers.filter(lender=user).order_by("created_at", "pk"))  # type: ignore[attr-defined]
    return wanted


# --- conversations --------------------------------------------------------------------------


def conversations_for(user: User) -> QuerySet[Conversation]:
    """``user``'s conversations, the most recent first, each with its last visible message."""
    last = Message.objects.filter(conversation=OuterRef("pk"), hidden=False).order_by(
        "-created_at", "-pk"
    )
    return (
        Conversation.objects.filter(Q(first=user) | Q(second=user))
        .select_related("first", "second", "loan__item", "offer__item", "offer__wanted")
        .annotate(
            last_id=Subquery(last.values("pk")[:1]),
            last_body=Subquery(last.values("body")[:1]),
            last_sender_id=Subquery(last.values("sender_id")[:1]),
            last_at=Subquery(last.values("created_at")[:1]),
            activity=Coalesce("last_message_at", "created_at"),
        )
        .order_by("-activity", "-pk")
    )


def messages_for(conversation: Conversation) -> QuerySet[Message]:
    """The visible messages of a conversation, the newest first."""
    return (
        Message.objects.filter(conversation=conversation, hidden=False)
        .select_related("sender")
        .order_by("-created_at", "-pk")
    )


# --- moderation -----------------------------------------------------------------------------


def reports_for_staff(staff: User, status: str | None = None) -> QuerySet[Report]:
    """The reports of the neighbourhoods ``staff`` runs; refuses whoever runs none."""
    scope = staff_require(staff)
    qs = Report.objects.select_related(
        "reporter", "item__owner", "message__sender", "member", "neighbourhood"
    )
    if scope is not None:
        qs = qs.filter(neighbourhood_id__in=scope)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def display_name(user: Any) -> str:
    return user.public_name


def ratings_for(user: User, role: str = "received") -> QuerySet[Rating]:
    """Ratings about ``user`` (received) or by them (given), newest first. Others never list a
    person's ratings: they see the average once three exist."""
    field = "rater" if role == "given" else "ratee"
    return (
        Rating.objects.filter(**{field: user})
        .select_related("rater", "ratee", "loan__item")
        .order_by("-created_at", "-pk")
    )
