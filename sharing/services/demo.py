"""The sharing demo: an association, a neighbourhood over central Helsinki, about thirty
residents, two hundred listings, loans in every state, ratings, conversations, a report and
open wanted requests.

Everything goes through the services (``item_create``, ``loan_request``, ``loan_accept``, …), so
the data obeys the same rules as real data and the residents receive the same events. Two
things the services cannot do are written directly, and only here: a loan's dates are moved
into the past once it has run its course (a real loan takes days to get there), and a request
is made to expire (its deadline moved, then ``loans_expire`` runs).

Idempotent: what exists (a resident by email, an item by owner and title, a loan by its item,
an open wanted request by requester and title, …) is left alone, whatever else the database
holds (the pooling demo's residents, real ones); deterministic: one
``random.Random(seed)`` draws everything in a fixed order.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from psycopg.types.range import Range

from accounts.demo import DEMO_ADMIN_EMAIL, DEMO_EMAIL_DOMAIN, DEMO_PASSWORD, DEMO_RESIDENTS
from accounts.models import User
from accounts.services import demo_users_seed, user_create
from geo.graph import get_network
from geo.profiles import get_profile
from neighbourhoods.models import Association, Membership, Neighbourhood
from neighbourhoods.services import demo_volunteer_seed
from sharing.models import (
    Conversation,
    Item,
    Loan,
    Offer,
    Rating,
    Report,
    WantedNotice,
    WantedRequest,
)
from sharing.services import loans as loan_services
from sharing.services.conversations import message_send
from sharing.services.demo_catalogue import CATALOGUE, EXTRA_RESIDENTS, WANTED
from sharing.services.items import item_create
from sharing.services.trust import rating_create, report_create
from sharing.services.wanted import offer_create, wanted_create

ASSOCIATION_NAME = "Association Voisins de Kamppi"
NEIGHBOURHOOD_NAME = "Kamppi et centre-ville"
NEIGHBOURHOOD_BBOX = (24.90, 60.150, 24.98, 60.190)
# Where the added residents live: central Helsinki, on the demo street graph.
HOMES_BBOX = (24.925, 60.158, 24.960, 60.176)
PENDING_EMAIL = f"gabriel@{DEMO_EMAIL_DOMAIN}"  # waits for the association's approval
DEFAULT_SEED = 2026

# How many loans the demo has in each state.
LOAN_PLAN: list[tuple[str, int]] = [
    ("requested", 4),
    ("accepted", 3),
    ("declined", 2),
    ("cancelled", 2),
    ("expired", 2),
    ("active", 3),
    ("returned", 2),
    ("closed", 5),
    ("disputed", 1),
]


@dataclass
class DemoSharingResult:
    residents: int = 0
    residents_created: int = 0
    items: int = 0
    items_created: int = 0
    loans_created: int = 0
    loans_by_status: dict[str, int] = field(default_factory=dict)
    ratings: int = 0
    wanted_open: int = 0


def _homes_on_graph(rng: random.Random, count: int) -> list[Point]:
    """Points drawn in central Helsinki and moved onto the nearest walkable way."""
    net = get_network()
    prof = get_profile("walk")
    lon0, lat0, lon1, lat1 = HOMES_BBOX
    homes: list[Point] = []
    while len(homes) < count:
        lon, lat = rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)
        snaps = net.snap_many(np.array([lon]), np.array([lat]), prof)
        if snaps.edge[0] < 0:
            continue
        x, y = net.snapped_point(snaps.one())
        (plon, plat) = net.proj.inverse_coords(np.array([[x, y]]))[0]
        homes.append(Point(round(float(plon), 6), round(float(plat), 6), srid=settings.GEO_SRID))
    return homes


def _on_graph(users: list[User]) -> list[User]:
    """The residents whose home the walking graph reaches (the others can borrow, but their
    listings could never be found by walking time)."""
    net = get_network()
    placed = [(u, u.home) for u in users if u.home is not None]
    snaps = net.snap_many(
        np.array([home.x for _u, home in placed]),
        np.array([home.y for _u, home in placed]),
        get_profile("walk"),
    )
    return [u for (u, _h), edge in zip(placed, snaps.edge.tolist(), strict=True) if edge >= 0]


def _residents(rng: random.Random) -> tuple[list[User], User | None, int]:
    """The demo residents (ten from ``seed_demo``, twenty more here), each with a home; and how
    many were created."""
    created = len([e for e in demo_users_seed().created if e != DEMO_ADMIN_EMAIL])
    homes = _homes_on_graph(rng, len(EXTRA_RESIDENTS))
    for (first, display), home in zip(EXTRA_RESIDENTS, homes, strict=True):
        email = f"{first}@{DEMO_EMAIL_DOMAIN}"
        if not User.objects.filter(email=email).exists():
            user_create(
                email=email,
                password=DEMO_PASSWORD,
                display_name=display,
                home=home,
                home_address="Helsinki",
                email_verified=True,
                documents_accepted=True,
            )
            created += 1
    # This demo's own residents only, whatever else lives in the database (the pooling demo adds
    # residents of the same domain): the draws below stay the same from one run to the next.
    emails = [r.email for r in DEMO_RESIDENTS] + [
        f"{first}@{DEMO_EMAIL_DOMAIN}" for first, _display in EXTRA_RESIDENTS
    ]
    users = list(User.objects.filter(email__in=emails, home__isnull=False).order_by("email"))
    pending = next((u for u in users if u.email == PENDING_EMAIL), None)
    return [u for u in users if u.email != PENDING_EMAIL], pending, created


def _place() -> tuple[Neighbourhood, User]:
    admin = User.objects.get(email=DEMO_ADMIN_EMAIL)
    association, _ = Association.objects.get_or_create(
        name=ASSOCIATION_NAME, defaults={"slug": slugify(ASSOCIATION_NAME)}
    )
    association.staff.add(admin)
    demo_volunteer_seed(association=association)
    neighbourhood, _ = Neighbourhood.objects.get_or_create(
        association=association,
        name=NEIGHBOURHOOD_NAME,
        defaults={
            "area": MultiPolygon(Polygon.from_bbox(NEIGHBOURHOOD_BBOX), srid=settings.GEO_SRID),
            "join_policy": Neighbourhood.JoinPolicy.APPROVAL,
        },
    )
    return neighbourhood, admin


def _memberships(
    neighbourhood: Neighbourhood, residents: list[User], pending: User | None, admin: User
) -> None:
    now = timezone.now()
    for i, user in enumerate(residents):
        Membership.objects.get_or_create(
            user=user,
            neighbourhood=neighbourhood,
            defaults={
                "status": Membership.Status.ACTIVE,
                "ask_me_too": i % 4 == 0,
                "decided_by": admin,
                "decided_at": now,
            },
        )
    if pending is not None:
        Membership.objects.get_or_create(user=pending, neighbourhood=neighbourhood)


def _items(rng: random.Random, lenders: list[User]) -> tuple[list[Item], int]:
    listings = [
        (category, title, description)
        for category, rows in CATALOGUE.items()
        for title, description in rows
    ]
    rng.shuffle(listings)
    existing = {
        (owner_id, title): pk
        for pk, owner_id, title in Item.objects.filter(owner__in=lenders).values_list(
            "pk", "owner_id", "title"
        )
    }
    items: list[int] = []
    created = 0
    for i, (category, title, description) in enumerate(listings):
        owner = lenders[i % len(lenders)]
        condition = rng.choice(["new", "good", "good", "fair", "worn"])
        deposit = rng.choice([0, 0, 0, 2000, 5000, 10000])
        max_days = rng.choice([3, 7, 7, 14])
        pk = existing.get((owner.pk, title))
        if pk is None:
            pk = item_create(
                owner=owner,
                title=title,
                description=description,
                category=category,
                condition=condition,
                deposit_cents=deposit,
                max_loan_days=max_days,
            ).pk
            created += 1
        items.append(pk)
    rows = Item.objects.select_related("owner").in_bulk(items)
    return [rows[pk] for pk in items], created


def _move(loan: Loan, start: datetime, end: datetime) -> None:
    """Moves a loan's dates (the demo only: a loan that has run its course)."""
    buffer = timedelta(hours=float(settings.SHARING_LOAN_BUFFER_HOURS))
    Loan.objects.filter(pk=loan.pk).update(
        period=Range(start, end, "[)"), hold=Range(start - buffer, end + buffer, "[)")
    )


