"""The active street graphs, one per region, mapped from their files and reloaded when one changes.

Several graphs are active at once, one per region (``StreetGraph.region``). A point belongs to the
region whose graph's bounding box (widened by the snapping distance) holds it, the smallest one if
boxes overlap; a neighbourhood belongs to the region of a point inside its area. A process serves
the regions of ``GEO_REGIONS`` (all when empty): it loads only those graphs and refuses requests
for another region with a clear error (the proxy in front routes each region's requests to its
processes: docs/scaling.md).

The check for a changed graph is one indexed query, made at most every
``GEO_GRAPH_CHECK_SECONDS``. Loading maps the graph's files (:mod:`geo.graphfile`), built once per
machine, by the import or else by the first process that needs them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from backend.errors import DomainError, UnavailableError
from geo import graphfile
from geo.graphfile import GraphKey
from geo.models import DEFAULT_REGION, StreetGraph
from geo.network import OffGraphError, StreetNetwork

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_networks: dict[str, StreetNetwork] = {}
_active: dict[str, ActiveGraph] = {}
_checked_at = -math.inf


class GraphUnavailableError(UnavailableError):
    code = "street_graph_unavailable"
    default_message = _("No street graph is loaded yet; import an OSM extract first.")


class OutsideRegionsError(OffGraphError):
    code = "outside_regions"
    default_message = _("This point is outside every region this service covers.")


class RegionNotServedError(DomainError):
    # 421 Misdirected Request: the proxy sent this region's request to another region's servers.
    status_code = 421
    code = "region_not_served"
    default_message = _("This region is served by other servers of this service.")


@dataclass(frozen=True)
class ActiveGraph:
    graph_id: int
    region: str
    name: str
    key: GraphKey
    # (lon0, lat0, lon1, lat1) of the imported extract's ways, or None when unknown.
    bbox: tuple[float, float, float, float] | None


def served_regions() -> list[str]:
    """The regions this process serves (``GEO_REGIONS``); empty: every active region."""
    return list(settings.GEO_REGIONS)


def _serves(region: str) -> bool:
    served = served_regions()
    return not served or region in served


def _read_active() -> dict[str, ActiveGraph]:
    out = {}
    rows = StreetGraph.objects.filter(is_active=True).values_list(
        "pk", "region", "name", "created_at", "bbox"
    )
    for pk, region, name, created_at, bbox in rows:
        extent = tuple(float(v) for v in bbox.extent) if bbox is not None else None
        out[region] = ActiveGraph(
            graph_id=pk,
            region=region,
            name=name,
            key=GraphKey.of(pk, created_at),
            bbox=extent,  # type: ignore[arg-type]
        )
    return out


def active_graphs() -> dict[str, ActiveGraph]:
    """The active graph of every region (of the database, served here or not), checked again at
    most every ``GEO_GRAPH_CHECK_SECONDS``."""
    global _active, _checked_at
    now = time.monotonic()
    if now - _checked_at < settings.GEO_GRAPH_CHECK_SECONDS:
        return _active
    _active = _read_active()
    _checked_at = now
    return _active


def _default_region(active: dict[str, ActiveGraph]) -> str:
    """The region of callers that name none: the only one served, else the default region, else
    the first of ``GEO_REGIONS`` (or of the names) that is active."""
    candidates = [r for r in active if _serves(r)]
    if not candidates:
        raise GraphUnavailableError()
    if len(candidates) == 1:
        return candidates[0]
    if DEFAULT_REGION in candidates:
        return DEFAULT_REGION
    order = [r for r in served_regions() if r in candidates] or sorted(candidates)
    return order[0]


def load_network(region: str | None = None) -> StreetNetwork | None:
    """Maps the active graph of ``region`` (building its files first if missing); None when the
    region has no active graph. Not cached: :func:`get_network` keeps one per process."""
    active = _read_active()
    if not active:
        return None
    region = region if region is not None else _default_region(active)
    graph = active.get(region)
    if graph is None:
        return None
    return _open(graph)


def _open(graph: ActiveGraph) -> StreetNetwork:
    try:
        path = graphfile.ensure_files(graph.key)
    except LookupError as exc:  # deleted meanwhile (a newer import pruned it)
        raise GraphUnavailableError() from exc
    arrays, meta = graphfile.open_dir(path)
    return StreetNetwork(
        graph_id=graph.graph_id,
        name=graph.name,
        region=graph.region,
        arrays=arrays,
        meta=meta,
        snap_max_m=float(settings.GEO_SNAP_MAX_M),
    )


def get_network(region: str | None = None) -> StreetNetwork:
    """The active street graph of ``region`` in this process, reloaded when a new import of it has
    landed. Without a region: the only one this process serves (or the default region)."""
    return _network_in(active_graphs(), region)


def _network_in(active: dict[str, ActiveGraph], region: str | None) -> StreetNetwork:
    if region is None:
        region = _default_region(active)
    elif not _serves(region):
        raise RegionNotServedError(fields={"region": region})
    graph = active.get(region)
    if graph is None:
        raise GraphUnavailableError()
    current = _networks.get(region)
    if current is not None and current.graph_id == graph.graph_id:
        return current
    with _lock:
        current = _networks.get(region)
        if current is None or current.graph_id != graph.graph_id:
            started = time.perf_counter()
            current = _open(graph)
            _networks[region] = current
            for gone in [r for r in _networks if r not in active]:
                del _networks[gone]
            logger.info(
                "street graph #%s '%s' of region '%s' mapped: %s nodes, %s edges in %.2f s",
                current.graph_id,
                current.name,
                region,
                current.n_nodes,
                current.edge_count,
                time.perf_counter() - started,
            )
        return current


def _contains(bbox: tuple[float, float, float, float] | None, lon: float, lat: float) -> bool:
    if bbox is None:
        return True
    pad_lat = float(settings.GEO_SNAP_MAX_M) / 111_195.0
    pad_lon = pad_lat / max(math.cos(math.radians(lat)), 0.01)
    return (bbox[0] - pad_lon <= lon <= bbox[2] + pad_lon) and (
        bbox[1] - pad_lat <= lat <= bbox[3] + pad_lat
    )


def region_of_point(lon: float, lat: float) -> str:
    """The region whose graph covers (lon, lat): the smallest box holding it. A point outside
    every region is refused (:class:`OutsideRegionsError`, a 400), except where only one region
    is active: a town's own deployment keeps saying the point is off its graph."""
    return _region_in(active_graphs(), lon, lat)


