"""Wanted requests: a resident posts a need ("a drill, Saturday"); the best few lenders hear of
it first, then a few more at each round while nobody offers, and from the second round the
neighbours who opted in to "ask me too"; a lender answers with an offer, which becomes a loan
request in one tap.

open -> fulfilled (an offer accepted) | cancelled (by the requester) | expired (its period began)

Rounds: round 1 when the request is posted, then one more every ``SHARING_WANTED_WIDEN_MINUTES``
while it is open and no offer is pending or accepted, up to ``SHARING_WANTED_MAX_ROUNDS``. Each
round tells the next ``SHARING_WANTED_FIRST_ROUND`` lenders (one notice per lender, their best
matching item, ranked by ``sharing.selectors_community.wanted_matches``); rounds 2 and later
also ask as many "ask me too" neighbours, nearest first. Nobody is told twice about a request
(a unique constraint on the notice).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from psycopg.types.range import Range

from accounts.models import User
from backend.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from geo.network import IslandError, OffGraphError
from geo.privacy import blurred_point, coarse_minutes
from neighbourhoods.selectors import (
    active_neighbourhood_ids,
    require_active_member,
    share_a_neighbourhood,
)
from notifications.services.events import notify
from sharing.locks import lock
from sharing.models import (
    Conversation,
    Item,
    Loan,
    Message,
    Offer,
    WantedNotice,
    WantedRequest,
)
from sharing.selectors import blocked_between, blocked_user_ids, items_available
from sharing.selectors_community import (
    ask_me_too_candidates,
    display_name,
    wanted_matches,
)
from sharing.services.blocks import BlockedError
from sharing.services.items import NoHomeError, NotOwnerError
from sharing.services.loans import validate_period

logger = logging.getLogger(__name__)

PROFILES = ("walk", "slow", "wheelchair")
MAX_PERIOD = timedelta(days=90)
MAX_AHEAD = timedelta(days=180)


class TooManyWantedError(ConflictError):
    code = "too_many_wanted"
    default_message = _("You have as many open requests as you can: close one first.")


class WantedClosedError(ConflictError):
    code = "wanted_closed"
    default_message = _("This request is no longer open.")


class NotRequesterError(ForbiddenError):
    code = "not_requester"
    default_message = _("Only the person who posted this request can do this.")


class NotOfferLenderError(ForbiddenError):
    code = "not_offer_lender"
    default_message = _("Only the neighbour who made this offer can withdraw it.")


class OfferClosedError(ConflictError):
    code = "offer_closed"
    default_message = _("This offer is no longer pending.")


def _validate(
    *, title: str, starts_at: datetime, ends_at: datetime, minutes: int, profile: str, now: datetime
) -> None:
    errors: dict[str, list[object]] = {}
    if len(title.strip()) < 2:
        errors["title"] = [_("Say in a few words what you need.")]
    if ends_at <= starts_at:
        errors["ends_at"] = [_("The end must come after the start.")]
    elif ends_at - starts_at > MAX_PERIOD:
        errors["ends_at"] = [_("A request covers 90 days at most.")]
    if starts_at <= now:
        errors["starts_at"] = [_("The start is in the past.")]
    elif starts_at > now + MAX_AHEAD:
        errors["starts_at"] = [_("The start is too far ahead.")]
    if not 1 <= minutes <= 60:
        errors["minutes"] = [_("Between 1 and 60 minutes.")]
    if profile not in PROFILES:
        errors["profile"] = [_("Choose walk, slow or wheelchair.")]
    if errors:
        raise DomainError(next(iter(errors.values()))[0], code="invalid", fields=errors)


@transaction.atomic
def wanted_create(
    *,
    requester: User,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    category: str = "",
    minutes: int = 15,
    profile: str | None = None,
    now: datetime | None = None,
) -> WantedRequest:
    """Posts a need and runs its first round. The cap on open requests holds under concurrent
    posts: the requester's row is locked before counting. The need reaches the neighbours within
    ``minutes`` of the requester with ``profile``, by default the requester's walking profile."""
    now = now or timezone.now()
    profile = profile or requester.walking_profile
    ids = require_active_member(requester)
    if requester.home is None:
        raise NoHomeError()
    _validate(
        title=title, starts_at=starts_at, ends_at=ends_at, minutes=minutes, profile=profile, now=now
    )
    lock(User, requester.pk)
    open_count = WantedRequest.objects.filter(
        requester=requester, status=WantedRequest.Status.OPEN
    ).count()
    if open_count >= settings.SHARING_MAX_OPEN_WANTED:
        raise TooManyWantedError()
    wanted = WantedRequest.objects.create(
        requester=requester,
        title=title.strip(),
        description=description.strip(),
        category=category or "",
        period=Range(starts_at, ends_at, "[)"),
        minutes=minutes,
        profile=profile,
        location=blurred_point(requester.home),
    )
    _round(wanted, ids, now)
    return wanted


