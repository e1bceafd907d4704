"""A loan's answer carries what the app shows beside it: its conversation and the item's
thumbnail (an absolute URL), in lists without a query per loan."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sharing.models import Conversation
from sharing.services import loans as loan_services
from sharing.services.items import item_photo_add


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.django_db
def test_a_loan_names_its_conversation_and_the_items_thumbnail(
    make_resident, make_item, period, client_for, django_assert_max_num_queries
):
    lender, borrower = make_resident(name="Léa"), make_resident(name="Hugo")
    drill, ladder = (
        make_item(owner=lender, title="Perceuse"),
        make_item(owner=lender, title="Échelle"),
    )
    photo = item_photo_add(actor=lender, item_id=drill.pk, data=jpeg())
    client = client_for(borrower)

    created = client.post(
        "/api/v1/loans/",
        {"item": drill.pk, "starts_at": period[0].isoformat(), "ends_at": period[1].isoformat()},
        format="json",
    ).json()
    conversation = Conversation.objects.get(loan_id=created["id"])
    assert created["conversation"] == conversation.pk
    assert created["thumbnail"] == f"http://testserver{photo.thumbnail.url}"

    loan_services.loan_request(
        borrower=borrower, item_id=ladder.pk, starts_at=period[0], ends_at=period[1]
    )
    listed = client.get("/api/v1/loans/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    by_item = {row["item"]["name"]: row for row in rows}
    assert by_item["Perceuse"]["thumbnail"] == created["thumbnail"]
    assert by_item["Échelle"]["thumbnail"] is None  # no photo
    assert all(isinstance(row["conversation"], int) for row in rows)

    with django_assert_max_num_queries(4):
        assert client.get("/api/v1/loans/").status_code == 200


@pytest.mark.django_db
def test_the_lender_chooses_where_to_meet_shown_only_once_accepted(
    make_resident, make_item, period, client_for
):
    lender, borrower = make_resident(), make_resident()
    item = make_item(owner=lender)
    loan = loan_services.loan_request(
        borrower=borrower, item_id=item.pk, starts_at=period[0], ends_at=period[1]
    )
    asking = client_for(borrower).get(f"/api/v1/loans/{loan.pk}").json()
    assert asking["meeting_point"] is None and asking["meeting_note"] is None

    near = {"type": "Point", "coordinates": [item.location.x + 0.001, item.location.y]}
    far = {"type": "Point", "coordinates": [item.location.x + 0.2, item.location.y]}
    refused = client_for(lender).post(
        f"/api/v1/loans/{loan.pk}/accept", {"meeting_point": far}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["code"] == "meeting_too_far"
    accepted = client_for(lender).post(
        f"/api/v1/loans/{loan.pk}/accept",
        {"meeting_point": near, "meeting_note": "Devant la boulangerie"},
        format="json",
    )
    assert accepted.status_code == 200, accepted.json()
    seen = client_for(borrower).get(f"/api/v1/loans/{loan.pk}").json()
    assert seen["meeting_point"]["coordinates"] == pytest.approx(near["coordinates"])
    assert seen["meeting_note"] == "Devant la boulangerie"


@pytest.mark.django_db
def test_without_a_chosen_place_they_meet_at_the_lenders_home(
    make_resident, make_item, period, client_for
):
    lender, borrower = make_resident(), make_resident()
    item = make_item(owner=lender)
    loan = loan_services.loan_request(
        borrower=borrower, item_id=item.pk, starts_at=period[0], ends_at=period[1]
    )
    client_for(lender).post(f"/api/v1/loans/{loan.pk}/accept", {}, format="json")
    seen = client_for(borrower).get(f"/api/v1/loans/{loan.pk}").json()
    assert seen["meeting_point"]["coordinates"] == pytest.approx([lender.home.x, lender.home.y])
