"""``python manage.py import_osm PATH [--name REGION]``: imports an OSM extract as the street graph
of a region (without ``--name``: the default region), replacing that region's graph only."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geo.models import DEFAULT_REGION
from geo.services import ExtractError, graph_import


class Command(BaseCommand):
    help = (
        "Import an OpenStreetMap extract (.osm.pbf, .osm, .osm.gz) as the active street graph of "
        "a region; the other regions' graphs are left as they are."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--name",
            default=None,
            help=(
                "the region this extract covers, which it replaces "
                f"(default: the '{DEFAULT_REGION}' region, the graph named after the file)"
            ),
        )
        parser.add_argument(
            "--if-changed",
            action="store_true",
            help="do nothing when the active graph was imported from the same file contents",
        )

    def handle(
        self, *args: Any, path: Path, name: str | None, if_changed: bool, **options: Any
    ) -> None:
        started = time.perf_counter()
        verbosity = options.get("verbosity", 1)

        def progress(message: str) -> None:
            if verbosity >= 1:
                self.stdout.write(f"[{time.perf_counter() - started:6.1f}s] {message}")
                self.stdout.flush()

        graph_name = name or path.name.split(".")[0]
        region = name or DEFAULT_REGION
        try:
            result = graph_import(
                path=path,
                name=graph_name,
                progress=progress,
                if_changed=if_changed,
                region=region,
            )
        except ExtractError as exc:
            raise CommandError(f"{exc}. The current street graph is unchanged.") from exc
        graph = result.graph
        if not result.skipped:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Street graph #{graph.pk} '{graph.name}' is active in region "
                    f"'{graph.region}': {graph.way_count:,} ways, "
                    f"{graph.node_count:,} nodes, {graph.edge_count:,} edges "
                    f"({graph.steps_edge_count:,} steps), {graph.total_length_m / 1000:,.1f} km, "
                    f"{result.seconds:.1f} s."
                )
            )
