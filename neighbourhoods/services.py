"""Joining a neighbourhood, the association's decisions on memberships, and its volunteers.

What a suspension does to lending (items hidden, loans cancelled, wanted requests withdrawn) is
lending's business: ``sharing.services.suspension`` calls ``membership_suspend`` and does the rest
in the same transaction.
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.demo import DEMO_PASSWORD, DEMO_VOLUNTEER_EMAIL, DEMO_VOLUNTEER_NAME
from accounts.models import User
from accounts.services import user_create
from backend.errors import ConflictError, DomainError, NotFoundError
from neighbourhoods.errors import NotStaffError, SuspendedError
from neighbourhoods.models import Association, Membership, Neighbourhood
from neighbourhoods.selectors import staff_associations, staff_require
from notifications.services.events import notify

# The Django group that holds the admin permissions of every association's volunteers. Which
# permissions it holds is the panel's business (``panel.staff``, rebuilt after every migrate).
STAFF_GROUP_NAME = "Association staff"


def membership_lock(membership_id: int) -> Membership:
    """Locks the membership's row for the rest of the transaction; 404 when there is none."""
    membership = (
        Membership.objects.select_for_update()
        .select_related("neighbourhood")
        .filter(pk=membership_id)
        .first()
    )
    if membership is None:
        raise NotFoundError()
    return membership


@transaction.atomic
def membership_join(
    *, user: User, neighbourhood: Neighbourhood, ask_me_too: bool = False
) -> Membership:
    existing = (
        Membership.objects.select_for_update()
        .filter(user=user, neighbourhood=neighbourhood)
        .first()
    )
    if existing is not None:
        if existing.status == Membership.Status.SUSPENDED:
            raise SuspendedError()
        if existing.status == Membership.Status.REFUSED:
            raise ConflictError(
                _("The association refused this membership."), code="membership_refused"
            )
        return existing
    status = (
        Membership.Status.ACTIVE
        if neighbourhood.join_policy == Neighbourhood.JoinPolicy.OPEN
        else Membership.Status.PENDING
    )
    return Membership.objects.create(
        user=user,
        neighbourhood=neighbourhood,
        status=status,
        ask_me_too=ask_me_too,
        decided_at=timezone.now() if status == Membership.Status.ACTIVE else None,
    )


def membership_decision_tell(membership: Membership, reason: str | None = None) -> None:
    """The member hears of the association's decision (``membership.decided``), after commit."""
    neighbourhood = membership.neighbourhood
    data: dict[str, object] = {
        "neighbourhood_id": neighbourhood.pk,
        "neighbourhood_name": neighbourhood.name,
        "status": membership.status,
    }
    if reason:
        data["reason"] = reason
    notify(event_type="membership.decided", recipients=[membership.user_id], data=data)


def _decide(membership: Membership, *, staff: User, status: str, reason: str = "") -> None:
    membership.status = status
    membership.suspended_reason = reason
    membership.decided_by = staff
    membership.decided_at = timezone.now()
    membership.save(update_fields=["status", "suspended_reason", "decided_by", "decided_at"])


@transaction.atomic
def membership_approve(*, staff: User, membership_id: int) -> Membership:
    membership = membership_lock(membership_id)
    staff_require(staff, membership.neighbourhood_id)
    if membership.status not in (Membership.Status.PENDING, Membership.Status.SUSPENDED):
        raise ConflictError(_("This membership is not waiting for approval."), code="not_pending")
    _decide(membership, staff=staff, status=Membership.Status.ACTIVE)
    membership_decision_tell(membership)
    return membership


@transaction.atomic
def membership_refuse(*, staff: User, membership_id: int) -> Membership:
    membership = membership_lock(membership_id)
    staff_require(staff, membership.neighbourhood_id)
    if membership.status != Membership.Status.PENDING:
        raise ConflictError(_("This membership is not waiting for approval."), code="not_pending")
    _decide(membership, staff=staff, status=Membership.Status.REFUSED)
    membership_decision_tell(membership)
    return membership


