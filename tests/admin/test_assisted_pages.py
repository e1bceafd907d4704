"""The permanence pages of the panel: ours' volunteer registers an assisted member and acts for
them through the forms; another association's volunteer gets 404 on every page and every form,
and nothing changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Consent, User
from assistance.models import AssistedAction
from neighbourhoods.models import Membership
from pooling.models import Order
from sharing.models import Item, Loan
from tests.accounts.factories import UserFactory
from tests.accounts.geocoder_server import ban_feature
from tests.assistance.conftest import ADDRESS, HOME, LABEL, register

pytestmark = pytest.mark.django_db

LIST = "/admin/assisted/"
REGISTER = "/admin/assisted/register/"


def page(member: User) -> str:
    return f"/admin/assisted/{member.pk}/"


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "consents": Consent.objects.count(),
        "memberships": Membership.objects.count(),
        "items": Item.objects.count(),
        "loans": Loan.objects.count(),
        "orders": Order.objects.count(),
        "audit": AssistedAction.objects.count(),
    }


def test_a_volunteer_registers_and_acts_through_the_pages(ours, theirs, admin_client, geocoders):
    geocoders.ban.results[ADDRESS] = ban_feature(lon=HOME[0], lat=HOME[1], label=LABEL)
    me = admin_client(ours.staff)
    listing = me.get(LIST)
    assert listing.status_code == 200
    assert "Inscrire un membre accompagné" in listing.content.decode()

    form = me.get(REGISTER)
    assert form.status_code == 200
    # Only the neighbourhoods the volunteer runs are offered.
    choices = form.context["form"].fields["neighbourhood"].queryset
    assert list(choices) == [ours.neighbourhood]

    # Without the consent ticked, nothing is created.
    fields = {
        "neighbourhood": ours.neighbourhood.pk,
        "display_name": "Madeleine R.",
        "phone": "",
        "home_address": ADDRESS,
        "walking_profile": "wheelchair",
        "language": "fr",
        "consent_method": "paper",
        "consent_note": "classeur de la permanence",
    }
    before = _counts()
    refused = me.post(REGISTER, fields)
    assert refused.status_code == 200
    assert "consent_given" in refused.context["form"].errors
    # Another association's neighbourhood is not a choice.
    forged = me.post(
        REGISTER, {**fields, "neighbourhood": theirs.neighbourhood.pk, "consent_given": "on"}
    )
    assert "neighbourhood" in forged.context["form"].errors
    assert _counts() == before

    done = me.post(REGISTER, {**fields, "consent_given": "on"})
    member = User.objects.get(is_assisted=True)
    assert done.status_code == 302 and done["Location"] == page(member)
    assert (member.display_name, member.phone, member.walking_profile, member.email) == (
        "Madeleine R.",
        "",
        "wheelchair",
        None,
    )
    assert set(Consent.objects.filter(user=member).values_list("method", "note")) == {
        ("paper", "classeur de la permanence")
    }

    shown = me.get(page(member))
    assert shown.status_code == 200
    text = shown.content.decode()
    assert "Permanence : Madeleine R." in text and LABEL in text

    listed = me.post(
        page(member),
        {
            "form": "item",
            "title": "Tabouret",
            "category": "diy",
            "description": "",
            "condition": "good",
            "deposit_cents": 0,
            "max_loan_days": 7,
        },
    )
    assert listed.status_code == 302
    item = Item.objects.get(owner=member)
    assert item.title == "Tabouret"

    search = me.get(page(member), {"q": "perceuse", "category": "", "minutes": 20})
    assert [row["item"].pk for row in search.context["search"]["results"]] == [ours.item.pk]

    start = timezone.localtime() + timedelta(days=1)
    asked = me.post(
        page(member),
        {
            "form": "loan_request",
            "prefix": f"item{ours.item.pk}",
            f"item{ours.item.pk}-item": ours.item.pk,
            f"item{ours.item.pk}-starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            f"item{ours.item.pk}-ends_at": (start + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            f"item{ours.item.pk}-message": "",
        },
    )
    assert asked.status_code == 302
    loan = Loan.objects.get(borrower=member)
    assert (loan.lender_id, loan.status) == (ours.members[0].pk, "requested")

    declared = me.post(
        page(member),
        {
            "form": "order",
            "merchant_name": "Pharmacie",
            "carrier": "Posti",
            "tracking_number": "JJ1",
            "expected_on": timezone.localdate().isoformat(),
            "size": "s",
            "weight": "light",
            "count": 2,
        },
    )
    assert declared.status_code == 302
    order = Order.objects.get(resident=member)
    assert order.parcels.count() == 2

    assert list(
        AssistedAction.objects.filter(member=member).order_by("pk").values_list("action", flat=True)
    ) == ["register", "item_create", "loan_request", "order_declare"]
    assert set(AssistedAction.objects.values_list("volunteer_id", flat=True)) == {ours.staff.pk}

    # A refusal of the service is shown on the page, and changes nothing.
    before = _counts()
    again = me.post(
        page(member),
        {
            "form": "loan_action",
            "prefix": f"loan{loan.pk}",
            f"loan{loan.pk}-loan": loan.pk,
            f"loan{loan.pk}-action": "handover",
            f"loan{loan.pk}-code": "",
            f"loan{loan.pk}-condition": "",
        },
    )
    assert again.status_code == 200
    assert _counts() == before and Loan.objects.get(pk=loan.pk).status == "requested"


def test_another_associations_volunteer_gets_404_everywhere(ours, theirs, admin_client, geocoders):
    member = register(ours, geocoders)
    stranger = admin_client(theirs.staff)
    assert stranger.get(page(member)).status_code == 404
    assert member.display_name not in stranger.get(LIST).content.decode()
    before = _counts()
    start = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    posts = [
        {
            "form": "item",
            "title": "X",
            "category": "diy",
            "description": "",
            "condition": "good",
            "deposit_cents": 0,
            "max_loan_days": 7,
        },
        {
            "form": "loan_request",
            "prefix": "i",
            "i-item": ours.item.pk,
            "i-starts_at": start,
            "i-ends_at": start,
            "i-message": "",
        },
        {
            "form": "order",
            "merchant_name": "X",
            "carrier": "Posti",
            "tracking_number": "",
            "expected_on": timezone.localdate().isoformat(),
            "size": "s",
            "weight": "light",
            "count": 1,
        },
        {"form": "consent", "method": "oral", "note": "", "given": "on"},
        {"form": "details", "phone": "0600000000", "walking_profile": "walk"},
        {"form": "take_over", "email": "x@example.org"},
        {"form": "delete", "how": "at the desk", "name": member.display_name},
    ]
    for body in posts:
        assert stranger.post(page(member), body).status_code == 404, body["form"]
    assert _counts() == before
    member.refresh_from_db()
    assert (member.phone, member.walking_profile, member.is_assisted) == (
        "01 23 45 67 89",
        "slow",
        True,
    )

    # Staff of no association: no permanence at all. A resident: not in the panel.
    nobody = admin_client(UserFactory(is_staff=True))
    assert nobody.get(LIST).status_code == 403
    assert nobody.get(page(member)).status_code == 404
    resident = admin_client(ours.members[0])
    assert resident.get(page(member)).status_code == 302  # to the admin's login

    # The history list is scoped as well.
    assert stranger.get("/admin/assistance/assistedaction/").status_code == 200
    row = AssistedAction.objects.get(member=member)
    assert stranger.get(f"/admin/assistance/assistedaction/{row.pk}/change/").status_code == 404
    assert (
        admin_client(ours.staff)
        .get(f"/admin/assistance/assistedaction/{row.pk}/change/")
        .status_code
        == 200
    )


def test_the_account_is_deleted_from_the_page_once_the_name_is_typed(ours, admin_client, geocoders):
    member = register(ours, geocoders)
    volunteer = admin_client(ours.staff)
    before = _counts()
    wrong = volunteer.post(page(member), {"form": "delete", "how": "at the desk", "name": "Jean"})
    assert wrong.status_code == 200
    assert "Ce n&#x27;est pas le nom du membre." in wrong.content.decode()
    assert _counts() == before
    assert User.objects.get(pk=member.pk).deleted_at is None
    done = volunteer.post(
        page(member), {"form": "delete", "how": "in writing", "name": member.display_name}
    )
    assert (done.status_code, done["Location"]) == (302, LIST)
    member.refresh_from_db()
    assert member.deleted_at is not None and not member.is_assisted
    assert AssistedAction.objects.get(member=member, action="delete").detail == "in writing"
    assert volunteer.get(page(member)).status_code == 404


def test_a_copy_of_the_members_data_is_prepared_and_handed_over(
    ours, theirs, admin_client, geocoders, eager_tasks, django_capture_on_commit_callbacks
):
    import io
    import zipfile

    from accounts.models import DataExport

    member = register(ours, geocoders)
    volunteer = admin_client(ours.staff)
    with django_capture_on_commit_callbacks(execute=True):
        asked = volunteer.post(page(member), {"form": "export"})
    assert (asked.status_code, asked["Location"]) == (302, page(member))
    data_export = DataExport.objects.get(user=member)
    assert data_export.status == DataExport.Status.READY
    shown = volunteer.get(page(member)).content.decode()
    link = f"/admin/assisted/{member.pk}/exports/{data_export.pk}.zip"
    assert f'href="{link}"' in shown
    # Another association's volunteer: neither the page nor the file.
    stranger = admin_client(theirs.staff)
    assert stranger.get(link).status_code == 404
    assert stranger.post(page(member), {"form": "export"}).status_code == 404
    assert DataExport.objects.filter(user=member).count() == 1
    response = volunteer.get(link)
    assert (response.status_code, response["Content-Type"]) == (200, "application/zip")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "profile.json" in archive.namelist()
    assert "assistance/actions_on_my_behalf.json" in archive.namelist()
    assert list(
        AssistedAction.objects.filter(member=member).order_by("pk").values_list("action", "detail")
    )[-2:] == [("export", str(data_export.pk)), ("export_download", str(data_export.pk))]
