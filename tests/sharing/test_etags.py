"""ETag and If-None-Match on details: no change, no body."""

from __future__ import annotations

import pytest

from sharing.services import loans as loan_services


@pytest.mark.django_db
def test_an_item_answers_304_until_it_changes(make_resident, make_item, client_for):
    owner = make_resident()
    item = make_item(owner=owner, title="Perceuse")
    client = client_for(owner)

    first = client.get(f"/api/v1/items/{item.pk}")
    etag = first["ETag"]
    assert first.status_code == 200 and etag

    same = client.get(f"/api/v1/items/{item.pk}", HTTP_IF_NONE_MATCH=etag)
    assert same.status_code == 304 and same.content == b""

    client.patch(f"/api/v1/items/{item.pk}", {"title": "Perceuse à percussion"}, format="json")
    changed = client.get(f"/api/v1/items/{item.pk}", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


@pytest.mark.django_db
def test_a_loan_answers_304_until_its_status_moves(make_resident, make_item, period, client_for):
    lender, borrower = make_resident(), make_resident()
    item = make_item(owner=lender)
    loan = loan_services.loan_request(
        borrower=borrower, item_id=item.pk, starts_at=period[0], ends_at=period[1]
    )
    client = client_for(borrower)
    etag = client.get(f"/api/v1/loans/{loan.pk}")["ETag"]
    assert client.get(f"/api/v1/loans/{loan.pk}", HTTP_IF_NONE_MATCH=etag).status_code == 304

    loan_services.loan_accept(actor=lender, loan_id=loan.pk)
    moved = client.get(f"/api/v1/loans/{loan.pk}", HTTP_IF_NONE_MATCH=etag)
    assert moved.status_code == 200 and moved.json()["status"] == "accepted"
    # Another person's answer is another body: never the owner's ETag for them.
    assert client_for(lender).get(f"/api/v1/loans/{loan.pk}")["ETag"] != moved["ETag"]
