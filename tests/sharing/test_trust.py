from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from psycopg.types.range import Range

from neighbourhoods.models import Membership
from notifications.models import Event
from sharing.models import Conversation, Item, Loan, Message, Offer, Rating, Report, WantedRequest
from sharing.services import loans as loan_services
from sharing.services.conversations import message_send
from sharing.services.trust import rating_create, report_create
from tests.neighbourhoods.factories import AssociationFactory, NeighbourhoodFactory
from tests.sharing.factories import ItemFactory


def _events(user, kind):
    return list(
        Event.objects.filter(recipient=user, type=kind)
        .order_by("seq")
        .values_list("data", flat=True)
    )


def _closed_loan(lender, borrower, item, period):
    """A loan taken through its whole life by the real services."""
    loan = loan_services.loan_request(
        borrower=borrower, item_id=item.pk, starts_at=period[0], ends_at=period[1]
    )
    loan_services.loan_accept(actor=lender, loan_id=loan.pk)
    start = timezone.now() - timedelta(hours=1)
    Loan.objects.filter(pk=loan.pk).update(
        period=Range(start, start + timedelta(days=1), "[)"),
        hold=Range(start - timedelta(hours=2), start + timedelta(days=1, hours=2), "[)"),
    )
    loan_services.loan_handover(actor=lender, loan_id=loan.pk)
    loan_services.loan_handover(actor=borrower, loan_id=loan.pk)
    loan_services.loan_return(actor=borrower, loan_id=loan.pk)
    loan_services.loan_confirm_return(actor=lender, loan_id=loan.pk, condition="fine")
    return Loan.objects.get(pk=loan.pk)


@pytest.fixture
def people(make_resident, make_item, association):
    lender = make_resident(name="Léa")
    borrower = make_resident(name="Camille")
    stranger = make_resident(name="Hugo")
    staff = make_resident(name="Staff")
    association.staff.add(staff)
    other_association = AssociationFactory(name="Voisins d'ailleurs")
    elsewhere = NeighbourhoodFactory(association=other_association, name="Ailleurs", central=True)
    other_staff = make_resident(name="Autre staff", where=elsewhere)
    other_association.staff.add(other_staff)
    outsider = make_resident(name="Outsider", where=elsewhere)
    item = make_item(owner=lender, title="Machine à coudre Singer", category="sewing")
    return {
        "lender": lender,
        "borrower": borrower,
        "stranger": stranger,
        "staff": staff,
        "other_staff": other_staff,
        "outsider": outsider,
        "elsewhere": elsewhere,
        "item": item,
    }


# --- ratings ----------------------------------------------------------------------------------


