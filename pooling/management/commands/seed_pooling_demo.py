"""Seed the pooling demo: merchants, a hub, couriers, relay points and neighbour hosts, and a day
of orders for the demo residents, planned. Needs the street graph (``manage.py import_osm``) and
works with or without ``seed_demo``/``seed_sharing_demo`` (it creates what it needs). Running it
again changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from geo.graph import GraphUnavailableError
from pooling.services.demo import DEFAULT_SEED, pooling_demo_seed


class Command(BaseCommand):
    help = "Seed the pooling demo and plan its day (idempotent, deterministic)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--day", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
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
            result = pooling_demo_seed(seed=options["seed"], day=options["day"])
        except GraphUnavailableError:
            raise CommandError(
                "No street graph: import one first (manage.py import_osm var/osm/helsinki.osm.pbf)."
            ) from None
        for name, api_key, secret in result.merchants_created:
            self.stdout.write(f"Merchant {name}: X-Api-Key {api_key}  signing secret {secret}")
        self.stdout.write(
            f"Pooling demo: {result.residents} residents, {result.orders} orders "
            f"({result.orders_created} new); batch #{result.batch_id} {result.batch_status}: "
            f"{result.rounds} rounds, {result.stops} stops, {result.vehicle_km} km "
            f"(carriers alone: {result.per_carrier_km} km)."
        )