@transaction.atomic
def membership_add(*, staff: User, user: User, neighbourhood_id: int) -> Membership:
    """The association makes ``user`` an active member of one of its neighbourhoods at once (a
    resident it registers at its desk: an assisted member). Only the staff who run the
    neighbourhood may (``NotStaffError``); an existing membership is refused (409)."""
    staff_require(staff, neighbourhood_id)
    neighbourhood = Neighbourhood.objects.filter(pk=neighbourhood_id).first()
    if neighbourhood is None:
        raise NotFoundError()
    if Membership.objects.filter(user=user, neighbourhood=neighbourhood).exists():
        raise ConflictError(
            _("This person is already a member of this neighbourhood."), code="already_member"
        )
    return Membership.objects.create(
        user=user,
        neighbourhood=neighbourhood,
        status=Membership.Status.ACTIVE,
        decided_by=staff,
        decided_at=timezone.now(),
    )


@transaction.atomic
def membership_suspend(*, staff: User, membership_id: int, reason: str) -> Membership:
    """Marks the membership suspended, with its reason. The caller (``sharing``'s
    ``member_suspend``) draws the consequences and tells the member, in the same transaction."""
    if not reason.strip():
        raise DomainError(
            _("A suspension needs a reason."),
            code="reason_required",
            fields={"reason": [_("This field is required.")]},
        )
    membership = membership_lock(membership_id)
    staff_require(staff, membership.neighbourhood_id)
    _decide(
        membership, staff=staff, status=Membership.Status.SUSPENDED, reason=reason.strip()[:500]
    )
    return membership


@transaction.atomic
def staff_grant(*, user: User, association: Association | None = None) -> User:
    """Lets ``user`` into the admin as a volunteer, and into ``association``'s staff if given.
    The group's permissions are kept by the panel; a group missing here is created empty and
    filled by the panel's sync after the next migrate."""
    group, _created = Group.objects.get_or_create(name=STAFF_GROUP_NAME)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(group)
    if association is not None:
        association.staff.add(user)
    return user


@transaction.atomic
def association_open_data_set(
    *, staff: User, association_id: int, publish: bool, licence: str
) -> Association:
    """The association's choice about open data (docs/opendata.md): whether it publishes its
    monthly figures and under which licence. Only its own staff (or a superuser) decide; an
    unknown licence is refused before anything changes (the database refuses it too)."""
    if licence not in Association.OpenDataLicence.values:
        raise DomainError(
            _("Choose one of the open licences offered."),
            code="invalid_licence",
            fields={"licence": [_("Choose one of the open licences offered.")]},
        )
    association = (
        Association.objects.select_for_update().filter(pk=association_id).first()
        if staff_associations(staff).filter(pk=association_id).exists()
        else None
    )
    if association is None:
        raise NotStaffError()
    association.open_data_publish = publish
    association.open_data_licence = licence
    association.save(update_fields=["open_data_publish", "open_data_licence"])
    return association


def demo_volunteer_seed(*, association: Association) -> User:
    """The demo association's volunteer (idempotent): logs in to /admin/ and sees only the
    association's neighbourhoods."""
    user = User.objects.filter(email=DEMO_VOLUNTEER_EMAIL).first()
    if user is None:
        user = user_create(
            email=DEMO_VOLUNTEER_EMAIL,
            password=DEMO_PASSWORD,
            display_name=DEMO_VOLUNTEER_NAME,
            is_staff=True,
            email_verified=True,
            documents_accepted=True,
        )
    return staff_grant(user=user, association=association)


@transaction.atomic
def member_forget(*, user: User) -> int:
    """A deleted account (RGPD art. 17) leaves every neighbourhood and every association's staff.
    Decisions the person took as staff (``decided_by``) keep pointing to the former member.
    Returns how many memberships went."""
    for association in Association.objects.filter(staff=user):
        association.staff.remove(user)
    return Membership.objects.filter(user=user).delete()[0]
