"""Each process holds the active street graph once, in memory, and reloads it when a new one lands.

The check for a new graph is one indexed query, made at most every ``GEO_GRAPH_CHECK_SECONDS``.
Loading reads the graph in one REPEATABLE READ snapshot, so an import that swaps graphs at the
same moment is seen either wholly or not at all. It reads from the read replica when there is one
fit for it (``geo.replica``), from the primary otherwise.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import shapely
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils.translation import gettext_lazy as _

from backend.errors import UnavailableError
from geo.models import StreetGraph
from geo.network import StreetNetwork
from geo.profiles import EdgeTags
from geo.replica import load_on_replica

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_network: StreetNetwork | None = None
_checked_at = 0.0


class GraphUnavailableError(UnavailableError):
    code = "street_graph_unavailable"
    default_message = _("No street graph is loaded yet; import an OSM extract first.")


EDGE_COLUMNS = (
    "source",
    "target",
    "length_m",
    "highway",
    "foot",
    "bicycle",
    "access",
    "surface",
    "sidewalk",
    "wheelchair",
    "steps",
    "oneway_bike",
    "motor",
    "oneway_car",
)


def _active_graph(using: str = DEFAULT_DB_ALIAS) -> tuple[int, str] | None:
    row = StreetGraph.objects.using(using).filter(is_active=True).values_list("pk", "name").first()
    return (row[0], row[1]) if row else None


def load_network(using: str = DEFAULT_DB_ALIAS) -> StreetNetwork | None:
    """Reads the active graph from the database alias ``using``; None when there is none."""
    connection = connections[using]
    outer = connection.in_atomic_block
    with transaction.atomic(using=using):
        if not outer:  # inside an outer transaction (tests), its snapshot is already one
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        active = _active_graph(using)
        if active is None:
            return None
        graph_id, name = active
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(EDGE_COLUMNS)}, ST_AsBinary(geom) "  # noqa: S608 - fixed names
                "FROM geo_streetedge WHERE graph_id = %s ORDER BY id",
                [graph_id],
            )
            rows = cursor.fetchall()
    if not rows:
        return None
    cols = list(zip(*rows, strict=True))
    tags = EdgeTags(
        highway=np.array(cols[3], dtype=object),
        foot=np.array(cols[4], dtype=object),
        bicycle=np.array(cols[5], dtype=object),
        access=np.array(cols[6], dtype=object),
        surface=np.array(cols[7], dtype=object),
        sidewalk=np.array(cols[8], dtype=object),
        wheelchair=np.array(cols[9], dtype=object),
        steps=np.array(cols[10], dtype=bool),
        oneway_bike=np.array(cols[11], dtype=np.int8),
        motor=np.array(cols[12], dtype=object),
        oneway_car=np.array(cols[13], dtype=np.int8),
    )
    geoms = shapely.from_wkb([bytes(g) for g in cols[14]])
    return StreetNetwork(
        graph_id=graph_id,
        name=name,
        src=np.array(cols[0], dtype=np.int64),
        dst=np.array(cols[1], dtype=np.int64),
        length_m=np.array(cols[2], dtype=float),
        geoms=geoms,
        tags=tags,
        snap_max_m=float(settings.GEO_SNAP_MAX_M),
        min_component=int(settings.GEO_MIN_COMPONENT_NODES),
    )


def get_network() -> StreetNetwork:
    """The active street graph of this process, reloaded when a new import has landed."""
    global _network, _checked_at
    now = time.monotonic()
    current = _network
    if current is not None and now - _checked_at < settings.GEO_GRAPH_CHECK_SECONDS:
        return current
    active = _active_graph()
    if active is None:
        raise GraphUnavailableError()
    if current is not None and current.graph_id == active[0]:
        _checked_at = now
        return current
    with _lock:
        if _network is None or _network.graph_id != active[0]:
            started = time.perf_counter()
            loaded = load_on_replica(load_network, active[0])
            if loaded is None:
                raise GraphUnavailableError()
            _network = loaded
            logger.info(
                "street graph #%s '%s' loaded: %s nodes, %s edges in %.2f s",
                loaded.graph_id,
                loaded.name,
                loaded.n_nodes,
                loaded.edge_count,
                time.perf_counter() - started,
            )
        _checked_at = time.monotonic()
        return _network


def graph_status() -> dict[str, object]:
    """For /readyz: is a graph active, and is this process's copy of it loaded."""
    try:
        net = get_network()
    except GraphUnavailableError:
        return {"loaded": False}
    return {
        "loaded": True,
        "graph_id": net.graph_id,
        "name": net.name,
        "nodes": net.n_nodes,
        "edges": net.edge_count,
    }