def _round(wanted: WantedRequest, neighbourhood_ids: list[int], now: datetime) -> list[int]:
    """One round of notices (the request's row is locked or new); returns who was told."""
    size = int(settings.SHARING_WANTED_FIRST_ROUND)
    wanted.round += 1
    told = set(WantedNotice.objects.filter(wanted=wanted).values_list("neighbour_id", flat=True))
    # Nobody either way blocked with the requester is told (nor their items matched).
    told |= blocked_user_ids(wanted.requester_id)
    matches = wanted_matches(wanted, neighbourhood_ids=neighbourhood_ids)
    notices: list[WantedNotice] = []
    for match in matches.rows:
        if len(notices) >= size:
            break
        owner_id = match.item.owner_id
        if owner_id in told:
            continue
        told.add(owner_id)
        notices.append(
            WantedNotice(
                wanted=wanted,
                neighbour_id=owner_id,
                item=match.item,
                round=wanted.round,
                travel_seconds=match.seconds,
                score=match.score,
            )
        )
    asks: list[WantedNotice] = []
    if wanted.round >= 2:
        lenders = {m.item.owner_id for m in matches.rows}
        for neighbour, seconds in ask_me_too_candidates(
            wanted, neighbourhood_ids=neighbourhood_ids, exclude_user_ids=told | lenders
        )[:size]:
            asks.append(
                WantedNotice(
                    wanted=wanted,
                    neighbour=neighbour,
                    item=None,
                    round=wanted.round,
                    travel_seconds=seconds,
                )
            )
    WantedNotice.objects.bulk_create(notices + asks)
    for notice in notices:
        assert notice.item is not None
        notify(
            event_type="wanted.match",
            recipients=[notice.neighbour_id],
            data={
                "wanted_id": wanted.pk,
                "wanted_title": wanted.title,
                "item_id": notice.item.pk,
                "item_title": notice.item.title,
                "minutes_away": coarse_minutes(notice.travel_seconds or 0.0)[0],
            },
        )
    for notice in asks:
        notify(
            event_type="wanted.ask",
            recipients=[notice.neighbour_id],
            data={
                "wanted_id": wanted.pk,
                "wanted_title": wanted.title,
                "minutes_away": coarse_minutes(notice.travel_seconds or 0.0)[0],
            },
        )
    last = wanted.round >= int(settings.SHARING_WANTED_MAX_ROUNDS)
    widen = timedelta(minutes=float(settings.SHARING_WANTED_WIDEN_MINUTES))
    wanted.next_widen_at = None if last else now + widen
    wanted.save(update_fields=["round", "next_widen_at"])
    return [n.neighbour_id for n in notices + asks]


def _offer_in_play() -> Exists:
    return Exists(
        Offer.objects.filter(
            wanted=OuterRef("pk"), status__in=[Offer.Status.PENDING, Offer.Status.ACCEPTED]
        )
    )


