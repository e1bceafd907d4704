"""The monthly job computes each association's closed months not computed yet, once: a published
month does not change afterwards, whatever happens to the history it counted. The command
computes a month by hand, or again with --force."""

from __future__ import annotations

import io
from datetime import date
from unittest import mock

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from backend.celery import app
from opendata.models import MonthFigure, PublishedMonth
from opendata.services import months_compute_due, months_due
from opendata.tasks import months_compute_task
from tests.neighbourhoods.factories import AssociationFactory
from tests.opendata.world import at, loans, member, neighbourhood

pytestmark = pytest.mark.django_db


@pytest.fixture
def association():
    """Created in January 2026, with 6 loans in February and 7 in March."""
    association = AssociationFactory(name="Voisins de Belleville", open_data_publish=True)
    type(association).objects.filter(pk=association.pk).update(created_at=at(date(2026, 1, 20)))
    association.refresh_from_db()
    north = neighbourhood(association, "Nord")
    loans(member(north), 6, starts=at(date(2026, 2, 5)))
    loans(member(north), 7, starts=at(date(2026, 3, 5)))
    return association


def _rows(association):
    return list(
        MonthFigure.objects.filter(published_month__association=association)
        .order_by("published_month__month")
        .values_list("published_month__month", "neighbourhood_name", "loans", "objects_shared")
    )


def test_the_job_computes_each_closed_month_since_the_association_began(association):
    assert months_due(association, today=date(2026, 4, 3)) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert months_compute_due(now=at(date(2026, 4, 3), 4, 40)) == 3
    assert _rows(association) == [
        (date(2026, 1, 1), "Nord", None, None),
        (date(2026, 2, 1), "Nord", 5, 5),
        (date(2026, 3, 1), "Nord", 5, 5),
    ]
    # The running month (April) is never computed.
    assert not PublishedMonth.objects.filter(month=date(2026, 4, 1)).exists()


def test_a_published_month_never_changes_afterwards(association, client):
    months_compute_due(now=at(date(2026, 4, 3)))
    before = _rows(association)
    csv_before = client.get(f"/api/v1/open-data/{association.slug}/figures.csv")
    # March's history grows after it was published (a late record, a correction elsewhere),
    # and a neighbourhood is renamed: the next runs compute only April.
    nord = association.neighbourhoods.get()
    loans(member(nord), 9, starts=at(date(2026, 3, 20)))
    nord.name = "Nord-Est"
    nord.save(update_fields=["name"])
    assert months_compute_due(now=at(date(2026, 4, 20))) == 0
    assert months_compute_due(now=at(date(2026, 5, 3))) == 1
    after = _rows(association)
    assert after[:3] == before
    assert after[3] == (date(2026, 4, 1), "Nord-Est", None, None)
    # The published file lists the same three months as before, and April.
    csv_after = client.get(f"/api/v1/open-data/{association.slug}/figures.csv")
    assert csv_after.content.startswith(csv_before.content)


def test_the_job_goes_back_at_most_the_backfill_months(association, settings):
    settings.OPENDATA_BACKFILL_MONTHS = 2
    assert months_due(association, today=date(2026, 4, 3)) == [date(2026, 2, 1), date(2026, 3, 1)]


def test_the_celery_task_runs_the_job_and_beat_schedules_it_monthly(association):
    result = months_compute_task.apply()
    assert result.successful()
    assert result.result == PublishedMonth.objects.filter(association=association).count() > 0
    assert "opendata.months_compute" in app.tasks
    entry = settings.CELERY_BEAT_SCHEDULE["opendata.months_compute"]
    assert entry["task"] == "opendata.months_compute"
    assert entry["schedule"] == crontab(minute=40, hour=4, day_of_month=3)
    # Twice the same message: nothing more the second time.
    assert months_compute_task.apply().result == 0


def test_the_command_computes_a_month_and_again_only_when_forced(association):
    out = io.StringIO()
    with mock.patch("django.utils.timezone.now", return_value=at(date(2026, 4, 10))):
        call_command("opendata_month", "2026-03", stdout=out)
        nord = association.neighbourhoods.get()
        loans(member(nord), 3, starts=at(date(2026, 3, 25)))
        call_command("opendata_month", "2026-03", "--association", association.slug, stdout=out)
        assert _rows(association) == [(date(2026, 3, 1), "Nord", 5, 5)]
        call_command("opendata_month", "2026-03", "--force", stdout=out)
        assert _rows(association) == [(date(2026, 3, 1), "Nord", 10, 10)]
    assert out.getvalue().splitlines() == [
        "voisins-de-belleville 2026-03: 1 neighbourhood(s), computed",
        "voisins-de-belleville 2026-03: 1 neighbourhood(s), kept as published",
        "voisins-de-belleville 2026-03: 1 neighbourhood(s), computed",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["2026-13"], "AAAA-MM"),
        (["March"], "AAAA-MM"),
        ([timezone.localdate().strftime("%Y-%m")], "mois terminé"),
        (["2026-03", "--association", "nobody"], "no association"),
        ([], "give a month"),
        (["2026-03", "--due"], "--due takes no month"),
    ],
)
def test_the_command_refuses_what_it_cannot_compute(association, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("opendata_month", *args, stdout=io.StringIO())
    assert not PublishedMonth.objects.exists()


def test_the_command_runs_the_job(association):
    out = io.StringIO()
    with mock.patch("django.utils.timezone.now", return_value=at(date(2026, 4, 10))):
        call_command("opendata_month", "--due", stdout=out)
    assert out.getvalue() == "3 month(s) computed\n"
