from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from notifications.models import Event
from sharing.models import Loan, LoanReminder
from sharing.services import loans as loan_services
from sharing.services.reminders import reminders_send

PARIS = ZoneInfo("Europe/Paris")


def _json(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _events(user, prefix="loan.reminder."):
    return list(
        Event.objects.filter(recipient=user, type__startswith=prefix)
        .order_by("seq")
        .values_list("type", "data")
    )


def _loan(borrower, item, start, days=1):
    return loan_services.loan_request(
        borrower=borrower, item_id=item.pk, starts_at=start, ends_at=start + timedelta(days=days)
    )


def _active(lender, borrower, item, start, days=1):
    """An active loan (accepted, then handed over), starting within a day."""
    loan = _loan(borrower, item, start, days)
    loan_services.loan_accept(actor=lender, loan_id=loan.pk)
    loan_services.loan_handover(actor=lender, loan_id=loan.pk)
    loan_services.loan_handover(actor=borrower, loan_id=loan.pk)
    return Loan.objects.select_related("item").get(pk=loan.pk)


@pytest.fixture
def pair(make_resident, make_item):
    lender = make_resident(name="Léa")
    borrower = make_resident(name="Camille")
    return lender, borrower, make_item(owner=lender, title="Tente 4 places", category="camping")


def test_a_loan_starting_tomorrow_reminds_both_parties_once(pair):
    lender, borrower, item = pair
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    loan = _loan(borrower, item, start)
    loan_services.loan_accept(actor=lender, loan_id=loan.pk)
    day_before = start - timedelta(hours=24)
    assert reminders_send(now=start - timedelta(days=2, hours=1)) == {"sent": 0, "deferred": 0}
    assert reminders_send(now=day_before) == {"sent": 2, "deferred": 0}
    base = {"loan_id": loan.pk, "item_id": item.pk, "item_title": "Tente 4 places"}
    assert _events(borrower) == [
        (
            "loan.reminder.starts_tomorrow",
            {**base, "starts_at": _json(start), "other_party_name": "Léa"},
        )
    ]
    assert _events(lender) == [
        (
            "loan.reminder.starts_tomorrow",
            {**base, "starts_at": _json(start), "other_party_name": "Camille"},
        )
    ]
    assert reminders_send(now=day_before + timedelta(hours=1)) == {"sent": 0, "deferred": 0}
    assert LoanReminder.objects.filter(loan=loan).count() == 2


def test_tomorrow_is_the_next_day_in_paris(pair):
    """A loan at 00:30 (Paris) on day D: at 23:10 on D-1 in Paris it starts tomorrow, although
    in UTC both moments fall on the same day; at 23:30 on D-2 in Paris it does not, although in
    UTC that moment is the day before the loan's."""
    lender, borrower, item = pair
    day = timezone.now().astimezone(PARIS).date() + timedelta(days=3)
    start = datetime(day.year, day.month, day.day, 0, 30, tzinfo=PARIS)
    loan = _loan(borrower, item, start)
    loan_services.loan_accept(actor=lender, loan_id=loan.pk)
    eve = start - timedelta(minutes=80)
    two_days_before = start - timedelta(hours=25)
    assert eve.astimezone(ZoneInfo("UTC")).date() == start.astimezone(ZoneInfo("UTC")).date()
    assert reminders_send(now=two_days_before) == {"sent": 0, "deferred": 0}
    assert reminders_send(now=eve) == {"sent": 2, "deferred": 0}


def test_due_tomorrow_then_overdue_go_to_the_borrower(pair):
    lender, borrower, item = pair
    start = timezone.now().replace(microsecond=0) + timedelta(hours=2)
    loan = _active(lender, borrower, item, start, days=2)
    end = loan.period.upper
    base = {"loan_id": loan.pk, "item_id": item.pk, "item_title": "Tente 4 places"}
    assert reminders_send(now=end - timedelta(hours=24)) == {"sent": 1, "deferred": 0}
    assert reminders_send(now=end - timedelta(hours=23)) == {"sent": 0, "deferred": 0}
    assert reminders_send(now=end - timedelta(minutes=1)) == {"sent": 0, "deferred": 0}
    assert reminders_send(now=end + timedelta(hours=30)) == {"sent": 1, "deferred": 0}
    assert reminders_send(now=end + timedelta(days=3)) == {"sent": 0, "deferred": 0}
    assert _events(borrower) == [
        ("loan.reminder.due_tomorrow", {**base, "ends_at": _json(end), "owner_name": "Léa"}),
        (
            "loan.reminder.overdue",
            {**base, "ends_at": _json(end), "days_overdue": 2, "owner_name": "Léa"},
        ),
    ]
    assert _events(lender) == []


def test_returned_and_cancelled_loans_get_no_reminder(pair, make_resident, make_item):
    lender, borrower, item = pair
    start = timezone.now().replace(microsecond=0) + timedelta(hours=2)
    loan = _active(lender, borrower, item, start)
    loan_services.loan_return(actor=borrower, loan_id=loan.pk)
    later = start + timedelta(days=3)
    cancelled = _loan(borrower, make_item(owner=lender, title="Réchaud"), later)
    loan_services.loan_accept(actor=lender, loan_id=cancelled.pk)
    loan_services.loan_cancel(actor=borrower, loan_id=cancelled.pk)
    for now in (start + timedelta(days=2), later - timedelta(hours=24)):
        assert reminders_send(now=now) == {"sent": 0, "deferred": 0}
    assert LoanReminder.objects.count() == 0


def test_a_person_gets_at_most_the_daily_share_the_rest_waits(
    pair, make_resident, make_item, settings
):
    settings.SHARING_REMINDERS_PER_DAY = 2
    lender, borrower, _item = pair
    start = timezone.now().replace(microsecond=0) + timedelta(hours=2)
    loans = [
        _active(lender, borrower, make_item(owner=lender, title=f"Objet {i}"), start, days=1 + i)
        for i in range(3)
    ]
    now = loans[-1].period.upper + timedelta(hours=1)  # all three overdue
    assert reminders_send(now=now) == {"sent": 2, "deferred": 1}
    # The ones due first went first.
    assert [d["loan_id"] for _t, d in _events(borrower)] == [loans[0].pk, loans[1].pk]
    assert reminders_send(now=now + timedelta(hours=1)) == {"sent": 0, "deferred": 1}
    assert reminders_send(now=now + timedelta(hours=24, seconds=1)) == {"sent": 1, "deferred": 0}
    assert [d["loan_id"] for _t, d in _events(borrower)] == [loan.pk for loan in loans]
    assert _events(lender) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_each_reminder_once(make_resident, make_item, settings):
    settings.PUSH_ENABLED = False
    lender = make_resident(name="Léa")
    borrowers = [make_resident(name=f"B{i}") for i in range(6)]
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    for i, borrower in enumerate(borrowers):
        loan = _loan(borrower, make_item(owner=lender, title=f"Objet {i}"), start)
        loan_services.loan_accept(actor=lender, loan_id=loan.pk)
    now = start - timedelta(hours=24)
    barrier = threading.Barrier(4)
    results: list[dict] = []
    guard = threading.Lock()

    def run():
        try:
            barrier.wait(10)
            result = reminders_send(now=now)
            with guard:
                results.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # 12 reminders are due (both parties of 6 loans), but the lender's daily share is 5.
    assert sum(r["sent"] for r in results) == 6 + 5
    assert sum(r["deferred"] for r in results) >= 1
    assert LoanReminder.objects.count() == 11
    assert Event.objects.filter(type="loan.reminder.starts_tomorrow").count() == 11
    assert Event.objects.filter(recipient=lender, type__startswith="loan.reminder").count() == 5


def test_the_periodic_tasks_are_scheduled_and_call_the_services(pair, settings):
    from sharing.tasks import loans_expire_task, reminders_send_task, wanted_widen_task

    schedule = settings.CELERY_BEAT_SCHEDULE
    assert {name: schedule[name]["task"] for name in schedule if name.startswith("sharing.")} == {
        "sharing.loans_expire": "sharing.loans_expire",
        "sharing.wanted_widen": "sharing.wanted_widen",
        "sharing.reminders_send": "sharing.reminders_send",
    }
    assert schedule["sharing.wanted_widen"]["schedule"] == 60.0
    assert loans_expire_task.apply().get(disable_sync_subtasks=False) == 0
    assert wanted_widen_task.apply().get(disable_sync_subtasks=False) == {
        "expired": 0,
        "widened": 0,
        "notified": 0,
    }
    assert reminders_send_task.apply().get(disable_sync_subtasks=False) == {
        "sent": 0,
        "deferred": 0,
    }
