"""Print how to log in to the demo: the accounts ``seed_demo`` creates and their password."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from backend.accounts.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, DEMO_RESIDENTS
from backend.accounts.models import User


class Command(BaseCommand):
    help = "Print the demo accounts and how to log in with them."

    def handle(self, *args: Any, **options: Any) -> None:
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
        mark = "" if DEMO_ADMIN_EMAIL in seeded else "  (not created)"
        out.write(f"Association staff, for /admin/: {DEMO_ADMIN_EMAIL}{mark}")
        out.write("")
        first = DEMO_RESIDENTS[0].email
        out.write("API: get a token, then send it as 'Authorization: Bearer <access>':")
        out.write(
            "  curl -s -X POST http://127.0.0.1:8000/api/v1/auth/token "
            "-H 'Content-Type: application/json' "
            f"""-d '{{"email": "{first}", "password": "{DEMO_PASSWORD}"}}'"""
        )
        out.write("  curl -s http://127.0.0.1:8000/api/v1/me -H 'Authorization: Bearer <access>'")