def _loan(state: str, k: int, item: Item, borrower: User, now: datetime) -> Loan:
    s = loan_services
    lender = item.owner
    soon = state in ("active", "returned", "closed", "disputed")
    start = now + (timedelta(hours=2) if soon else timedelta(days=3 + k, hours=2 * k))
    loan = s.loan_request(
        borrower=borrower,
        item_id=item.pk,
        starts_at=start,
        ends_at=start + timedelta(days=2),
        message="Bonjour, je peux passer le chercher ?",
    )
    if state == "declined":
        s.loan_decline(actor=lender, loan_id=loan.pk, reason="Je pars avec ce week-end.")
    elif state == "cancelled":
        s.loan_cancel(actor=borrower, loan_id=loan.pk)
    elif state == "expired":
        Loan.objects.filter(pk=loan.pk).update(expires_at=now - timedelta(minutes=1))
        s.loans_expire(now=now)
    elif state != "requested":
        s.loan_accept(actor=lender, loan_id=loan.pk)
        if soon:
            s.loan_handover(actor=lender, loan_id=loan.pk)
            s.loan_handover(actor=borrower, loan_id=loan.pk)
        if state == "active":
            # The last one is a day overdue: the reminders have something to say.
            ends = now - timedelta(days=1) if k == 2 else now + timedelta(days=1 + k)
            _move(loan, ends - timedelta(days=3), ends)
        if state in ("returned", "closed", "disputed"):
            s.loan_return(actor=borrower, loan_id=loan.pk)
            _move(loan, now - timedelta(days=10 + 3 * k), now - timedelta(days=8 + 3 * k))
        if state in ("closed", "disputed"):
            s.loan_confirm_return(
                actor=lender, loan_id=loan.pk, condition="worn" if k % 2 else "fine"
            )
        if state == "disputed":
            s.loan_dispute(actor=lender, loan_id=loan.pk, reason="Le mandrin manque.")
    return Loan.objects.get(pk=loan.pk)


