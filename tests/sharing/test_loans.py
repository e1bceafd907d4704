from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sharing.models import Loan
from sharing.services.loans import loan_accept, loan_request

pytestmark = pytest.mark.usefixtures("street_graph")


def _iso(dt):
    return dt.isoformat()


@pytest.fixture
def loan_setup(make_resident, make_item, period):
    lender = make_resident(name="Léa")
    borrower = make_resident(name="Camille")
    stranger = make_resident(name="Hugo")
    item = make_item(owner=lender)
    loan = loan_request(borrower=borrower, item_id=item.pk, starts_at=period[0], ends_at=period[1])
    return {
        "lender": lender,
        "borrower": borrower,
        "stranger": stranger,
        "item": item,
        "loan": loan,
    }


def _bring(loan, status, borrower, lender):
    """Moves a requested loan to ``status`` through the real services."""
    from sharing.services import loans as s

    if status == "requested":
        return
    if status in ("declined",):
        s.loan_decline(actor=lender, loan_id=loan.pk)
        return
    s.loan_accept(actor=lender, loan_id=loan.pk)
    if status == "accepted":
        return
    Loan.objects.filter(pk=loan.pk).update(period=_shift(loan), hold=_shift(loan, hours=2))
    s.loan_handover(actor=lender, loan_id=loan.pk)
    s.loan_handover(actor=borrower, loan_id=loan.pk)
    if status == "active":
        return
    s.loan_return(actor=borrower, loan_id=loan.pk)
    if status == "returned":
        return
    s.loan_confirm_return(actor=lender, loan_id=loan.pk, condition="fine")


def _shift(loan, hours=0):
    from psycopg.types.range import Range

    start = timezone.now() - timedelta(hours=1)
    return Range(start - timedelta(hours=hours), start + timedelta(days=1, hours=hours), "[)")


# (action, state the loan is in, body) -> who may do it; everyone else gets 403 (or 409 if a party
# acting out of turn in a state where the action is not theirs... no: not-your-turn is 403).
MATRIX = [
    ("accept", "requested", {}, "lender"),
    ("decline", "requested", {}, "lender"),
    ("cancel", "requested", {}, "borrower"),
    ("cancel", "accepted", {}, "both"),
    ("handover", "accepted", {}, "both"),
    ("return", "active", {}, "borrower"),
    ("confirm-return", "returned", {"condition": "fine"}, "lender"),
    ("dispute", "active", {"reason": "Il manque le mandrin."}, "both"),
    ("renew", "active", {"ends_at": "LATER"}, "borrower"),
]
ACTORS = ["anonymous", "stranger", "borrower", "lender", "staff"]


@pytest.mark.parametrize(
    ("action", "state", "body", "allowed"), MATRIX, ids=[f"{m[0]}-{m[1]}" for m in MATRIX]
)
@pytest.mark.parametrize("actor", ACTORS)
def test_loan_action_authorization_matrix(
    loan_setup,
    client_for,
    api_client,
    association,
    make_resident,
    action,
    state,
    body,
    allowed,
    actor,
):
    loan = loan_setup["loan"]
    if state == "accepted" and action == "handover":
        Loan.objects.filter(pk=loan.pk).update(period=_shift(loan), hold=_shift(loan, hours=2))
    _bring(loan, state, loan_setup["borrower"], loan_setup["lender"])
    if state == "accepted" and action == "handover":
        pass
    loan.refresh_from_db()
    before = (
        loan.status,
        loan.period,
        loan.borrower_handover_at,
        loan.lender_handover_at,
        loan.renewals,
    )
    if actor == "anonymous":
        client = api_client
    elif actor == "staff":
        staff = make_resident(name="Staff")
        association.staff.add(staff)
        client = client_for(staff)
    else:
        client = client_for(loan_setup[actor])
    payload = dict(body)
    if payload.get("ends_at") == "LATER":
        payload["ends_at"] = _iso(loan.period.upper + timedelta(days=1))
    response = client.post(f"/api/v1/loans/{loan.pk}/{action}", payload, format="json")
    permitted = (allowed == "both" and actor in ("borrower", "lender")) or allowed == actor
    if permitted:
        assert response.status_code == 200, response.content
        return
    assert response.status_code == (401 if actor == "anonymous" else 403), response.content
    if actor != "anonymous":
        assert response.json()["code"] == "not_your_turn"
    loan.refresh_from_db()
    assert (
        loan.status,
        loan.period,
        loan.borrower_handover_at,
        loan.lender_handover_at,
        loan.renewals,
    ) == before


