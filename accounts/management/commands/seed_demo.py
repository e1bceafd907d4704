"""Create the demo residents (homes in central Helsinki, where the demo street graph is) and the
demo staff account. Running it again changes nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import demo_users_seed


class Command(BaseCommand):
    help = "Create the demo residents and the demo staff account (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
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
        result = demo_users_seed()
        self.stdout.write(
            f"Demo users: {len(result.created)} created, {len(result.existing)} already there."
        )
        self.stdout.write("Log in with: python manage.py demo_login")
