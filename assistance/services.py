"""Acting on an assisted member's behalf: each service checks the volunteer may act for the member
(``assistance_require``), calls the domain's own service with the member as the actor, and
records what was done with both names (``AssistedAction``), in one transaction. Neighbours see
the member, as for anyone using the app; the audit row is the only place the volunteer appears.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.geocoding import geocode_address
from accounts.models import DataExport, User
from accounts.services.assisted import (
    assisted_consent_renew,
    assisted_details_update,
    assisted_take_over_request,
    assisted_user_create,
)
from accounts.services.deletion import user_delete
from accounts.services.export import (
    export_for_download,
    export_of,
    export_request,
    export_token,
)
from assistance.errors import AssistedLoanNotFoundError
from assistance.models import ActionKind, AssistedAction
from assistance.selectors import assistance_require, member_loan
from backend.errors import DomainError
from neighbourhoods.models import Membership
from neighbourhoods.selectors import staff_require
from neighbourhoods.services import membership_add
from pooling.models import Order
from pooling.services.orders import ParcelIn, order_declare
from pooling.services.pickups import order_receipt_confirm
from sharing.models import Item, Loan
from sharing.services import loans
from sharing.services.items import item_create, item_withdraw


def _record(
    *,
    volunteer: User,
    member: User,
    action: str,
    target: models.Model | None = None,
    detail: str = "",
) -> AssistedAction:
    return AssistedAction.objects.create(
        volunteer=volunteer,
        member=member,
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=target.pk if target is not None else None,
        detail=detail[:300],
    )


# --- the member ---------------------------------------------------------------------------------


def assisted_member_register(
    *,
    volunteer: User,
    neighbourhood_id: int,
    display_name: str,
    phone: str = "",
    home_address: str,
    walking_profile: str,
    language: str = User.Language.FRENCH,
    consent_given: bool,
    consent_method: str,
    consent_note: str = "",
) -> Membership:
    """A volunteer registers a resident without a smartphone as an assisted member of one of the
    neighbourhoods they run: an account with no address and no password, the home geocoded as
    any home (before the transaction: no lock is held while the geocoder answers), the consent
    the resident gave aloud or on paper, an active membership. Returns the membership."""
    staff_require(volunteer, neighbourhood_id)
    if not consent_given:
        raise DomainError(
            _("The person must consent to the terms of use and the privacy notice."),
            code="consent_required",
            fields={"consent_given": [_("Read the documents to the person and tick this.")]},
        )
    address = " ".join(home_address.split())
    if not address:
        raise DomainError(code="invalid", fields={"home_address": [_("This field is required.")]})
    geocoded = geocode_address(address)
    with transaction.atomic():
        member = assisted_user_create(
            display_name=display_name,
            phone=phone,
            home=geocoded.point,
            home_address=geocoded.label or address,
            walking_profile=walking_profile,
            language=language,
            recorded_by=volunteer,
            consent_method=consent_method,
            consent_note=consent_note,
        )
        membership = membership_add(staff=volunteer, user=member, neighbourhood_id=neighbourhood_id)
        _record(
            volunteer=volunteer,
            member=member,
            action=ActionKind.REGISTER,
            target=membership,
            detail=f"{membership.neighbourhood.name} ({consent_method})",
        )
    return membership


def assisted_member_consent(
    *, volunteer: User, member_id: int, method: str, note: str = ""
) -> User:
    """The volunteer reads the documents in force to the member and records their consent again
    (the only action allowed while the member's consent is out of date)."""
    with transaction.atomic():
        member = assistance_require(volunteer, member_id, consent=False)
        member = assisted_consent_renew(
            member=member, recorded_by=volunteer, method=method, note=note
        )
        _record(
            volunteer=volunteer,
            member=member,
            action=ActionKind.CONSENT,
            detail=f"{member.terms_version}/{member.privacy_version} ({method})",
        )
    return member


def assisted_member_details(
    *, volunteer: User, member_id: int, phone: str, walking_profile: str
) -> User:
    with transaction.atomic():
        member = assistance_require(volunteer, member_id)
        member = assisted_details_update(
            member=member, phone=phone, walking_profile=walking_profile
        )
        _record(
            volunteer=volunteer, member=member, action=ActionKind.DETAILS, detail=walking_profile
        )
    return member


def assisted_member_take_over(*, volunteer: User, member_id: int, email: str) -> None:
    """At the desk, the member gives an address to take their account over: the link goes there
    (``accounts.services.assisted``); once they open it and choose a password, the volunteer's
    rights end."""
    with transaction.atomic():
        member = assistance_require(volunteer, member_id, consent=False)
        assisted_take_over_request(member=member, email=email)
        _record(volunteer=volunteer, member=member, action=ActionKind.TAKE_OVER_REQUEST)


def assisted_member_delete(*, volunteer: User, member_id: int, how: str) -> User:
    """The member asked the association, at its desk or in writing, to delete their account (the
    right the app's ``DELETE /me`` serves): the same deletion (``accounts.services.deletion``),
    refused while an object is in their hands or lent out (409 ``active_loans``). The audit row,
    written first in the same transaction, keeps who did it and how it was asked (``how``); the
    member's other rows lose their details as any deleted member's."""
    with transaction.atomic():
        member = assistance_require(volunteer, member_id, consent=False)
        _record(volunteer=volunteer, member=member, action=ActionKind.DELETE, detail=how)
        return user_delete(user=member, checked=True)


def assisted_member_export(*, volunteer: User, member_id: int) -> DataExport:
    """The member asked for a copy of their data (the app's ``POST /me/export``): the same zip,
    built by the same Celery job; with no address to mail a link to, the volunteer downloads it
    from the permanence page (:func:`assisted_member_export_file`) and hands it over. 409
    ``export_running`` while one is being built."""
    with transaction.atomic():
        member = assistance_require(volunteer, member_id, consent=False)
        data_export = export_request(user=member)
        # The export's id is a UUID: named in the detail (targets are integer keys).
        _record(
            volunteer=volunteer, member=member, action=ActionKind.EXPORT, detail=str(data_export.pk)
        )
    return data_export


def assisted_member_export_file(
    *, volunteer: User, member_id: int, export_id: Any
) -> tuple[DataExport, Path]:
    """A ready copy of the member's data and its file, for the volunteer who hands it over
    (recorded: who downloaded someone's data, and when); 404 for another member's export."""
    with transaction.atomic():
        member = assistance_require(volunteer, member_id, consent=False)
        data_export = export_of(user=member, export_id=export_id)
        found = export_for_download(export_id=data_export.pk, token=export_token(data_export))
        _record(
            volunteer=volunteer,
            member=member,
            action=ActionKind.EXPORT_DOWNLOAD,
            detail=str(data_export.pk),
        )
    return found


# --- lending ------------------------------------------------------------------------------------


def assisted_item_create(
    *,
    volunteer: User,
    member_id: int,
    title: str,
    category: str,
    description: str = "",
    condition: str = Item.Condition.GOOD,
    deposit_cents: int = 0,
    max_loan_days: int = 7,
) -> Item:
    """Lists an item of the member's (placed at their home, as any item)."""
    with transaction.atomic():
        member = assistance_require(volunteer, member_id)
        item = item_create(
            owner=member,
            title=title,
            category=category,
            description=description,
            condition=condition,
            deposit_cents=deposit_cents,
            max_loan_days=max_loan_days,
        )
        _record(
            volunteer=volunteer,
            member=member,
            action=ActionKind.ITEM_CREATE,
            target=item,
            detail=item.title,
        )
    return item


def assisted_item_withdraw(*, volunteer: User, member_id: int, item_id: int) -> Item:
    with transaction.atomic():
        member = assistance_require(volunteer, member_id)
        item = item_withdraw(actor=member, item_id=item_id)
        _record(
            volunteer=volunteer,
            member=member,
            action=ActionKind.ITEM_WITHDRAW,
            target=item,
            detail=item.title,
        )
    return item


def assisted_loan_request(
    *,
    volunteer: User,
    member_id: int,
    item_id: int,
    starts_at: datetime,
    ends_at: datetime,
    message: str = "",
) -> Loan:
    """Asks to borrow a neighbour's item for the member: the lender sees the member's request."""
    with transaction.atomic():
        member = assistance_require(volunteer, member_id)
        loan = loans.loan_request(
            borrower=member, item_id=item_id, starts_at=starts_at, ends_at=ends_at, message=message
        )
        _record(
            volunteer=volunteer,
            member=member,
            action=ActionKind.LOAN_REQUEST,
            target=loan,
            detail=loan.item.title,
        )
    return loan


# The steps of a loan a volunteer may take for the member, each the sharing service the member's
# app would call (which checks it is the member's turn).
LOAN_ACTIONS: dict[str, ActionKind] = {
    "accept": ActionKind.LOAN_ACCEPT,
    "decline": ActionKind.LOAN_DECLINE,
    "cancel": ActionKind.LOAN_CANCEL,
    "handover": ActionKind.LOAN_HANDOVER,
    "return": ActionKind.LOAN_RETURN,
    "confirm_return": ActionKind.LOAN_CONFIRM_RETURN,
}


def assisted_loan_act(
    *,
    volunteer: User,
    member_id: int,
    loan_id: int,
    action: str,
    code: str = "",
    condition: str = "",
    note: str = "",
) -> Loan:
    """One step of one of the member's loans: ``accept``, ``decline``, ``cancel``, ``handover``
    (with ``code``, the one the lender's phone shows, the handover is confirmed for both at
    once), ``return`` or ``confirm_return`` (with the item's ``condition``), as the member. A loan
    that is not the member's is 404; a step that is not theirs to take is the service's
    refusal."""
    if action not in LOAN_ACTIONS:
        raise DomainError(code="invalid", fields={"action": [_("Unknown action.")]})
    with transaction.atomic():
        member = assistance_require(volunteer, member_id)
        if member_loan(member, loan_id) is None:
            raise AssistedLoanNotFoundError()
        done: Loan
        if action == "accept":
            done = loans.loan_accept(actor=member, loan_id=loan_id)
        elif action == "decline":
            done = loans.loan_decline(actor=member, loan_id=loan_id)
        elif action == "cancel":
            done = loans.loan_cancel(actor=member, loan_id=loan_id)
        elif action == "handover":
            done = loans.loan_handover(actor=member, loan_id=loan_id, code=code.strip() or None)
        elif action == "return":
            done = loans.loan_return(actor=member, loan_id=loan_id)
        else:
            done = loans.loan_confirm_return(
                actor=member, loan_id=loan_id, condition=condition, note=note
            )
        _record(
            volunteer=volunteer,
            member=member,
            action=LOAN_ACTIONS[action],
            target=done,
            detail=done.item.title,
        )
    return done


# --- parcels ------------------------------------------------------------------------------------


def assisted_order_declare(
    *,
    volunteer: User,
    member_id: int,
    merchant_name: str,
    carrier: str,
    tracking_number: str,
    expected_on: date,
    parcels: Sequence[ParcelIn],
) -> Order:
    """Declares a parcel the member expects, received as their preference says (at home by
    default, walking times with their profile)."""
    with transaction.atomic():
        member = assistance_require(volunteer, member_id)
        order = order_declare(
            resident=member,
            merchant_name=merchant_name,
            carrier=carrier,
            tracking_number=tracking_number,
            expected_on=expected_on,
            parcels=parcels,
            receiving=None,
            windows=[],
        )
        _record(
            volunteer=volunteer,
            member=member,
            action=ActionKind.ORDER_DECLARE,
            target=order,
            detail=f"{order.merchant_name} {order.tracking_number}".strip(),
        )
    return order


def assisted_order_received(*, volunteer: User, member_id: int, order_id: int) -> Order:
    """The member has their parcel in hand (it waited at a relay point): the order is delivered."""
    with transaction.atomic():
        member = assistance_require(volunteer, member_id)
        outcome = order_receipt_confirm(resident=member, order_id=order_id)
        if outcome.applied:
            _record(
                volunteer=volunteer,
                member=member,
                action=ActionKind.ORDER_RECEIVED,
                target=outcome.order,
                detail=outcome.order.merchant_name,
            )
    return outcome.order


def actions_of(member: User) -> list[dict[str, Any]]:
    """The member's on-behalf history for an export: what, when, by whom (public name)."""
    return [
        {
            "action": row.action,
            "at": row.at.isoformat(),
            "volunteer": row.volunteer.public_name,
            "target_type": row.target_type.model if row.target_type else None,
            "target_id": row.target_id,
            "detail": row.detail,
        }
        for row in AssistedAction.objects.filter(member=member)
        .select_related("volunteer", "target_type")
        .order_by("at", "pk")
    ]


def assisted_actions_purge(*, now: datetime | None = None) -> int:
    """Deletes the on-behalf history older than ``ASSISTANCE_AUDIT_DAYS`` (Celery beat)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ASSISTANCE_AUDIT_DAYS)
    deleted, _by_model = AssistedAction.objects.filter(at__lt=cutoff).delete()
    return deleted


def assisted_actions_forget(*, member: User) -> int:
    """In an account's deletion: the member's history stays (what volunteers did, pointing to the
    former member) without its details (titles, tracking numbers). The deletion's own row keeps
    how the member asked for it: the proof that it was their wish."""
    return (
        AssistedAction.objects.filter(member=member)
        .exclude(detail="")
        .exclude(action=ActionKind.DELETE)
        .update(detail="")
    )
