"""``python manage.py snap_places``: snaps every located row (items, homes, relay points, hubs)
whose stored place on the street network is missing or on an older graph, with progress; what the
``geo.snap_pending`` job does after an import and from beat (geo.snapping). Idempotent."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from geo.snapping import snap_pending


class Command(BaseCommand):
    help = (
        "Store where every located row meets the street network of its region's active graph "
        "(only the rows not done yet)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        done = snap_pending(progress=lambda message: self.stdout.write(message))
        total = sum(done.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"{total:,} rows snapped in {time.perf_counter() - started:.1f} s"
                + "".join(f"\n  {label}: {n:,}" for label, n in done.items() if n)
            )
        )
