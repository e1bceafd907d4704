"""Background jobs of the geo app: thin, they call services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import shared_task

from geo.models import DEFAULT_REGION
from geo.services import ExtractError, graph_import
from geo.snapping import snap_pending


@shared_task(bind=True, name="geo.import_osm")
def import_osm_task(
    self: Any, path: str, name: str, region: str = DEFAULT_REGION
) -> dict[str, Any]:
    """Imports an extract as the graph of ``region``; progress is readable from the task's state
    (``PROGRESS`` + message)."""

    def progress(message: str) -> None:
        self.update_state(state="PROGRESS", meta={"message": message})

    try:
        result = graph_import(path=Path(path), name=name, progress=progress, region=region)
    except ExtractError as exc:
        return {"ok": False, "error": str(exc)}
    graph = result.graph
    return {
        "ok": True,
        "graph_id": graph.pk,
        "nodes": graph.node_count,
        "edges": graph.edge_count,
        "seconds": round(result.seconds, 2),
    }


@shared_task(bind=True, name="geo.snap_pending")
def snap_pending_task(self: Any) -> dict[str, int]:
    """Snaps the located rows whose stored place is missing or on an older graph
    (:func:`geo.snapping.snap_pending`): after an import, and from beat for rows written in bulk.
    Progress is readable from the task's state (``PROGRESS`` + message)."""

    def progress(message: str) -> None:
        self.update_state(state="PROGRESS", meta={"message": message})

    return snap_pending(progress=progress)
