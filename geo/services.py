"""Writes to the street graph: importing an OSM extract."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from django.contrib.gis.geos import Polygon
from django.db import connection, transaction
from django.utils import timezone

from geo import graphfile
from geo.models import DEFAULT_REGION, REGION_PATTERN, StreetEdge, StreetGraph, StreetNode
from geo.osm_import import ExtractError, ExtractReader, ProgressFn

logger = logging.getLogger(__name__)

COPY_BATCH = 5_000
KEEP_PREVIOUS_GRAPHS = 1
# 2: motor vehicle access and one-way columns for the car profile.
# 3: edges across walkable areas (squares).
IMPORT_FORMAT = 3


@dataclass(frozen=True)
class ImportResult:
    graph: StreetGraph
    skipped: bool
    seconds: float


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def graph_import(
    *,
    path: Path,
    name: str,
    progress: ProgressFn | None = None,
    if_changed: bool = False,
    region: str = DEFAULT_REGION,
) -> ImportResult:
    """Imports an extract as a new street graph and makes it the active one of ``region``,
    atomically; the other regions' graphs are left as they are.

    A missing or corrupt file raises :class:`ExtractError` and leaves the current graph as it was.
    With ``if_changed``, an extract identical to the region's active graph's source is not
    imported again. The graph's array files are written once the graph is active, so the
    processes that reload it map them instead of building them.
    """
    say: ProgressFn = progress or (lambda message: None)
    started = time.perf_counter()
    if not re.match(REGION_PATTERN, region):
        raise ExtractError(f"Invalid region name {region!r} (letters, digits, '.', '_', '-')")
    reader = ExtractReader(path, progress=say)  # checks the file exists and looks like an extract
    sha = _sha256(path)
    if if_changed:
        active = StreetGraph.objects.filter(is_active=True, region=region).first()
        if (
            active is not None
            and active.source_sha256 == sha
            and active.import_format == IMPORT_FORMAT
        ):
            say(f"graph '{active.name}' already holds this extract; nothing to import")
            return ImportResult(graph=active, skipped=True, seconds=time.perf_counter() - started)

    with transaction.atomic():
        graph = StreetGraph.objects.create(
            name=name,
            region=region,
            source=str(path),
            source_sha256=sha,
            import_format=IMPORT_FORMAT,
        )
        _copy_edges(graph, reader)
        _copy_nodes(graph, reader)
        counts = reader.counts
        if counts.edges == 0:
            raise ExtractError(f"No usable street in {path.name}")
        graph.way_count = counts.ways
        graph.node_count = counts.graph_nodes
        graph.edge_count = counts.edges
        graph.steps_edge_count = counts.steps_edges
        graph.total_length_m = counts.total_length_m
        if counts.bbox is not None:
            graph.bbox = Polygon.from_bbox(counts.bbox)
        graph.status = StreetGraph.Status.READY
        graph.import_seconds = time.perf_counter() - started
        # The swap: one transaction deactivates the region's old graph and activates the new one.
        StreetGraph.objects.filter(is_active=True, region=region).select_for_update().update(
            is_active=False
        )
        graph.is_active = True
        graph.activated_at = timezone.now()
        graph.save()
    say("analysing tables")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE geo_streetedge")
        cursor.execute("ANALYZE geo_streetnode")
    say("writing the graph's array files")
    graphfile.ensure_files(graphfile.GraphKey.of(graph.pk, graph.created_at))
    _prune_old_graphs(region)
    # The located rows are snapped on the new graph by a Celery job (geo.snapping); reads snap
    # the rows not done yet as before, so nothing waits for it.
    transaction.on_commit(_enqueue_snapping, robust=True)
    seconds = time.perf_counter() - started
    say(
        f"imported '{name}' (region '{region}'): {counts.ways:,} ways, {counts.graph_nodes:,} nodes, "
        f"{counts.edges:,} edges ({counts.steps_edges:,} steps), "
        f"{counts.total_length_m / 1000:,.1f} km in {seconds:.1f} s"
    )
    return ImportResult(graph=graph, skipped=False, seconds=seconds)


def _copy_edges(graph: StreetGraph, reader: ExtractReader) -> None:
    columns = (
        "graph_id",
        "source",
        "target",
        "osm_way_id",
        "length_m",
        "geom",
        "highway",
        "foot",
        "bicycle",
        "access",
        "surface",
        "sidewalk",
        "wheelchair",
        "steps",
        "crossing",
        "area",
        "oneway_bike",
        "motor",
        "oneway_car",
    )
    table = StreetEdge._meta.db_table
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        batch: list = []
        coords: list = []
        for edge in reader.edges():
            batch.append(edge)
            coords.append(shapely.linestrings(edge.lons, edge.lats))
            if len(batch) >= COPY_BATCH:
                _write_edges(copy, graph.pk, batch, coords)
                batch, coords = [], []
        if batch:
            _write_edges(copy, graph.pk, batch, coords)


def _write_edges(copy, graph_id: int, batch: list, lines: list) -> None:
    geoms = shapely.set_srid(np.asarray(lines, dtype=object), 4326)
    hexes = shapely.to_wkb(geoms, hex=True, include_srid=True)
    for edge, ewkb in zip(batch, hexes, strict=True):
        t = edge.tags
        copy.write_row(
            (
                graph_id,
                edge.source,
                edge.target,
                edge.way_id,
                edge.length_m,
                ewkb,
                t.highway,
                t.foot,
                t.bicycle,
                t.access,
                t.surface,
                t.sidewalk,
                t.wheelchair,
                t.steps,
                t.crossing,
                t.area,
                t.oneway_bike,
                t.motor,
                t.oneway_car,
            )
        )


def _copy_nodes(graph: StreetGraph, reader: ExtractReader) -> None:
    table = StreetNode._meta.db_table
    sql = f"COPY {table} (graph_id, idx, osm_id, geom) FROM STDIN"
    nodes = list(reader.used_nodes())
    if not nodes:
        return
    points = shapely.set_srid(shapely.points([n[2] for n in nodes], [n[3] for n in nodes]), 4326)
    hexes = shapely.to_wkb(points, hex=True, include_srid=True)
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for (idx, osm_id, _lon, _lat), ewkb in zip(nodes, hexes, strict=True):
            copy.write_row((graph.pk, idx, osm_id, ewkb))


def _enqueue_snapping() -> None:
    from geo.tasks import snap_pending_task  # the task module imports this one

    snap_pending_task.delay()


def _prune_old_graphs(region: str) -> None:
    """Deletes all but the region's active graph and the one before it (a process may still read
    it), with their files."""
    keep = list(
        StreetGraph.objects.filter(status=StreetGraph.Status.READY, region=region)
        .order_by("-activated_at")
        .values_list("pk", flat=True)[: 1 + KEEP_PREVIOUS_GRAPHS]
    )
    stale = StreetGraph.objects.filter(region=region).exclude(pk__in=keep)
    gone = []
    for graph_id, created_at in stale.values_list("pk", "created_at"):
        with transaction.atomic():
            StreetEdge.objects.filter(graph_id=graph_id)._raw_delete(connection.alias)
            StreetNode.objects.filter(graph_id=graph_id)._raw_delete(connection.alias)
            StreetGraph.objects.filter(pk=graph_id).delete()
        gone.append(graphfile.GraphKey.of(graph_id, created_at))
    graphfile.remove_files(gone)


__all__ = ["ExtractError", "ImportResult", "graph_import"]
