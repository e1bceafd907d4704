"""Seed the sharing demo: the association, its neighbourhood over central Helsinki, about thirty
residents, two hundred items, loans in every state, ratings and open wanted requests. Needs the
street graph (``manage.py import_osm``). Running it again changes nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from geo.graph import GraphUnavailableError
from sharing.services.demo import DEFAULT_SEED, sharing_demo_seed


class Command(BaseCommand):
    help = "Seed the sharing demo (idempotent, deterministic)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even when VOISINAGE_ENV=production (the demo password is public).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION and not options["allow_production"]:
            raise CommandError(
                "Refusing to create demo accounts with a public password in production "
                "(pass --allow-production to insist)."
            )
        try:
            result = sharing_demo_seed(seed=options["seed"])
        except GraphUnavailableError:
            raise CommandError(
                "No street graph: import one first (manage.py import_osm var/osm/helsinki.osm.pbf)."
            ) from None
        loans = ", ".join(f"{k} {v}" for k, v in sorted(result.loans_by_status.items()))
        self.stdout.write(
            f"Sharing demo: {result.residents} residents ({result.residents_created} new), "
            f"{result.items} items ({result.items_created} new), loans: {loans} "
            f"({result.loans_created} new), {result.ratings} ratings, "
            f"{result.wanted_open} open wanted requests."
        )
