"""Print how to log in to the demo: the accounts ``seed_demo`` creates and their password."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_PASSWORD,
    DEMO_RESIDENTS,
    DEMO_VOLUNTEER_EMAIL,
)
from accounts.models import User
from neighbourhoods.models import Neighbourhood


class Command(BaseCommand):
    help = "Print the demo accounts and how to log in with them, on the address served."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="the address `make run` serves on")
        parser.add_argument("--port", type=int, default=8000, help="the port `make run` serves on")

    def handle(self, *args: Any, **options: Any) -> None:
        base = f"http://{options['host']}:{options['port']}"
        emails = [resident.email for resident in DEMO_RESIDENTS]
        seeded = set(
            User.objects.filter(email__in=[*emails, DEMO_ADMIN_EMAIL]).values_list(
                "email", flat=True
            )
        )
        out = self.stdout
        if not seeded:
            out.write(self.style.WARNING("No demo account yet: run `python manage.py seed_demo`."))
        out.write(f"Demo password (every account): {DEMO_PASSWORD}")
        out.write("")
        out.write("Residents (homes in central Helsinki):")
        for resident in DEMO_RESIDENTS:
            mark = "" if resident.email in seeded else "  (not created)"
            out.write(f"  {resident.email:<32} {resident.display_name}{mark}")
        out.write("")
        volunteer = User.objects.filter(email=DEMO_VOLUNTEER_EMAIL).first()
        if volunteer is not None:
            places = ", ".join(
                Neighbourhood.objects.filter(association__staff=volunteer)
                .order_by("name")
                .values_list("name", flat=True)
            )
            out.write(
                f"Association staff (a volunteer), for /admin/: {DEMO_VOLUNTEER_EMAIL}"
                f"  (sees only: {places or 'no neighbourhood yet'})"
            )
        else:
            out.write(
                f"Association staff (a volunteer), for /admin/: {DEMO_VOLUNTEER_EMAIL}"
                "  (comes with `python manage.py seed_sharing_demo`)"
            )
        mark = "" if DEMO_ADMIN_EMAIL in seeded else "  (not created)"
        out.write(
            f"Platform operator (superuser, sees everything), for /admin/: {DEMO_ADMIN_EMAIL}{mark}"
        )
        out.write(f"Admin: {base}/admin/  (dashboard: /admin/dashboard/)")
        out.write("")
        first = DEMO_RESIDENTS[0].email
        out.write("API: get a token, then send it as 'Authorization: Bearer <access>':")
        out.write(
            f"  curl -s -X POST {base}/api/v1/auth/token "
            "-H 'Content-Type: application/json' "
            f"""-d '{{"email": "{first}", "password": "{DEMO_PASSWORD}"}}'"""
        )
        out.write(f"  curl -s {base}/api/v1/me -H 'Authorization: Bearer <access>'")