def _loans(rng: random.Random, items: list[Item], residents: list[User]) -> int:
    """Loans in every state, each on its own item. The first three closed loans are lent by
    one resident, so that their average rating shows (three ratings)."""
    now = timezone.now()
    star = items[0].owner
    star_items = [i for i in items if i.owner_id == star.pk]
    others = [i for i in items if i.owner_id != star.pk]
    created = 0
    for state, count in LOAN_PLAN:
        for k in range(count):
            pool = star_items if state == "closed" and k < 3 else others
            item = pool.pop(0)
            borrower = rng.choice([r for r in residents if r.pk != item.owner_id])
            score = rng.choice([4, 5, 5])  # drawn even when skipped: the sequence stays fixed
            if Loan.objects.filter(item=item).exists():  # seeded before: each loan has its item
                continue
            loan = _loan(state, k, item, borrower, now)
            created += 1
            if state == "accepted":
                conversation = Conversation.objects.get(loan=loan)
                message_send(
                    sender=borrower,
                    conversation_id=conversation.pk,
                    body="Merci ! Je passe vers 18 h, ça vous va ?",
                )
                message_send(
                    sender=item.owner,
                    conversation_id=conversation.pk,
                    body="Parfait, sonnez à l'interphone.",
                )
            if state == "closed":
                rating_create(rater=borrower, loan_id=loan.pk, score=score)
                rating_create(rater=item.owner, loan_id=loan.pk, score=5, comment="Ponctuel")
    return created


def _wanted(rng: random.Random, lenders: list[User]) -> None:
    now = timezone.now()
    requesters = lenders[-len(WANTED) :]
    for i, ((title, description, category), requester) in enumerate(
        zip(WANTED, requesters, strict=True)
    ):
        with_category = rng.random() < 0.5
        if WantedRequest.objects.filter(
            requester=requester, title=title, status=WantedRequest.Status.OPEN
        ).exists():
            continue
        start = (now + timedelta(days=2 + i)).replace(hour=9, minute=0, second=0, microsecond=0)
        wanted = wanted_create(
            requester=requester,
            title=title,
            description=description,
            category=category if with_category else "",
            starts_at=start,
            ends_at=start + timedelta(days=1),
            minutes=30,
        )
        if i == 0:  # the first one already has an offer
            notice = WantedNotice.objects.filter(wanted=wanted, item__isnull=False).first()
            if notice is not None and not Offer.objects.filter(wanted=wanted).exists():
                offer_create(
                    lender=notice.neighbour,
                    wanted_id=wanted.pk,
                    item_id=notice.item_id,  # type: ignore[arg-type]
                    message="J'en ai un, avec les coupelles. Passez quand vous voulez.",
                )


def _report(items: list[Item], residents: list[User]) -> None:
    item = items[-1]
    reporter = next(r for r in residents if r.pk != item.owner_id)
    if not Report.objects.filter(item=item).exists():
        report_create(
            reporter=reporter,
            target="item",
            item_id=item.pk,
            reason="Annonce en double ? Le même objet apparaît deux fois.",
        )


@transaction.atomic
def sharing_demo_seed(*, seed: int = DEFAULT_SEED) -> DemoSharingResult:
    """Seeds the sharing demo (the street graph must be imported first)."""
    rng = random.Random(seed)
    residents, pending, residents_created = _residents(rng)
    neighbourhood, admin = _place()
    _memberships(neighbourhood, residents, pending, admin)
    lenders = _on_graph(residents)
    items, items_created = _items(rng, lenders)
    loans_created = _loans(rng, items, residents)
    _wanted(rng, lenders)
    _report(items, residents)
    user_ids = [u.pk for u in residents]
    return DemoSharingResult(
        residents=len(residents) + (1 if pending else 0),
        residents_created=residents_created,
        items=Item.objects.filter(owner_id__in=user_ids).count(),
        items_created=items_created,
        loans_created=loans_created,
        loans_by_status=dict(
            Counter(Loan.objects.filter(lender_id__in=user_ids).values_list("status", flat=True))
        ),
        ratings=Rating.objects.filter(ratee_id__in=user_ids).count(),
        wanted_open=WantedRequest.objects.filter(
            requester_id__in=user_ids, status=WantedRequest.Status.OPEN
        ).count(),
    )


__all__ = ["DemoSharingResult", "sharing_demo_seed"]
