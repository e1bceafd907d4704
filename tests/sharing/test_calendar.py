"""An item's calendar: taken periods without who; the owner's blocked periods listed and
removed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sharing.services import loans as loan_services


@pytest.fixture
def lending(make_resident, make_item, period):
    lender, borrower, neighbour = make_resident(), make_resident(), make_resident()
    item = make_item(owner=lender)
    loan = loan_services.loan_request(
        borrower=borrower, item_id=item.pk, starts_at=period[0], ends_at=period[1]
    )
    loan_services.loan_accept(actor=lender, loan_id=loan.pk)
    return lender, borrower, neighbour, item, loan


@pytest.mark.django_db
def test_a_neighbour_sees_when_the_item_is_taken_but_not_by_whom(lending, client_for, period):
    lender, borrower, neighbour, item, _loan = lending
    block_start = period[1] + timedelta(days=3)
    blocked = client_for(lender).post(
        f"/api/v1/items/{item.pk}/blocked-periods",
        {
            "starts_at": block_start.isoformat(),
            "ends_at": (block_start + timedelta(days=1)).isoformat(),
            "reason": "vacances",
        },
        format="json",
    )
    assert blocked.status_code == 201 and isinstance(blocked.json()["id"], int)

    answer = client_for(neighbour).get(f"/api/v1/items/{item.pk}/availability")
    assert answer.status_code == 200
    body = answer.json()
    assert [p["kind"] for p in body["taken"]] == ["loan", "blocked"]
    text = answer.content.decode()
    assert borrower.display_name not in text and "vacances" not in text
    assert str(borrower.pk) not in [str(v) for p in body["taken"] for v in p.values()]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
        {"starts_at": "2030-01-01T00:00:00Z", "ends_at": "2032-01-01T00:00:00Z"},
        {"starts_at": "not a date"},
    ],
)
def test_a_backwards_or_too_long_window_is_400(lending, client_for, query):
    _lender, _borrower, neighbour, item, _loan = lending
    answer = client_for(neighbour).get(f"/api/v1/items/{item.pk}/availability", query)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid"


@pytest.mark.django_db
def test_an_item_nobody_may_borrow_is_404(lending, client_for, make_resident, neighbourhood):
    from tests.neighbourhoods.factories import NeighbourhoodFactory

    _lender, _borrower, _neighbour, item, _loan = lending
    outsider = make_resident(where=NeighbourhoodFactory())
    assert client_for(outsider).get(f"/api/v1/items/{item.pk}/availability").status_code == 404


@pytest.mark.django_db
def test_the_owner_lists_and_removes_blocked_periods(lending, client_for):
    lender, _borrower, neighbour, item, _loan = lending
    owner = client_for(lender)
    start = timezone.now() + timedelta(days=30)
    ids = [
        owner.post(
            f"/api/v1/items/{item.pk}/blocked-periods",
            {
                "starts_at": (start + timedelta(days=3 * n)).isoformat(),
                "ends_at": (start + timedelta(days=3 * n + 1)).isoformat(),
            },
            format="json",
        ).json()["id"]
        for n in range(2)
    ]
    assert [b["id"] for b in owner.get(f"/api/v1/items/{item.pk}/blocked-periods").json()] == ids
    assert client_for(neighbour).get(f"/api/v1/items/{item.pk}/blocked-periods").status_code == 403
    assert (
        client_for(neighbour)
        .delete(f"/api/v1/items/{item.pk}/blocked-periods/{ids[0]}")
        .status_code
        == 403
    )

    assert owner.delete(f"/api/v1/items/{item.pk}/blocked-periods/{ids[0]}").status_code == 204
    again = owner.delete(f"/api/v1/items/{item.pk}/blocked-periods/{ids[0]}")
    assert again.status_code == 404 and again.json()["code"] == "blocked_period_not_found"
    assert [b["id"] for b in owner.get(f"/api/v1/items/{item.pk}/blocked-periods").json()] == ids[
        1:
    ]
