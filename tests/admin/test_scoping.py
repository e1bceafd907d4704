"""An association's volunteer sees and changes only their own neighbourhoods' rows: lists, change
forms, actions, CSV exports and the dashboard, all enforced on the server."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import translation

from neighbourhoods.models import Membership
from neighbourhoods.services import STAFF_GROUP_NAME
from panel import stats
from sharing.models import Item, Report

pytestmark = pytest.mark.django_db


def test_the_staff_group_holds_the_volunteers_permissions_and_no_delete(ours):
    group = ours.staff.groups.get()
    assert group.name == STAFF_GROUP_NAME
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"change_membership", "change_report", "add_batch", "change_relaypoint"} <= codenames
    assert not any(c.startswith("delete_") for c in codenames)
    assert "view_user" not in codenames and "view_merchant" not in codenames


@pytest.mark.parametrize(
    "url",
    [
        "/admin/neighbourhoods/membership/",
        "/admin/sharing/report/",
        "/admin/sharing/item/",
        "/admin/neighbourhoods/neighbourhood/",
        "/admin/pooling/hub/",
    ],
)
def test_lists_show_only_our_rows(ours, theirs, admin_client, url):
    page = admin_client(ours.staff).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert ours.neighbourhood.name in html or ours.item.title in html or ours.hub.name in html
    for secret in (
        theirs.neighbourhood.name,
        theirs.item.title,
        theirs.hub.name,
        theirs.pending.user.email,
    ):
        assert secret not in html


def test_their_change_forms_do_not_exist_for_us(ours, theirs, admin_client):
    client = admin_client(ours.staff)
    for url in (
        f"/admin/neighbourhoods/membership/{theirs.pending.pk}/change/",
        f"/admin/sharing/report/{theirs.report.pk}/change/",
        f"/admin/sharing/item/{theirs.item.pk}/change/",
        f"/admin/neighbourhoods/neighbourhood/{theirs.neighbourhood.pk}/change/",
        f"/admin/pooling/hub/{theirs.hub.pk}/change/",
        f"/admin/neighbourhoods/neighbourhood/{theirs.neighbourhood.pk}/history/",
    ):
        assert client.get(url).status_code == 404, url
    # Ours open.
    assert (
        client.get(f"/admin/neighbourhoods/membership/{ours.pending.pk}/change/").status_code == 200
    )
    assert client.get(f"/admin/sharing/report/{ours.report.pk}/change/").status_code == 200


def test_posting_to_their_neighbourhood_changes_nothing(ours, theirs, admin_client):
    client = admin_client(ours.staff)
    before = theirs.neighbourhood.name
    response = client.post(
        f"/admin/neighbourhoods/neighbourhood/{theirs.neighbourhood.pk}/change/",
        {"association": theirs.association.pk, "name": "Pris", "join_policy": "open"},
    )
    assert response.status_code == 404
    theirs.neighbourhood.refresh_from_db()
    assert theirs.neighbourhood.name == before


def test_forms_offer_only_our_neighbourhoods_and_refuse_theirs(ours, theirs, admin_client):
    client = admin_client(ours.staff)
    page = client.get("/admin/pooling/relaypoint/add/").content.decode()
    assert ours.neighbourhood.name in page and theirs.neighbourhood.name not in page
    response = client.post(
        "/admin/pooling/relaypoint/add/",
        {
            "kind": "shop",
            "name": "Kiosque volé",
            "location": '{"type": "Point", "coordinates": [2776000, 8437000]}',
            "neighbourhood": theirs.neighbourhood.pk,
            "capacity_per_day": 10,
            "opens_at": "09:00",
            "closes_at": "18:00",
            "is_active": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Kiosque volé" not in str(
        list(theirs.neighbourhood.relay_points.values_list("name", flat=True))
    )
    from pooling.models import RelayPoint

    assert not RelayPoint.objects.filter(name="Kiosque volé").exists()


def test_actions_on_their_rows_change_nothing(ours, theirs, admin_client):
    client = admin_client(ours.staff)
    client.post(
        "/admin/neighbourhoods/membership/",
        {"action": "approve", "_selected_action": [theirs.pending.pk], "index": 0},
    )
    client.post(
        "/admin/sharing/report/",
        {"action": "hide", "_selected_action": [theirs.report.pk], "index": 0},
    )
    client.post(
        "/admin/neighbourhoods/membership/",
        {
            "action": "suspend",
            "_selected_action": [theirs.members[0].memberships.get().pk],
            "apply": "1",
            "reason": "Non",
        },
    )
    theirs.pending.refresh_from_db()
    assert theirs.pending.status == Membership.Status.PENDING
    assert Report.objects.get(pk=theirs.report.pk).status == Report.Status.OPEN
    assert Item.objects.get(pk=theirs.item.pk).status == Item.Status.ACTIVE
    assert theirs.members[0].memberships.get().status == Membership.Status.ACTIVE


def test_our_actions_go_through_the_services(ours, admin_client):
    client = admin_client(ours.staff)
    client.post(
        "/admin/neighbourhoods/membership/",
        {"action": "approve", "_selected_action": [ours.pending.pk], "index": 0},
    )
    ours.pending.refresh_from_db()
    assert ours.pending.status == Membership.Status.ACTIVE
    assert ours.pending.decided_by == ours.staff
    client.post(
        "/admin/sharing/report/",
        {"action": "hide", "_selected_action": [ours.report.pk], "index": 0},
    )
    assert Item.objects.get(pk=ours.item.pk).status == Item.Status.HIDDEN
    report = Report.objects.get(pk=ours.report.pk)
    assert (report.status, report.handled_by) == (Report.Status.ACTIONED, ours.staff)
    target = ours.members[2].memberships.get()
    page = client.post(
        "/admin/neighbourhoods/membership/",
        {"action": "suspend", "_selected_action": [target.pk], "index": 0},
    )
    assert "Motif" in page.content.decode()  # asks for the reason first
    client.post(
        "/admin/neighbourhoods/membership/",
        {"action": "suspend", "_selected_action": [target.pk], "apply": "1", "reason": "Insultes"},
    )
    target.refresh_from_db()
    assert (target.status, target.suspended_reason) == ("suspended", "Insultes")


def test_csv_exports_hold_only_our_rows(ours, theirs, admin_client):
    client = admin_client(ours.staff)
    response = client.post(
        "/admin/neighbourhoods/membership/",
        {
            "action": "export_csv",
            "_selected_action": [m.pk for m in Membership.objects.all()],
            "index": 0,
        },
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    emails = {row[1] for row in rows[1:]}
    assert emails == set(
        Membership.objects.filter(neighbourhood=ours.neighbourhood).values_list(
            "user__email", flat=True
        )
    )


def test_dashboard_numbers_are_ours_and_theirs_are_refused(ours, theirs, admin_client):
    client = admin_client(ours.staff)
    page = client.get("/admin/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="chart-items"' in html and 'data-value="1"' in html
    table = stats.items_by_category([ours.neighbourhood.pk])
    assert table.rows == [
        {"category": "diy", "label": "Bricolage et outils", "items": 1}
    ] or table.values("items") == [1]
    assert (
        client.get(f"/admin/dashboard/?neighbourhood={theirs.neighbourhood.pk}").status_code == 404
    )
    assert (
        client.get(
            f"/admin/dashboard/items.csv?neighbourhood={theirs.neighbourhood.pk}"
        ).status_code
        == 404
    )
    exported = client.get("/admin/dashboard/items.csv").content.decode()
    assert exported.splitlines()[1].endswith(",1")


def test_a_staff_user_of_no_association_sees_nothing(db, admin_client, ours):
    from accounts.models import User
    from neighbourhoods.services import staff_grant

    loner = staff_grant(user=User.objects.create_user("loner@example.org", "a-long-passphrase-42"))
    client = admin_client(loner)
    assert client.get("/admin/dashboard/").status_code == 403
    page = client.get("/admin/neighbourhoods/membership/").content.decode()
    assert ours.pending.user.email not in page


def test_anonymous_is_sent_to_the_login(client):
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_relay_point_added_on_the_map_goes_through_the_service(ours, admin_client, settings):
    settings.MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # no tile server: forms still work
    from pooling.models import RelayPoint

    client = admin_client(ours.staff)
    page = client.get("/admin/pooling/relaypoint/add/").content.decode()
    assert "vendor/ol-7.2.2/ol.js" in page and "127.0.0.1:9" in page
    response = client.post(
        "/admin/pooling/relaypoint/add/",
        {
            "kind": "shop",
            "name": "Kiosque du coin",
            "location": '{"type": "Point", "coordinates": [2776500, 8437200]}',
            "neighbourhood": ours.neighbourhood.pk,
            "capacity_per_day": 12,
            "opens_at": "09:00",
            "closes_at": "18:00",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    relay = RelayPoint.objects.get(name="Kiosque du coin")
    assert relay.neighbourhood == ours.neighbourhood and len(relay.handover_code) == 6
    assert relay.location.x == pytest.approx(24.9418, abs=1e-3)


def test_planning_their_neighbourhood_is_refused_and_opens_nothing(ours, theirs, admin_client):
    from pooling.models import Batch

    client = admin_client(ours.staff)
    page = client.get("/admin/rounds/plan/").content.decode()
    assert ours.neighbourhood.name in page and theirs.neighbourhood.name not in page
    response = client.post(
        "/admin/rounds/plan/", {"neighbourhood": theirs.neighbourhood.pk, "day": "2026-05-15"}
    )
    assert response.status_code == 200  # the form again: not a valid choice
    assert not Batch.objects.exists()


def test_english_is_one_click_away(ours, admin_client):
    client = admin_client(ours.staff)
    assert "Tableau de bord" in client.get("/admin/dashboard/").content.decode()
    client.post("/admin/language/", {"language": "en", "next": "/admin/dashboard/"})
    page = client.get("/admin/dashboard/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Loans per week" in page and "Prêts par semaine" not in page
    translation.deactivate()  # the request left English active in this thread


def _disputed_loan(side):
    """A loan between two members of ``side``, handed over, then disputed by the lender."""
    from datetime import timedelta

    from django.utils import timezone

    from sharing.services.loans import (
        loan_accept,
        loan_dispute,
        loan_handover,
        loan_request,
    )

    lender, borrower = side.members[0], side.members[1]
    start = timezone.now() + timedelta(hours=1)
    loan = loan_request(
        borrower=borrower, item_id=side.item.pk, starts_at=start, ends_at=start + timedelta(days=1)
    )
    loan = loan_accept(actor=lender, loan_id=loan.pk)
    loan_handover(actor=lender, loan_id=loan.pk, code=None)
    loan_handover(actor=borrower, loan_id=loan.pk, code=None)
    return loan_dispute(actor=lender, loan_id=loan.pk, reason="Le mandrin manque.")


def test_a_dispute_is_settled_by_our_volunteers_only(ours, theirs, admin_client):
    from notifications.models import Event
    from sharing.models import Loan

    ours_loan, their_loan = _disputed_loan(ours), _disputed_loan(theirs)
    settle = {"action": "settle_dispute", "apply": "1", "reason": "Le mandrin a été rendu."}
    # Another association's volunteer cannot see nor settle ours.
    admin_client(theirs.staff).post(
        "/admin/sharing/loan/", {**settle, "_selected_action": [ours_loan.pk]}
    )
    assert Loan.objects.get(pk=ours_loan.pk).status == Loan.Status.DISPUTED
    client = admin_client(ours.staff)
    page = client.get(f"/admin/sharing/loan/{ours_loan.pk}/change/").content.decode()
    assert "settle_dispute" in page and "Le mandrin manque." in page
    asks = client.post(
        "/admin/sharing/loan/", {"action": "settle_dispute", "_selected_action": [ours_loan.pk]}
    )
    assert asks.status_code == 200 and "Régler des litiges" in asks.content.decode()
    client.post("/admin/sharing/loan/", {**settle, "_selected_action": [ours_loan.pk]})
    loan = Loan.objects.get(pk=ours_loan.pk)
    assert (loan.status, loan.dispute_resolution, loan.dispute_resolved_by) == (
        Loan.Status.CLOSED,
        "Le mandrin a été rendu.",
        ours.staff,
    )
    assert loan.closed_at is not None and loan.dispute_resolved_at is not None
    told = Event.objects.filter(type="loan.dispute_settled")
    assert {e.recipient_id for e in told} == {loan.lender_id, loan.borrower_id}
    assert {e.data["resolution"] for e in told} == {"Le mandrin a été rendu."}
    # Theirs is untouched, and settling twice is refused (nothing changes).
    assert Loan.objects.get(pk=their_loan.pk).status == Loan.Status.DISPUTED
    client.post(
        "/admin/sharing/loan/", {**settle, "reason": "Autre", "_selected_action": [loan.pk]}
    )
    assert Loan.objects.get(pk=loan.pk).dispute_resolution == "Le mandrin a été rendu."


def test_settling_a_dispute_is_refused_to_the_parties_and_on_other_states(ours):
    from backend.errors import ConflictError, DomainError, ForbiddenError
    from sharing.models import Loan
    from sharing.services.loans import loan_dispute_settle

    loan = _disputed_loan(ours)
    for party in (ours.members[0], ours.members[1]):
        with pytest.raises(ForbiddenError):
            loan_dispute_settle(staff=party, loan_id=loan.pk, resolution="Je gagne.")
    with pytest.raises(DomainError):
        loan_dispute_settle(staff=ours.staff, loan_id=loan.pk, resolution="   ")
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.DISPUTED
    loan_dispute_settle(staff=ours.staff, loan_id=loan.pk, resolution="Réglé à l'amiable.")
    with pytest.raises(ConflictError):
        loan_dispute_settle(staff=ours.staff, loan_id=loan.pk, resolution="Encore")


def test_the_couriers_list_says_who_is_on_duty(ours, theirs, admin_client):
    from django.utils import timezone

    from tests.pooling.factories import CourierFactory

    on = CourierFactory(hub=ours.hub, user__display_name="Camille en tournée")
    CourierFactory(hub=ours.hub, user__display_name="Dominique au repos")
    CourierFactory(hub=theirs.hub, user__display_name="Eux")
    type(on).objects.filter(pk=on.pk).update(on_duty=True, on_duty_since=timezone.now())
    client = admin_client(ours.staff)
    page = client.get("/admin/pooling/courier/").content.decode()
    assert "en service" in page and "Camille" in page and "Dominique" in page
    assert "Eux" not in page
    duty = client.get("/admin/pooling/courier/", {"on_duty__exact": "1"}).content.decode()
    assert "Camille" in duty and "Dominique" not in duty
