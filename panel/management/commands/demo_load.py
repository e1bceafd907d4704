"""``python manage.py demo_load PATH``: the whole demo in one process, as `make run` loads it.

Imports the OSM extract as the street graph unless the active graph came from the same file, then
runs ``seed_demo``, ``seed_sharing_demo`` and ``seed_pooling_demo``. Every step is idempotent, so
a second run changes nothing and takes a few seconds; one process saves the start-up of four.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Import the demo street graph if it changed and seed the whole demo (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the OSM extract of the demo")
        parser.add_argument("--name", default="demo", help="the street graph's name")

    def handle(self, *args: Any, path: Path, name: str, **options: Any) -> None:
        out = {"stdout": self.stdout, "stderr": self.stderr}
        call_command("import_osm", str(path), name=name, if_changed=True, **out)
        for command in ("seed_demo", "seed_sharing_demo", "seed_pooling_demo"):
            call_command(command, **out)
