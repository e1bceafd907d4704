"""A renewal asks the lender, who accepts or declines; nothing changes until then."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from psycopg.types.range import Range

from notifications.models import Event
from sharing.models import Loan
from sharing.services import loans as loan_services


@pytest.fixture
def running(make_resident, make_item):
    lender, borrower = make_resident(name="Léa"), make_resident(name="Hugo")
    item = make_item(owner=lender, title="Perceuse")
    start = timezone.now() + timedelta(hours=3)
    loan = loan_services.loan_request(
        borrower=borrower, item_id=item.pk, starts_at=start, ends_at=start + timedelta(days=1)
    )
    loan_services.loan_accept(actor=lender, loan_id=loan.pk)
    loan.refresh_from_db()
    return lender, borrower, item, loan


@pytest.mark.django_db
def test_the_lender_accepts_a_renewal(running, client_for):
    lender, borrower, _item, loan = running
    until = loan.period.upper + timedelta(days=2)
    asked = client_for(borrower).post(
        f"/api/v1/loans/{loan.pk}/renew", {"ends_at": until.isoformat()}, format="json"
    )
    assert asked.status_code == 200
    loan.refresh_from_db()
    assert loan.period.upper < until and loan.renewals == 0  # nothing changed yet
    assert client_for(lender).get(f"/api/v1/loans/{loan.pk}").json()["renewal_requested_until"]
    assert Event.objects.filter(recipient=lender, type="loan.renewal_requested").exists()
    again = client_for(borrower).post(
        f"/api/v1/loans/{loan.pk}/renew", {"ends_at": until.isoformat()}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "renewal_pending"
    assert client_for(borrower).post(f"/api/v1/loans/{loan.pk}/renew-accept").status_code == 403

    accepted = client_for(lender).post(f"/api/v1/loans/{loan.pk}/renew-accept")
    assert accepted.status_code == 200 and accepted.json()["renewal_requested_until"] is None
    loan.refresh_from_db()
    assert loan.period.upper == until and loan.renewals == 1
    assert Event.objects.filter(recipient=borrower, type="loan.renewal_accepted").exists()


@pytest.mark.django_db
def test_the_lender_declines_and_the_end_stays(running, client_for):
    lender, borrower, _item, loan = running
    end = loan.period.upper
    client_for(borrower).post(
        f"/api/v1/loans/{loan.pk}/renew",
        {"ends_at": (end + timedelta(days=1)).isoformat()},
        format="json",
    )
    declined = client_for(lender).post(
        f"/api/v1/loans/{loan.pk}/renew-decline", {"reason": "Je pars"}, format="json"
    )
    assert declined.status_code == 200
    loan.refresh_from_db()
    assert (loan.period.upper, loan.renewals, loan.renewal_ends_at) == (end, 0, None)
    event = Event.objects.get(recipient=borrower, type="loan.renewal_declined")
    assert event.data["reason"] == "Je pars"
    nothing = client_for(lender).post(f"/api/v1/loans/{loan.pk}/renew-accept")
    assert nothing.status_code == 409 and nothing.json()["code"] == "no_renewal_asked"


@pytest.mark.django_db
def test_a_renewal_into_another_loan_is_refused_when_asked(running, make_resident, client_for):
    lender, borrower, item, loan = running
    other = make_resident()
    later = loan.period.upper + timedelta(days=2)
    next_loan = loan_services.loan_request(
        borrower=other, item_id=item.pk, starts_at=later, ends_at=later + timedelta(days=1)
    )
    loan_services.loan_accept(actor=lender, loan_id=next_loan.pk)
    asked = client_for(borrower).post(
        f"/api/v1/loans/{loan.pk}/renew",
        {"ends_at": (later + timedelta(hours=5)).isoformat()},
        format="json",
    )
    assert asked.status_code == 409 and asked.json()["code"] == "period_taken"
    assert Loan.objects.get(pk=loan.pk).renewal_ends_at is None
    assert isinstance(loan.period, Range)
