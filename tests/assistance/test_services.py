"""Assisted members: registered by a volunteer with their consent, acted for through the domains'
own services (the member is the actor, the neighbours see the member), every action recorded with
both names; another association's volunteer can do nothing; the rights end when the member takes
their account over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.geocoding import AddressNotFoundError
from accounts.models import AccountToken, Consent, User
from accounts.permissions import consent_current
from accounts.services.deletion import user_delete
from accounts.services.retention import unverified_accounts_candidates
from assistance import services
from assistance.errors import AssistedConsentRequiredError, AssistedMemberNotFoundError
from assistance.models import AssistedAction
from assistance.selectors import assistance_require, assisted_items_nearby, assisted_members_for
from backend.errors import DomainError
from neighbourhoods.errors import NotStaffError
from neighbourhoods.models import Membership
from notifications.models import Event
from pooling.models import Order
from pooling.services.orders import ParcelIn
from sharing.models import Item, Loan
from tests.accounts.factories import UserFactory
from tests.assistance.conftest import ADDRESS, HOME, LABEL, register

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "consents": Consent.objects.count(),
        "memberships": Membership.objects.count(),
        "items": Item.objects.count(),
        "loans": Loan.objects.count(),
        "orders": Order.objects.count(),
        "audit": AssistedAction.objects.count(),
        "tokens": AccountToken.objects.count(),
    }


def _actions(member: User) -> list[tuple[str, int]]:
    return list(
        AssistedAction.objects.filter(member=member)
        .order_by("at", "pk")
        .values_list("action", "volunteer_id")
    )


# --- registration --------------------------------------------------------------------------------


def test_a_volunteer_registers_an_assisted_member(world, geocoders):
    member, ours = world.member, world.ours
    member.refresh_from_db()
    assert member.email is None
    assert member.is_assisted is True
    assert member.has_usable_password() is False
    assert (member.display_name, member.phone, member.walking_profile, member.language) == (
        "Madeleine R.",
        "01 23 45 67 89",
        "slow",
        "fr",
    )
    assert (member.home.x, member.home.y) == pytest.approx(HOME)
    assert member.home_address == LABEL
    assert member.public_name == "Madeleine R."
    assert geocoders.services_called() == ["ban"]
    assert geocoders.requests[0].params["q"] == ADDRESS

    # The consent: recorded by the volunteer, aloud, for the documents in force.
    consents = list(
        Consent.objects.filter(user=member)
        .order_by("document")
        .values_list("document", "version", "method", "recorded_by_id")
    )
    assert consents == [
        ("privacy", settings.PRIVACY_VERSION, "oral", ours.staff.pk),
        ("terms", settings.TERMS_VERSION, "oral", ours.staff.pk),
    ]
    assert consent_current(member)

    membership = Membership.objects.get(user=member)
    assert (membership.neighbourhood_id, membership.status, membership.decided_by_id) == (
        ours.neighbourhood.pk,
        "active",
        ours.staff.pk,
    )
    row = AssistedAction.objects.get(member=member)
    assert (row.action, row.volunteer_id, row.target, row.detail) == (
        "register",
        ours.staff.pk,
        membership,
        f"{ours.neighbourhood.name} (oral)",
    )
    assert list(assisted_members_for(ours.staff)) == [member]
    assert list(assisted_members_for(world.theirs.staff)) == []


def test_registration_is_refused_without_consent_scope_or_address(world, geocoders):
    ours, theirs = world.ours, world.theirs
    before = _counts()
    with pytest.raises(DomainError) as refused:
        register(ours, geocoders, consent_given=False)
    assert refused.value.code == "consent_required"
    with pytest.raises(NotStaffError):
        register(ours, geocoders, volunteer=theirs.staff)
    with pytest.raises(AddressNotFoundError):
        register(ours, geocoders, home_address="Nowhere street 999")
    with pytest.raises(DomainError) as bad:
        register(ours, geocoders, consent_method="app")
    assert bad.value.fields == {
        "consent_method": ["Indiquez comment la personne a donné son accord."]
    }
    assert _counts() == before


def test_the_database_holds_the_assisted_accounts_invariants(world):
    member = world.member
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=member.pk).update(email="madeleine@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=member.pk).update(password="md5$salt$0123456789abcdef")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=world.ours.members[0].pk).update(email=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Consent.objects.filter(user=member).update(method="app")
    with pytest.raises(IntegrityError), transaction.atomic():
        AssistedAction.objects.create(volunteer=member, member=member, action="details")


# --- acting on behalf ----------------------------------------------------------------------------


def test_lending_for_the_member_shows_the_member_to_the_neighbour(world, client_for):
    ours, member = world.ours, world.member
    lender = ours.members[0]
    volunteer = ours.staff

    item = services.assisted_item_create(
        volunteer=volunteer, member_id=member.pk, title="Tabouret pliant", category="diy"
    )
    assert (item.owner_id, item.status) == (member.pk, "active")

    # The search: from the member's home, with the member's walking profile.
    found = assisted_items_nearby(member=member, minutes=15, q="perceuse")
    rows = found.page(0, 10)
    assert [row.pk for row in rows] == [ours.item.pk]

    start = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    loan = services.assisted_loan_request(
        volunteer=volunteer,
        member_id=member.pk,
        item_id=ours.item.pk,
        starts_at=start,
        ends_at=start + timedelta(days=2),
        message="Pour Madeleine",
    )
    assert (loan.borrower_id, loan.lender_id, loan.status) == (member.pk, lender.pk, "requested")
    event = Event.objects.get(type="loan.requested", recipient=lender)
    assert event.data["borrower_name"] == "Madeleine R."
    assert event.data["borrower_id"] == member.pk

    # The lender's app: the member, never the volunteer.
    as_lender = client_for(lender)
    shown = as_lender.get(f"/api/v1/loans/{loan.pk}")
    assert shown.status_code == 200
    assert shown.json()["borrower"] == {"id": member.pk, "name": "Madeleine R."}
    text = shown.content.decode()
    assert volunteer.display_name not in text and volunteer.email not in text
    accepted = as_lender.post(f"/api/v1/loans/{loan.pk}/accept", {}, format="json")
    assert accepted.status_code == 200, accepted.json()
    code = accepted.json()["handover_code"]

    # The volunteer types the code the lender's phone shows: handed over for both.
    loan = services.assisted_loan_act(
        volunteer=volunteer, member_id=member.pk, loan_id=loan.pk, action="handover", code=code
    )
    assert loan.status == "active"
    loan = services.assisted_loan_act(
        volunteer=volunteer, member_id=member.pk, loan_id=loan.pk, action="return"
    )
    assert loan.status == "returned"
    # A step that is not the member's is the loan service's refusal, and changes nothing.
    with pytest.raises(DomainError) as refused:
        services.assisted_loan_act(
            volunteer=volunteer,
            member_id=member.pk,
            loan_id=loan.pk,
            action="confirm_return",
            condition="fine",
        )
    assert refused.value.code == "not_your_turn"
    assert Loan.objects.get(pk=loan.pk).status == "returned"

    assert _actions(member) == [
        ("register", volunteer.pk),
        ("item_create", volunteer.pk),
        ("loan_request", volunteer.pk),
        ("loan_handover", volunteer.pk),
        ("loan_return", volunteer.pk),
    ]
    handover = AssistedAction.objects.get(member=member, action="loan_handover")
    assert (handover.target, handover.detail) == (loan, ours.item.title)


def test_the_member_lends_through_the_volunteer(world):
    ours, member = world.ours, world.member
    item = services.assisted_item_create(
        volunteer=ours.staff, member_id=member.pk, title="Tabouret pliant", category="diy"
    )
    borrower = ours.members[1]
    from sharing.services.loans import loan_handover, loan_request

    start = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    loan = loan_request(
        borrower=borrower, item_id=item.pk, starts_at=start, ends_at=start + timedelta(days=1)
    )
    loan = services.assisted_loan_act(
        volunteer=ours.staff, member_id=member.pk, loan_id=loan.pk, action="accept"
    )
    assert loan.status == "accepted"
    # The borrower types the code printed for the member: the handover is done.
    loan = loan_handover(actor=borrower, loan_id=loan.pk, code=loan.handover_code)
    assert loan.status == "active"
    assert Event.objects.get(type="loan.accepted", recipient=borrower).data["owner_name"] == (
        "Madeleine R."
    )


def test_parcels_declared_and_received_for_the_member(world):
    ours, member = world.ours, world.member
    day = timezone.localdate() + timedelta(days=1)
    order = services.assisted_order_declare(
        volunteer=ours.staff,
        member_id=member.pk,
        merchant_name="Pharmacie",
        carrier="Posti",
        tracking_number="JJ123",
        expected_on=day,
        parcels=[ParcelIn(size="s", weight="light")],
    )
    assert (order.resident_id, order.source, order.status, order.neighbourhood_id) == (
        member.pk,
        "resident",
        "pending",
        ours.neighbourhood.pk,
    )
    assert (order.receive_mode, order.walk_profile) == ("home", "slow")

    with pytest.raises(DomainError) as early:
        services.assisted_order_received(
            volunteer=ours.staff, member_id=member.pk, order_id=order.pk
        )
    assert (early.value.status_code, early.value.code) == (409, "not_awaiting_pickup")

    # Left at a relay point: the member picks it up at the permanence.
    Order.objects.filter(pk=order.pk).update(status="awaiting_pickup", pickup_code="424242")
    received = services.assisted_order_received(
        volunteer=ours.staff, member_id=member.pk, order_id=order.pk
    )
    assert received.status == "delivered" and received.delivered_at is not None
    event = Event.objects.get(type="order.delivered", recipient=member)
    assert (event.data["proof"], event.data["place"]) == ("resident", "relay")
    again = services.assisted_order_received(
        volunteer=ours.staff, member_id=member.pk, order_id=order.pk
    )
    assert again.status == "delivered"
    assert [a for a, _v in _actions(member)] == ["register", "order_declare", "order_received"]
    # Someone else's order is not the member's to receive.
    other = Order.objects.create(
        resident=ours.members[0],
        source="resident",
        merchant_name="X",
        carrier="Posti",
        expected_on=day,
        receive_mode="home",
        delivery_code="111111",
        status="awaiting_pickup",
        pickup_code="222222",
        neighbourhood=ours.neighbourhood,
    )
    with pytest.raises(DomainError) as foreign:
        services.assisted_order_received(
            volunteer=ours.staff, member_id=member.pk, order_id=other.pk
        )
    assert foreign.value.status_code == 404
    assert Order.objects.get(pk=other.pk).status == "awaiting_pickup"


def _item_and_loan_request(world) -> tuple[Item, Loan]:
    """The member lists a stool and asks a neighbour of ours for their item, through the
    volunteer."""
    ours, member = world.ours, world.member
    start = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    item = services.assisted_item_create(
        volunteer=ours.staff, member_id=member.pk, title="Tabouret", category="diy"
    )
    loan = services.assisted_loan_request(
        volunteer=ours.staff,
        member_id=member.pk,
        item_id=ours.item.pk,
        starts_at=start,
        ends_at=start + timedelta(days=1),
    )
    return item, loan


# --- who may act ---------------------------------------------------------------------------------


def test_another_associations_volunteer_can_do_nothing(world):
    ours, theirs, member = world.ours, world.theirs, world.member
    own_item, loan = _item_and_loan_request(world)
    start = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    before = _counts()
    statuses = (Loan.objects.get(pk=loan.pk).status, Item.objects.get(pk=own_item.pk).status)
    stranger = theirs.staff
    attempts = [
        lambda: assistance_require(stranger, member.pk),
        lambda: services.assisted_item_create(
            volunteer=stranger, member_id=member.pk, title="X", category="diy"
        ),
        lambda: services.assisted_item_withdraw(
            volunteer=stranger, member_id=member.pk, item_id=own_item.pk
        ),
        lambda: services.assisted_loan_request(
            volunteer=stranger,
            member_id=member.pk,
            item_id=ours.item.pk,
            starts_at=start + timedelta(days=3),
            ends_at=start + timedelta(days=4),
        ),
        lambda: services.assisted_loan_act(
            volunteer=stranger, member_id=member.pk, loan_id=loan.pk, action="cancel"
        ),
        lambda: services.assisted_order_declare(
            volunteer=stranger,
            member_id=member.pk,
            merchant_name="X",
            carrier="Posti",
            tracking_number="",
            expected_on=timezone.localdate(),
            parcels=[ParcelIn(size="s", weight="light")],
        ),
        lambda: services.assisted_member_consent(
            volunteer=stranger, member_id=member.pk, method="oral"
        ),
        lambda: services.assisted_member_details(
            volunteer=stranger, member_id=member.pk, phone="", walking_profile="walk"
        ),
        lambda: services.assisted_member_take_over(
            volunteer=stranger, member_id=member.pk, email="x@example.org"
        ),
        # Nor may an ordinary resident, nor ours' volunteer for someone who is not assisted.
        lambda: assistance_require(ours.members[0], member.pk),
        lambda: assistance_require(ours.staff, ours.members[1].pk),
    ]
    for attempt in attempts:
        with pytest.raises(AssistedMemberNotFoundError) as refused:
            attempt()
        assert (refused.value.status_code, refused.value.code) == (404, "assisted_member_not_found")
    assert _counts() == before
    assert (
        Loan.objects.get(pk=loan.pk).status,
        Item.objects.get(pk=own_item.pk).status,
    ) == statuses


def test_a_superuser_may_act_for_any_assisted_member(world):
    admin = UserFactory(is_staff=True, is_superuser=True)
    item = services.assisted_item_create(
        volunteer=admin, member_id=world.member.pk, title="Escabeau", category="diy"
    )
    assert item.owner_id == world.member.pk
    assert _actions(world.member)[-1] == ("item_create", admin.pk)


def test_new_documents_stop_every_action_until_the_consent_is_recorded_again(world, settings):
    ours, member = world.ours, world.member
    settings.TERMS_VERSION = "2099-01"
    before = _counts()
    with pytest.raises(AssistedConsentRequiredError) as refused:
        services.assisted_item_create(
            volunteer=ours.staff, member_id=member.pk, title="Escabeau", category="diy"
        )
    assert (refused.value.status_code, refused.value.code) == (403, "consent_required")
    assert _counts() == before

    services.assisted_member_consent(
        volunteer=ours.staff, member_id=member.pk, method="paper", note="classeur 2099"
    )
    member.refresh_from_db()
    assert member.terms_version == "2099-01"
    new = Consent.objects.get(user=member, document="terms", version="2099-01")
    assert (new.method, new.recorded_by_id, new.note) == ("paper", ours.staff.pk, "classeur 2099")
    item = services.assisted_item_create(
        volunteer=ours.staff, member_id=member.pk, title="Escabeau", category="diy"
    )
    assert item.owner_id == member.pk


# --- the member takes the account over -----------------------------------------------------------


def test_the_member_takes_the_account_over_and_the_volunteer_can_no_longer_act(
    world, smtp_server, client, eager_tasks, django_capture_on_commit_callbacks
):
    ours, member = world.ours, world.member
    with django_capture_on_commit_callbacks(execute=True):
        services.assisted_member_take_over(
            volunteer=ours.staff, member_id=member.pk, email="Madeleine@Example.org"
        )
    # Until the link is opened, the volunteer still acts for the member.
    assert assistance_require(ours.staff, member.pk) == member
    mail = smtp_server.wait_for(1, to="madeleine@example.org")[0]
    assert mail.subject == "Votre compte Voisinage est à vous"
    link = next(link for link in mail.links() if "/account/take-over?" in link)
    token = mail.token()

    page = client.get(f"/account/take-over?token={token}", HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 200
    assert "Prendre mon compte en main" in page.content.decode()
    weak = client.post("/account/take-over", {"token": token, "password": "short"})
    assert weak.status_code == 400
    member.refresh_from_db()
    assert member.is_assisted is True

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            "/account/take-over",
            {"token": token, "password": "a-long-passphrase-42"},
            HTTP_ACCEPT_LANGUAGE="fr",
        )
    assert done.status_code == 200, done.content
    member.refresh_from_db()
    assert (member.email, member.is_assisted) == ("madeleine@example.org", False)
    assert member.email_verified_at is not None
    assert member.check_password("a-long-passphrase-42")
    # The member's own consent, items and membership stay theirs.
    assert Membership.objects.get(user=member).status == "active"

    with pytest.raises(AssistedMemberNotFoundError):
        assistance_require(ours.staff, member.pk)
    with pytest.raises(AssistedMemberNotFoundError):
        services.assisted_item_create(
            volunteer=ours.staff, member_id=member.pk, title="Escabeau", category="diy"
        )
    assert list(assisted_members_for(ours.staff)) == []
    assert link.startswith(settings.PUBLIC_BASE_URL)

    # The member logs in to the app.
    login = client.post(
        "/api/v1/auth/token",
        {"email": "madeleine@example.org", "password": "a-long-passphrase-42"},
        content_type="application/json",
    )
    assert login.status_code == 200, login.content
    # The link works once.
    again = client.post("/account/take-over", {"token": token, "password": "another-passphrase-9"})
    assert again.status_code == 400


def test_an_address_that_has_an_account_is_not_taken_over(
    world, smtp_server, eager_tasks, django_capture_on_commit_callbacks
):
    ours, member = world.ours, world.member
    owner = ours.members[0]
    with django_capture_on_commit_callbacks(execute=True):
        services.assisted_member_take_over(
            volunteer=ours.staff, member_id=member.pk, email=owner.email
        )
    mail = smtp_server.wait_for(1, to=owner.email)[0]
    assert "/account/reset-password?" in mail.text
    assert not AccountToken.objects.filter(user=member).exists()
    member.refresh_from_db()
    assert (member.email, member.is_assisted) == (None, True)


# --- the person's rights -------------------------------------------------------------------------


def test_deleting_an_assisted_member_keeps_the_history_without_details(world):
    ours, member = world.ours, world.member
    services.assisted_item_create(
        volunteer=ours.staff, member_id=member.pk, title="Tabouret", category="diy"
    )
    user_delete(user=member, checked=True)
    member.refresh_from_db()
    assert member.is_assisted is False and member.deleted_at is not None
    assert member.phone == "" and member.email.endswith("@deleted.invalid")
    assert list(
        AssistedAction.objects.filter(member=member).order_by("pk").values_list("action", "detail")
    ) == [("register", ""), ("item_create", "")]
    assert not Consent.objects.filter(user=member).exists()


def test_the_member_asks_the_association_to_delete_their_account(world):
    ours, theirs, member = world.ours, world.theirs, world.member
    item, loan = _item_and_loan_request(world)
    # Another association's volunteer: as if the member did not exist, and nothing changes.
    before = _counts()
    with pytest.raises(AssistedMemberNotFoundError):
        services.assisted_member_delete(volunteer=theirs.staff, member_id=member.pk, how="x")
    assert _counts() == before
    assert User.objects.get(pk=member.pk).deleted_at is None
    # While the drill is in her hands, the deletion is refused, and nothing is recorded.
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.ACTIVE)
    with pytest.raises(DomainError) as refused:
        services.assisted_member_delete(volunteer=ours.staff, member_id=member.pk, how="x")
    assert refused.value.code == "active_loans"
    assert _counts() == before
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.CLOSED)
    deleted = services.assisted_member_delete(
        volunteer=ours.staff, member_id=member.pk, how="at the desk"
    )
    assert deleted.deleted_at is not None and deleted.is_assisted is False
    assert Item.objects.get(pk=item.pk).status == Item.Status.WITHDRAWN
    # The deletion's row keeps how she asked; the others lost their details.
    assert list(
        AssistedAction.objects.filter(member=member).order_by("pk").values_list("action", "detail")
    ) == [("register", ""), ("item_create", ""), ("loan_request", ""), ("delete", "at the desk")]
    assert AssistedAction.objects.get(member=member, action="delete").volunteer_id == ours.staff.pk
    # Done: no volunteer can act for her any more.
    with pytest.raises(AssistedMemberNotFoundError):
        services.assisted_member_delete(volunteer=ours.staff, member_id=member.pk, how="x")


def test_the_history_is_kept_for_its_period_and_assisted_accounts_are_never_purged(world, settings):
    member = world.member
    long_ago = timezone.now() - timedelta(days=settings.ASSISTANCE_AUDIT_DAYS + 1)
    AssistedAction.objects.filter(member=member).update(at=long_ago)
    services.assisted_item_create(
        volunteer=world.ours.staff, member_id=member.pk, title="Tabouret", category="diy"
    )
    assert services.assisted_actions_purge() == 1
    assert [a for a, _v in _actions(member)] == ["item_create"]

    User.objects.filter(pk=member.pk).update(date_joined=long_ago)
    later = timezone.now() + timedelta(days=settings.ACCOUNT_UNVERIFIED_DAYS + 1)
    assert member not in unverified_accounts_candidates(now=later)