def _region_in(active: dict[str, ActiveGraph], lon: float, lat: float) -> str:
    if not active:
        raise GraphUnavailableError()
    inside = [g for g in active.values() if _contains(g.bbox, lon, lat)]
    if not inside:
        if len(active) == 1:
            return next(iter(active))
        raise OutsideRegionsError()

    def area(g: ActiveGraph) -> float:
        return math.inf if g.bbox is None else (g.bbox[2] - g.bbox[0]) * (g.bbox[3] - g.bbox[1])

    return min(inside, key=lambda g: (area(g), g.region)).region


def network_for_point(lon: float, lat: float) -> StreetNetwork:
    """The street graph of the region that covers (lon, lat)."""
    active = active_graphs()
    return _network_in(active, _region_in(active, lon, lat))


def region_of_neighbourhood(neighbourhood: Any) -> str:
    """The region of a neighbourhood: the one covering a point inside its area."""
    point = neighbourhood.area.point_on_surface
    return region_of_point(point.x, point.y)


def network_for_neighbourhood(neighbourhood: Any) -> StreetNetwork:
    return get_network(region_of_neighbourhood(neighbourhood))


def graph_status() -> dict[str, object]:
    """For /readyz: is a graph active in each served region, and is this process's copy loaded."""
    try:
        active = active_graphs()
        regions = [r for r in sorted(active) if _serves(r)]
        if not regions:
            return {"loaded": False}
        loaded = {r: get_network(r) for r in regions}
    except GraphUnavailableError:
        return {"loaded": False}
    first = loaded[_default_region(active)]
    return {
        "loaded": True,
        "graph_id": first.graph_id,
        "name": first.name,
        "nodes": first.n_nodes,
        "edges": first.edge_count,
        "regions": {
            r: {"graph_id": n.graph_id, "name": n.name, "nodes": n.n_nodes, "edges": n.edge_count}
            for r, n in loaded.items()
        },
    }


def reset_cache() -> None:
    """Forgets the graphs this process mapped (tests, after settings change)."""
    global _checked_at
    with _lock:
        _networks.clear()
        _active.clear()
        _checked_at = -math.inf