def wanted_widen(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic step (every minute): expires the requests whose period began, and widens
    those nobody answered in time. Each request in its own short transaction."""
    now = now or timezone.now()
    expired = 0
    for wanted_id in WantedRequest.objects.filter(
        status=WantedRequest.Status.OPEN, period__startswith__lte=now
    ).values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            wanted = lock(WantedRequest, wanted_id)
            if wanted.status != WantedRequest.Status.OPEN or wanted.period.lower > now:
                continue
            wanted.status = WantedRequest.Status.EXPIRED
            wanted.next_widen_at = None
            wanted.save(update_fields=["status", "next_widen_at"])
            wanted.offers.filter(status=Offer.Status.PENDING).update(status=Offer.Status.DECLINED)
            expired += 1
    due = list(
        WantedRequest.objects.filter(
            status=WantedRequest.Status.OPEN,
            next_widen_at__lte=now,
            round__lt=settings.SHARING_WANTED_MAX_ROUNDS,
        )
        .filter(~_offer_in_play())
        .order_by("next_widen_at", "pk")
        .values_list("pk", flat=True)[:200]
    )
    widened = told = 0
    for wanted_id in due:
        with transaction.atomic():
            wanted = (
                WantedRequest.objects.select_for_update(of=("self",))
                .select_related("requester")
                .filter(pk=wanted_id)
                .first()
            )
            if (
                wanted is None
                or wanted.status != WantedRequest.Status.OPEN
                or wanted.next_widen_at is None
                or wanted.next_widen_at > now
                or wanted.offers.filter(
                    status__in=[Offer.Status.PENDING, Offer.Status.ACCEPTED]
                ).exists()
            ):
                continue
            ids = _active_ids_or_none(wanted.requester)
            if ids is None:  # the requester lost their membership: nobody more is told
                wanted.next_widen_at = None
                wanted.save(update_fields=["next_widen_at"])
                continue
            try:
                with transaction.atomic():
                    told += len(_round(wanted, ids, now))
            except (OffGraphError, IslandError):
                # The request's place fell off a newly imported graph: nobody can be timed.
                logger.warning("wanted request %s is off the street graph", wanted.pk)
                wanted.next_widen_at = None
                wanted.save(update_fields=["next_widen_at"])
                continue
            widened += 1
    return {"expired": expired, "widened": widened, "notified": told}


def _active_ids_or_none(user: User) -> list[int] | None:
    return active_neighbourhood_ids(user) or None


@transaction.atomic
def wanted_cancel(*, actor: User, wanted_id: int) -> WantedRequest:
    wanted = lock(WantedRequest, wanted_id)
    if wanted.requester_id != actor.pk:
        raise NotRequesterError()
    if wanted.status != WantedRequest.Status.OPEN:
        raise WantedClosedError()
    wanted.status = WantedRequest.Status.CANCELLED
    wanted.next_widen_at = None
    wanted.save(update_fields=["status", "next_widen_at"])
    wanted.offers.filter(status=Offer.Status.PENDING).update(status=Offer.Status.DECLINED)
    return wanted


# --- offers -----------------------------------------------------------------------------------


@transaction.atomic
def offer_create(*, lender: User, wanted_id: int, item_id: int, message: str = "") -> Offer:
    """A neighbour who was told, or any active member sharing a neighbourhood with the
    requester, offers one of their active items; a conversation opens with the requester."""
    require_active_member(lender)
    wanted = lock(WantedRequest, wanted_id)
    requester = wanted.requester
    if wanted.requester_id == lender.pk:
        raise DomainError(_("This is your own request."), code="own_request")
    told = WantedNotice.objects.filter(wanted=wanted, neighbour=lender).exists()
    if not told and not share_a_neighbourhood(lender, requester):
        raise NotFoundError()
    if blocked_between(lender.pk, requester.pk):
        raise BlockedError()
    if wanted.status != WantedRequest.Status.OPEN:
        raise WantedClosedError()
    item = Item.objects.filter(pk=item_id, owner=lender).first()
    if item is None:
        raise NotOwnerError()
    if item.status != Item.Status.ACTIVE:
        raise ConflictError(_("This item is not listed."), code="item_not_active")
    validate_period(item, wanted.period.lower, wanted.period.upper)  # e.g. its longest loan
    free = items_available(
        Item.objects.filter(pk=item.pk), wanted.period.lower, wanted.period.upper
    )
    if not free.exists():
        raise ConflictError(_("The item is not available for this period."), code="period_taken")
    try:
        with transaction.atomic():
            offer = Offer.objects.create(
                wanted=wanted, lender=lender, item=item, message=message.strip()[:500]
            )
    except IntegrityError:
        raise ConflictError(
            _("You already offered this item for this request."), code="already_offered"
        ) from None
    conversation = Conversation.objects.create(offer=offer, first=lender, second=requester)
    if offer.message:
        Message.objects.create(conversation=conversation, sender=lender, body=offer.message)
        conversation.last_message_at = timezone.now()
        conversation.save(update_fields=["last_message_at"])
    notify(
        event_type="wanted.offer",
        recipients=[requester],
        data={
            "wanted_id": wanted.pk,
            "wanted_title": wanted.title,
            "offer_id": offer.pk,
            "neighbour_name": display_name(lender),
        },
    )
    return offer


def _locked_offer(offer_id: int) -> tuple[WantedRequest, Offer]:
    """Locks the request, then the offer: every offer action takes them in this order."""
    wanted_id = Offer.objects.filter(pk=offer_id).values_list("wanted_id", flat=True).first()
    if wanted_id is None:
        raise NotFoundError()
    wanted = lock(WantedRequest, wanted_id)
    return wanted, lock(Offer, offer_id)


@transaction.atomic
def offer_accept(*, actor: User, offer_id: int) -> Loan:
    """The requester takes an offer: a loan request for the request's period, in one tap. The
    request is fulfilled, the other pending offers are declined. Returns the loan."""
    from sharing.services.loans import loan_request

    wanted, offer = _locked_offer(offer_id)
    if wanted.requester_id != actor.pk:
        raise NotRequesterError()
    if offer.status != Offer.Status.PENDING:
        raise OfferClosedError()
    if wanted.status != WantedRequest.Status.OPEN:
        raise WantedClosedError()
    loan = loan_request(
        borrower=actor,
        item_id=offer.item_id,
        starts_at=wanted.period.lower,
        ends_at=wanted.period.upper,
        message=offer.message,
        offer_id=offer.pk,
    )
    offer.status = Offer.Status.ACCEPTED
    offer.save(update_fields=["status"])
    wanted.offers.filter(status=Offer.Status.PENDING).exclude(pk=offer.pk).update(
        status=Offer.Status.DECLINED
    )
    wanted.status = WantedRequest.Status.FULFILLED
    wanted.next_widen_at = None
    wanted.save(update_fields=["status", "next_widen_at"])
    return loan


@transaction.atomic
def offer_decline(*, actor: User, offer_id: int) -> Offer:
    wanted, offer = _locked_offer(offer_id)
    if wanted.requester_id != actor.pk:
        raise NotRequesterError()
    if offer.status != Offer.Status.PENDING:
        raise OfferClosedError()
    offer.status = Offer.Status.DECLINED
    offer.save(update_fields=["status"])
    return offer


@transaction.atomic
def offer_withdraw(*, actor: User, offer_id: int) -> Offer:
    """The lender takes back a pending offer (the item is no longer free, they changed their
    mind). An accepted offer is a loan request by then: cancel that instead."""
    _wanted, offer = _locked_offer(offer_id)
    if offer.lender_id != actor.pk:
        raise NotOfferLenderError()
    if offer.status != Offer.Status.PENDING:
        raise OfferClosedError()
    offer.status = Offer.Status.WITHDRAWN
    offer.save(update_fields=["status"])
    return offer


def wanted_withdraw_for_suspension(*, user: User) -> None:
    """Inside a suspension's transaction: a member who may no longer borrow or lend has their
    open requests cancelled and their pending offers withdrawn."""
    for wanted in WantedRequest.objects.select_for_update().filter(
        requester=user, status=WantedRequest.Status.OPEN
    ):
        wanted.status = WantedRequest.Status.CANCELLED
        wanted.next_widen_at = None
        wanted.save(update_fields=["status", "next_widen_at"])
        wanted.offers.filter(status=Offer.Status.PENDING).update(status=Offer.Status.DECLINED)
    Offer.objects.filter(lender=user, status=Offer.Status.PENDING).update(
        status=Offer.Status.WITHDRAWN
    )
