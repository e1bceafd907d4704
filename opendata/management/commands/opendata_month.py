"""Compute an association's published figures for a closed month (docs/opendata.md).

manage.py opendata_month 2026-03                       every association, if not computed
manage.py opendata_month 2026-03 --association my-assoc
manage.py opendata_month 2026-03 --force               compute again, replacing the month
manage.py opendata_month --due                         what the monthly job does
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.errors import DomainError
from neighbourhoods.models import Association
from opendata.models import PublishedMonth
from opendata.selectors import month_parse
from opendata.services import month_compute, months_compute_due


class Command(BaseCommand):
    help = "Compute the open data figures of a closed month (YYYY-MM), or every month due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("month", nargs="?", help="the month, YYYY-MM (a month that is over)")
        parser.add_argument("--association", help="only this association (its slug)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="compute the month again and replace its published figures (a correction)",
        )
        parser.add_argument(
            "--due",
            action="store_true",
            help="every association's closed months not computed yet (the monthly job)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["due"]:
            if options["month"] or options["association"] or options["force"]:
                raise CommandError("--due takes no month, --association nor --force")
            self.stdout.write(f"{months_compute_due()} month(s) computed")
            return
        if not options["month"]:
            raise CommandError("give a month (YYYY-MM) or --due")
        try:
            month = month_parse(options["month"])
        except DomainError as error:
            raise CommandError(str(error)) from error
        associations = Association.objects.order_by("pk")
        if options["association"]:
            associations = associations.filter(slug=options["association"])
            if not associations.exists():
                raise CommandError(f"no association {options['association']!r}")
        for association in associations:
            existed = PublishedMonth.objects.filter(association=association, month=month).exists()
            try:
                published = month_compute(
                    association_id=association.pk, month=month, force=options["force"]
                )
            except DomainError as error:
                raise CommandError(str(error)) from error
            state = "kept as published" if existed and not options["force"] else "computed"
            self.stdout.write(
                f"{association.slug} {month:%Y-%m}: {published.figures.count()} "
                f"neighbourhood(s), {state}"
            )