def test_both_parties_rate_a_closed_loan_once(people, client_for, period):
    lender, borrower = people["lender"], people["borrower"]
    loan = _closed_loan(lender, borrower, people["item"], period)
    response = client_for(borrower).post(
        "/api/v1/ratings/", {"loan": loan.pk, "score": 5, "comment": "Parfait"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["ratee"] == {"id": lender.pk, "name": "Léa"}
    assert response.json()["score"] == 5
    back = client_for(lender).post("/api/v1/ratings/", {"loan": loan.pk, "score": 4}, format="json")
    assert back.status_code == 201 and back.json()["ratee"]["id"] == borrower.pk
    again = client_for(borrower).post(
        "/api/v1/ratings/", {"loan": loan.pk, "score": 1}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_rated")
    assert sorted(Rating.objects.values_list("rater_id", "ratee_id", "score")) == sorted(
        [(borrower.pk, lender.pk, 5), (lender.pk, borrower.pk, 4)]
    )


def test_refused_ratings_store_nothing(people, client_for, api_client, period):
    lender, borrower = people["lender"], people["borrower"]
    closed = _closed_loan(lender, borrower, people["item"], period)
    open_loan = loan_services.loan_request(
        borrower=borrower,
        item_id=people["item"].pk,
        starts_at=period[0] + timedelta(days=10),
        ends_at=period[1] + timedelta(days=10),
    )

    def rate(client, loan_id, score=5):
        return client.post("/api/v1/ratings/", {"loan": loan_id, "score": score}, format="json")

    cases = [
        (rate(api_client, closed.pk), 401, None),
        (rate(client_for(people["stranger"]), closed.pk), 403, "not_a_party"),
        (rate(client_for(people["staff"]), closed.pk), 403, "not_a_party"),
        (rate(client_for(borrower), open_loan.pk), 409, "loan_not_closed"),
        (rate(client_for(borrower), closed.pk, 6), 400, "invalid"),
        (rate(client_for(borrower), closed.pk, 0), 400, "invalid"),
        (rate(client_for(borrower), 999999), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert response.status_code == status
        if code:
            assert response.json()["code"] == code
    assert Rating.objects.count() == 0


def test_average_rating_shows_once_three_exist(
    people, make_resident, make_item, client_for, period
):
    lender = people["lender"]
    viewer = client_for(people["stranger"])
    url = f"/api/v1/items/{people['item'].pk}"
    for i, score in enumerate([5, 4, 4]):
        borrower = make_resident(name=f"Emprunteur {i}")
        item = make_item(owner=lender, title=f"Escabeau {i}")
        loan = _closed_loan(lender, borrower, item, period)
        rating_create(rater=borrower, loan_id=loan.pk, score=score)
        owner = viewer.get(url).json()["owner"]
        assert owner["rating"] == (None if i < 2 else 4.3)
    assert owner["response_rate"] == 1.0


def test_each_party_lists_the_ratings_they_received_and_gave(
    people, make_resident, client_for, api_client, period
):
    lender, borrower = people["lender"], people["borrower"]
    loan = _closed_loan(lender, borrower, people["item"], period)
    rating_create(rater=borrower, loan_id=loan.pk, score=5, comment="Parfait")
    rating_create(rater=lender, loan_id=loan.pk, score=4)
    received = client_for(lender).get("/api/v1/ratings/").json()
    assert received["next"] is None
    (row,) = received["results"]
    assert (row["score"], row["comment"], row["loan"]) == (5, "Parfait", loan.pk)
    assert row["rater"]["id"] == borrower.pk and row["ratee"]["id"] == lender.pk
    assert row["item_title"] == people["item"].title
    given = client_for(lender).get("/api/v1/ratings/", {"role": "given"}).json()
    assert [(r["score"], r["ratee"]["id"]) for r in given["results"]] == [(4, borrower.pk)]
    # Nobody else lists them; a bad role is a 400; anonymous is a 401.
    assert client_for(people["stranger"]).get("/api/v1/ratings/").json()["results"] == []
    bad = client_for(lender).get("/api/v1/ratings/", {"role": "everyone"})
    assert bad.status_code == 400 and "role" in bad.json()["fields"]
    assert api_client.get("/api/v1/ratings/").status_code == 401


# --- reports ----------------------------------------------------------------------------------


def test_reports_of_what_the_reporter_can_see(people, client_for, period):
    lender, borrower = people["lender"], people["borrower"]
    loan = loan_services.loan_request(
        borrower=borrower, item_id=people["item"].pk, starts_at=period[0], ends_at=period[1]
    )
    conversation = Conversation.objects.get(loan=loan)
    rude = message_send(sender=lender, conversation_id=conversation.pk, body="Message grossier")
    mine = message_send(sender=borrower, conversation_id=conversation.pk, body="Bonjour")
    cb = client_for(borrower)

    def report(client, **body):
        return client.post("/api/v1/reports/", {"reason": "Pas correct", **body}, format="json")

    ok_item = report(cb, target="item", item=people["item"].pk)
    assert ok_item.status_code == 201, ok_item.content
    assert ok_item.json()["status"] == "open"
    ok_message = report(cb, target="message", message=rude.pk)
    ok_member = report(cb, target="member", member=lender.pk)
    assert (ok_message.status_code, ok_member.status_code) == (201, 201)
    neighbourhood = Membership.objects.get(user=borrower).neighbourhood_id
    assert set(Report.objects.values_list("target", "neighbourhood_id")) == {
        ("item", neighbourhood),
        ("message", neighbourhood),
        ("member", neighbourhood),
    }
    refused = [
        (report(cb, target="item", item=people["item"].pk), 409, "already_reported"),
        (
            report(client_for(people["stranger"]), target="message", message=rude.pk),
            404,
            "not_found",
        ),
        (report(cb, target="message", message=mine.pk), 400, "own_message"),
        (report(cb, target="member", member=borrower.pk), 400, "own_account"),
        (
            report(client_for(people["outsider"]), target="item", item=people["item"].pk),
            404,
            "not_found",
        ),
        (
            report(client_for(people["outsider"]), target="member", member=lender.pk),
            404,
            "not_found",
        ),
        (report(cb, target="item", message=rude.pk), 400, "invalid"),
        (report(cb, target="item", item=people["item"].pk, reason=""), 400, "invalid"),
    ]
    for response, status, code in refused:
        assert (response.status_code, response.json()["code"]) == (status, code)
    assert Report.objects.count() == 3


@pytest.fixture
def reports(people):
    borrower = people["borrower"]
    item_report = report_create(
        reporter=borrower, target="item", item_id=people["item"].pk, reason="Objet interdit"
    )
    outsider_item = ItemFactory(
        owner=people["other_staff"],
        title="Vélo",
        category="mobility",
        location=people["item"].location,
    )
    elsewhere_report = report_create(
        reporter=people["outsider"], target="item", item_id=outsider_item.pk, reason="Douteux"
    )
    return {"item": item_report, "elsewhere": elsewhere_report}


def test_staff_see_the_reports_of_their_neighbourhoods_only(
    people, reports, client_for, api_client
):
    mine = client_for(people["staff"]).get("/api/v1/moderation/reports").json()["results"]
    assert [r["id"] for r in mine] == [reports["item"].pk]
    assert mine[0]["subject"] == {
        "id": people["item"].pk,
        "text": "Machine à coudre Singer",
        "owner": {"id": people["lender"].pk, "name": "Léa"},
        "hidden": False,
    }
    assert mine[0]["reporter"] == {"id": people["borrower"].pk, "name": "Camille"}
    theirs = client_for(people["other_staff"]).get("/api/v1/moderation/reports").json()["results"]
    assert [r["id"] for r in theirs] == [reports["elsewhere"].pk]
    resident = client_for(people["borrower"]).get("/api/v1/moderation/reports")
    assert (resident.status_code, resident.json()["code"]) == (403, "not_association_staff")
    assert api_client.get("/api/v1/moderation/reports").status_code == 401


@pytest.mark.parametrize("action", ["hide", "dismiss", "suspend"])
@pytest.mark.parametrize("actor", ["anonymous", "resident", "owner", "other_staff"])
def test_report_actions_are_for_the_neighbourhoods_staff(
    people, reports, client_for, api_client, action, actor
):
    report = reports["item"]
    client = (
        api_client
        if actor == "anonymous"
        else client_for(
            {
                "resident": people["borrower"],
                "owner": people["lender"],
                "other_staff": people["other_staff"],
            }[actor]
        )
    )
    response = client.post(
        f"/api/v1/moderation/reports/{report.pk}/{action}", {"reason": "Règlement"}, format="json"
    )
    assert response.status_code == (401 if actor == "anonymous" else 403)
    report.refresh_from_db()
    assert report.status == "open" and report.handled_by is None
    assert Item.objects.get(pk=people["item"].pk).status == "active"
    assert Membership.objects.get(user=people["lender"]).status == "active"


def test_hiding_an_item_removes_it_from_view(people, reports, client_for):
    report = reports["item"]
    second = report_create(
        reporter=people["stranger"], target="item", item_id=people["item"].pk, reason="Idem"
    )
    response = client_for(people["staff"]).post(f"/api/v1/moderation/reports/{report.pk}/hide")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "actioned"
    assert response.json()["subject"]["hidden"] is True
    assert Item.objects.get(pk=people["item"].pk).status == "hidden"
    second.refresh_from_db()
    assert (second.status, second.handled_by_id) == ("actioned", people["staff"].pk)
    assert (
        client_for(people["borrower"]).get(f"/api/v1/items/{people['item'].pk}").status_code == 404
    )
    again = client_for(people["staff"]).post(f"/api/v1/moderation/reports/{report.pk}/dismiss")
    assert (again.status_code, again.json()["code"]) == (409, "report_closed")


def test_hiding_a_message_and_dismissing(people, client_for, period):
    lender, borrower = people["lender"], people["borrower"]
    loan = loan_services.loan_request(
        borrower=borrower, item_id=people["item"].pk, starts_at=period[0], ends_at=period[1]
    )
    conversation = Conversation.objects.get(loan=loan)
    rude = message_send(sender=lender, conversation_id=conversation.pk, body="Grossier")
    report = report_create(
        reporter=borrower, target="message", message_id=rude.pk, reason="Insulte"
    )
    member_report = report_create(
        reporter=borrower, target="member", member_id=lender.pk, reason="x"
    )
    staff = client_for(people["staff"])
    assert staff.post(f"/api/v1/moderation/reports/{report.pk}/hide").status_code == 200
    assert Message.objects.get(pk=rude.pk).hidden is True
    listed = client_for(borrower).get(f"/api/v1/conversations/{conversation.pk}/messages")
    assert listed.json()["results"] == []
    nothing = staff.post(f"/api/v1/moderation/reports/{member_report.pk}/hide")
    assert (nothing.status_code, nothing.json()["code"]) == (400, "nothing_to_hide")
    dismissed = staff.post(f"/api/v1/moderation/reports/{member_report.pk}/dismiss")
    assert dismissed.json()["status"] == "dismissed"
    assert Membership.objects.get(user=lender).status == "active"


def test_suspension_through_a_report_locks_the_member_out(
    people, client_for, make_item, period, street_graph
):
    from sharing.services.wanted import offer_create, wanted_create

    lender, borrower = people["lender"], people["borrower"]
    # The lender has a pending loan request, an open wanted request and a pending offer.
    pending = loan_services.loan_request(
        borrower=borrower, item_id=people["item"].pk, starts_at=period[0], ends_at=period[1]
    )
    their_wanted = wanted_create(
        requester=lender, title="Tente", starts_at=period[0], ends_at=period[1]
    )
    drill = make_item(owner=borrower, title="Perceuse")
    borrowers_wanted = wanted_create(
        requester=people["stranger"], title="Perceuse", starts_at=period[0], ends_at=period[1]
    )
    spare = make_item(owner=lender, title="Perceuse Makita")
    offer = offer_create(lender=lender, wanted_id=borrowers_wanted.pk, item_id=spare.pk)
    report = report_create(reporter=borrower, target="member", member_id=lender.pk, reason="x")
    staff = client_for(people["staff"])
    missing_reason = staff.post(f"/api/v1/moderation/reports/{report.pk}/suspend")
    assert (missing_reason.status_code, missing_reason.json()["code"]) == (400, "reason_required")
    assert Membership.objects.get(user=lender).status == "active"
    response = staff.post(
        f"/api/v1/moderation/reports/{report.pk}/suspend",
        {"reason": "Comportement répété"},
        format="json",
    )
    assert response.status_code == 200, response.content
    membership = Membership.objects.get(user=lender)
    assert (membership.status, membership.suspended_reason) == ("suspended", "Comportement répété")
    assert _events(lender, "membership.decided") == [
        {
            "neighbourhood_id": membership.neighbourhood_id,
            "neighbourhood_name": "Kamppi",
            "status": "suspended",
            "reason": "Comportement répété",
        }
    ]
    assert set(Item.objects.filter(owner=lender).values_list("status", flat=True)) == {"hidden"}
    assert Loan.objects.get(pk=pending.pk).status == "cancelled"
    assert WantedRequest.objects.get(pk=their_wanted.pk).status == "cancelled"
    assert Offer.objects.get(pk=offer.pk).status == "withdrawn"
    assert Item.objects.get(pk=drill.pk).status == "active"  # others' things are untouched
    # Locked out, through the API: no listing, no borrowing, no wanted request.
    cl = client_for(lender)
    refused = [
        cl.post("/api/v1/items/", {"title": "Tondeuse", "category": "garden"}, format="json"),
        cl.post(
            "/api/v1/loans/",
            {
                "item": drill.pk,
                "starts_at": period[0].isoformat(),
                "ends_at": period[1].isoformat(),
            },
            format="json",
        ),
        cl.post(
            "/api/v1/wanted/",
            {
                "title": "Perceuse",
                "starts_at": period[0].isoformat(),
                "ends_at": period[1].isoformat(),
            },
            format="json",
        ),
    ]
    for r in refused:
        assert (r.status_code, r.json()["code"]) == (403, "member_suspended")
    assert Item.objects.filter(owner=lender).count() == 2
    assert Loan.objects.filter(borrower=lender).count() == 0


# --- memberships ------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["approve", "refuse", "suspend"])
@pytest.mark.parametrize(
    "actor", ["anonymous", "resident", "member_himself", "other_staff", "staff"]
)
def test_membership_decisions_authorization_matrix(
    people, make_resident, client_for, api_client, action, actor
):
    newcomer = make_resident(name="Nouveau", status="active" if action == "suspend" else "pending")
    membership = Membership.objects.get(user=newcomer)
    before = (membership.status, membership.decided_by_id, membership.suspended_reason)
    client = (
        api_client
        if actor == "anonymous"
        else client_for(
            {
                "resident": people["borrower"],
                "member_himself": newcomer,
                "other_staff": people["other_staff"],
                "staff": people["staff"],
            }[actor]
        )
    )
    response = client.post(
        f"/api/v1/moderation/memberships/{membership.pk}/{action}",
        {"reason": "Annonces abusives"},
        format="json",
    )
    membership.refresh_from_db()
    if actor == "staff":
        assert response.status_code == 200, response.content
        status = {"approve": "active", "refuse": "refused", "suspend": "suspended"}[action]
        assert response.json()["status"] == membership.status == status
        expected = {
            "neighbourhood_id": membership.neighbourhood_id,
            "neighbourhood_name": "Kamppi",
            "status": status,
        }
        if action == "suspend":
            expected["reason"] = "Annonces abusives"
        assert _events(newcomer, "membership.decided") == [expected]
        assert membership.decided_by_id == people["staff"].pk
        return
    assert response.status_code == (401 if actor == "anonymous" else 403)
    if actor != "anonymous":
        assert response.json()["code"] == "not_association_staff"
    assert (membership.status, membership.decided_by_id, membership.suspended_reason) == before
    assert _events(newcomer, "membership.decided") == []


def test_staff_list_memberships_of_their_neighbourhoods(people, make_resident, client_for):
    newcomer = make_resident(name="Nouveau", status="pending")
    rows = client_for(people["staff"]).get("/api/v1/moderation/memberships?status=pending").json()
    assert [r["user"] for r in rows["results"]] == [{"id": newcomer.pk, "name": "Nouveau"}]
    theirs = client_for(people["other_staff"]).get("/api/v1/moderation/memberships?status=pending")
    assert theirs.json()["results"] == []
    already = client_for(people["staff"]).post(
        f"/api/v1/moderation/memberships/{Membership.objects.get(user=people['lender']).pk}/approve"
    )
    assert (already.status_code, already.json()["code"]) == (409, "not_pending")