def test_full_life_of_a_loan_through_the_api(loan_setup, client_for):
    lender, borrower, loan = loan_setup["lender"], loan_setup["borrower"], loan_setup["loan"]
    cl, cb = client_for(lender), client_for(borrower)
    accepted = cl.post(f"/api/v1/loans/{loan.pk}/accept").json()
    assert accepted["status"] == "accepted" and len(accepted["handover_code"]) == 6
    assert accepted["meeting_point"]["coordinates"] == pytest.approx([lender.home.x, lender.home.y])
    seen_by_borrower = cb.get(f"/api/v1/loans/{loan.pk}").json()
    assert seen_by_borrower["handover_code"] is None  # only on the lender's phone
    assert seen_by_borrower["meeting_point"] is not None
    Loan.objects.filter(pk=loan.pk).update(period=_shift(loan), hold=_shift(loan, hours=2))
    wrong = cb.post(
        f"/api/v1/loans/{loan.pk}/handover",
        {"code": "000000" if accepted["handover_code"] != "000000" else "111111"},
        format="json",
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_code"
    active = cb.post(
        f"/api/v1/loans/{loan.pk}/handover", {"code": accepted["handover_code"]}, format="json"
    ).json()
    assert active["status"] == "active"
    assert cb.post(f"/api/v1/loans/{loan.pk}/return").json()["status"] == "returned"
    closed = cl.post(
        f"/api/v1/loans/{loan.pk}/confirm-return",
        {"condition": "worn", "note": "rayures"},
        format="json",
    ).json()
    assert closed["status"] == "closed" and closed["return_condition"] == "worn"
    assert closed["meeting_point"] is None
    # A stranger sees nothing of it.
    stranger = client_for(loan_setup["stranger"])
    assert stranger.get(f"/api/v1/loans/{loan.pk}").status_code == 404


def test_damaged_return_needs_a_photo(loan_setup):
    from backend.errors import DomainError
    from sharing.services import loans as s

    loan, lender, borrower = loan_setup["loan"], loan_setup["lender"], loan_setup["borrower"]
    _bring(loan, "returned", borrower, lender)
    with pytest.raises(DomainError) as err:
        s.loan_confirm_return(actor=lender, loan_id=loan.pk, condition="damaged")
    assert err.value.code == "photo_required"
    assert Loan.objects.get(pk=loan.pk).status == "returned"


def test_unanswered_requests_expire(loan_setup):
    from sharing.services.loans import loans_expire

    loan = loan_setup["loan"]
    assert loans_expire(now=loan.expires_at - timedelta(seconds=1)) == 0
    assert loans_expire(now=loan.expires_at + timedelta(seconds=1)) == 1
    loan.refresh_from_db()
    assert loan.status == "expired"


def test_accepting_declines_the_overlapping_requests(make_resident, make_item, period):
    lender = make_resident()
    item = make_item(owner=lender)
    first = loan_request(
        borrower=make_resident(), item_id=item.pk, starts_at=period[0], ends_at=period[1]
    )
    second = loan_request(
        borrower=make_resident(),
        item_id=item.pk,
        starts_at=period[0] + timedelta(hours=5),
        ends_at=period[1],
    )
    later = loan_request(
        borrower=make_resident(),
        item_id=item.pk,
        starts_at=period[1] + timedelta(days=1),
        ends_at=period[1] + timedelta(days=2),
    )
    loan_accept(actor=lender, loan_id=first.pk)
    assert Loan.objects.get(pk=second.pk).status == "declined"
    assert Loan.objects.get(pk=later.pk).status == "requested"


def test_buffer_between_loans(make_resident, make_item, period):
    from backend.errors import ConflictError

    lender = make_resident()
    item = make_item(owner=lender)
    first = loan_request(
        borrower=make_resident(), item_id=item.pk, starts_at=period[0], ends_at=period[1]
    )
    loan_accept(actor=lender, loan_id=first.pk)
    with pytest.raises(ConflictError):  # starts one hour after the first ends: inside the buffer
        loan_request(
            borrower=make_resident(),
            item_id=item.pk,
            starts_at=period[1] + timedelta(hours=1),
            ends_at=period[1] + timedelta(days=1),
        )
    ok = loan_request(
        borrower=make_resident(),
        item_id=item.pk,
        starts_at=period[1] + timedelta(hours=5),
        ends_at=period[1] + timedelta(days=1),
    )
    assert ok.status == "requested"


@pytest.mark.parametrize(
    ("starts", "ends", "field"),
    [(2, 1, "ends_at"), (-3, 1, "starts_at"), (1, 30, "ends_at")],
)
def test_bad_periods_are_400_and_store_nothing(loan_setup, client_for, starts, ends, field):
    now = timezone.now()
    count = Loan.objects.count()
    response = client_for(loan_setup["stranger"]).post(
        "/api/v1/loans/",
        {
            "item": loan_setup["item"].pk,
            "starts_at": _iso(now + timedelta(days=starts)),
            "ends_at": _iso(now + timedelta(days=ends)),
        },
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Loan.objects.count() == count


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_and_accepts_end_with_one_loan(
    street_graph, make_resident, make_item, period, client_for
):
    """20 neighbours ask for overlapping periods at once, and the lender accepts every request at
    once: exactly one loan holds the item, and no two holding loans overlap."""
    lender = make_resident(name="Léa")
    item = make_item(owner=lender)
    borrowers = [make_resident() for _ in range(20)]
    barrier = threading.Barrier(20)
    created: list[int] = []
    codes: list[int] = []
    lock = threading.Lock()

    def ask(i, borrower):
        try:
            barrier.wait(10)
            start = period[0] + timedelta(hours=i)
            r = client_for(borrower).post(
                "/api/v1/loans/",
                {
                    "item": item.pk,
                    "starts_at": _iso(start),
                    "ends_at": _iso(start + timedelta(days=1)),
                },
                format="json",
            )
            with lock:
                codes.append(r.status_code)
                if r.status_code == 201:
                    created.append(r.json()["id"])
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(i, b)) for i, b in enumerate(borrowers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert codes.count(201) == 20, codes

    barrier = threading.Barrier(len(created))
    results: list[int] = []

    def accept(loan_id):
        try:
            barrier.wait(10)
            r = client_for(lender).post(f"/api/v1/loans/{loan_id}/accept")
            with lock:
                results.append(r.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(loan_id,)) for loan_id in created]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [200] + [409] * (len(created) - 1), results
    holding = list(Loan.objects.filter(item=item, status__in=Loan.HOLDING))
    assert len(holding) == 1
    assert Loan.objects.filter(item=item, status="declined").count() == 19
