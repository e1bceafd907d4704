"""Loan reminders: the loan starts tomorrow (both parties), is due tomorrow (the borrower), is
overdue (the borrower). "Tomorrow" is the next calendar day in the project's time zone
(``TIME_ZONE``, Europe/Paris).

Each reminder is sent once: the ``LoanReminder`` row is inserted first (unique per loan, kind
and recipient, ``ON CONFLICT DO NOTHING``) and the event goes out only when that insert made a
row, in the same transaction. Nobody gets more than ``SHARING_REMINDERS_PER_DAY`` reminders in
24 hours: the recipient's row is locked while their count is read, and the rest wait for a later
run (the most pressing first: overdue, then due tomorrow, then starting tomorrow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from notifications.services.events import notify
from sharing.locks import lock
from sharing.models import Loan, LoanReminder
from sharing.selectors_community import display_name

Kind = LoanReminder.Kind
# Kinds in the order they go out when someone has more than their daily share.
URGENCY = {Kind.OVERDUE: 0, Kind.DUE_TOMORROW: 1, Kind.STARTS_TOMORROW: 2}


@dataclass(frozen=True)
class Due:
    loan: Loan
    kind: str
    recipient: User

    def sort_key(self) -> tuple[int, datetime, int, int]:
        moment = (
            self.loan.period.upper if self.kind != Kind.STARTS_TOMORROW else self.loan.period.lower
        )
        return URGENCY[Kind(self.kind)], moment, self.loan.pk, self.recipient.pk


def _day_bounds(now: datetime, days_ahead: int) -> tuple[datetime, datetime]:
    """The start and end of the local calendar day ``days_ahead`` days after ``now``'s."""
    tz = ZoneInfo(settings.TIME_ZONE)
    day = now.astimezone(tz).date() + timedelta(days=days_ahead)
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def reminders_due(now: datetime) -> list[Due]:
    """Every reminder that should have gone out by ``now`` and has not."""
    start, end = _day_bounds(now, 1)
    loans = Loan.objects.select_related("item", "borrower", "lender")
    sent = set(
        LoanReminder.objects.filter(
            loan__status__in=[Loan.Status.ACCEPTED, Loan.Status.ACTIVE]
        ).values_list("loan_id", "kind", "recipient_id")
    )
    due: list[Due] = []
    for loan in loans.filter(
        status=Loan.Status.ACCEPTED, period__startswith__gte=start, period__startswith__lt=end
    ):
        due += [
            Due(loan, Kind.STARTS_TOMORROW, loan.borrower),
            Due(loan, Kind.STARTS_TOMORROW, loan.lender),
        ]
    for loan in loans.filter(
        status=Loan.Status.ACTIVE, period__endswith__gte=start, period__endswith__lt=end
    ):
        due.append(Due(loan, Kind.DUE_TOMORROW, loan.borrower))
    for loan in loans.filter(status=Loan.Status.ACTIVE, period__endswith__lte=now):
        due.append(Due(loan, Kind.OVERDUE, loan.borrower))
    due = [d for d in due if (d.loan.pk, d.kind, d.recipient.pk) not in sent]
    return sorted(due, key=Due.sort_key)


def _insert_once(due: Due, now: datetime) -> bool:
    table = LoanReminder._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (loan_id, kind, recipient_id, sent_at) "  # noqa: S608 - our table
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [due.loan.pk, due.kind, due.recipient.pk, now],
        )
        return cursor.fetchone() is not None


def _data(due: Due, now: datetime) -> dict[str, object]:
    loan = due.loan
    data: dict[str, object] = {
        "loan_id": loan.pk,
        "item_id": loan.item_id,
        "item_title": loan.item.title,
    }
    if due.kind == Kind.STARTS_TOMORROW:
        other = loan.lender if due.recipient.pk == loan.borrower_id else loan.borrower
        data |= {"starts_at": loan.period.lower, "other_party_name": display_name(other)}
    elif due.kind == Kind.DUE_TOMORROW:
        data |= {"ends_at": loan.period.upper, "owner_name": display_name(loan.lender)}
    else:
        # Started days, rounded up: an hour late is one day overdue.
        late = math.ceil((now - loan.period.upper) / timedelta(days=1))
        data |= {
            "ends_at": loan.period.upper,
            "days_overdue": max(late, 1),
            "owner_name": display_name(loan.lender),
        }
    return data


def reminders_send(*, now: datetime | None = None) -> dict[str, int]:
    """Sends the reminders due by ``now`` (a periodic task); returns how many went out and how
    many wait for a later run because of the daily cap."""
    now = now or timezone.now()
    cap = int(settings.SHARING_REMINDERS_PER_DAY)
    sent = deferred = 0
    for due in reminders_due(now):
        with transaction.atomic():
            lock(User, due.recipient.pk)
            recent = LoanReminder.objects.filter(
                recipient=due.recipient, sent_at__gt=now - timedelta(hours=24)
            ).count()
            if recent >= cap:
                deferred += 1
                continue
            if not _insert_once(due, now):
                continue  # another run sent it
            notify(
                event_type=f"loan.reminder.{due.kind}",
                recipients=[due.recipient],
                data=_data(due, now),
            )
            sent += 1
    return {"sent": sent, "deferred": deferred}
