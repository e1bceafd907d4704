"""The street graph as files of arrays, built once per machine and mapped read-only by every process.

A graph's files live in one directory of ``GEO_GRAPH_CACHE_DIR``, named by the graph's id, a token
of its creation time (ids restart in a new database; the token keeps two databases on one machine
apart), the file format and a fingerprint of the settings the arrays depend on (a change of profile
settings builds new files, no re-import needed). The directory is written whole under a temporary
name and renamed into place, so a reader sees all of it or nothing; a file lock makes one process
build it while the others wait. Processes open the arrays with ``numpy.load(mmap_mode="r")``: the
operating system keeps one copy per machine in its page cache, whatever the number of processes.

Only arrays are stored (no Python object per edge or node):

- ``src``, ``dst`` (int32, dense node numbers), ``length`` (float64 meters) per edge;
- ``xy`` (float32, meters in the graph's local projection) for every coordinate of every edge and
  ``coord_off`` (int32, the edge's first coordinate; one more entry at the end);
- per profile key (walk, wheelchair, bike, car): the graph in CSR form (``indptr`` and
  ``indices`` int32, ``data`` float64 as scipy's csgraph computes with, so a search copies
  nothing), ``arc_edge`` (int32, the edge each arc runs along), ``fwd``/``bwd`` (bool: usable
  along or against the edge; ``bwd`` only when it differs), ``factor`` (float32, only where not
  all 1) and ``snap`` (uint8 per edge: 1 mainland, where points snap; 2 island). The wheelchair
  graph's arcs are a subset of the walking one's: it keeps the walking ``indptr`` and
  ``indices``, with an infinite weight on the arcs it cannot use;
- the snapping index, a uniform grid: ``cell_key`` (int32, or int64 on a huge region: sorted
  keys of the non-empty cells), ``cell_ptr`` (int32) and ``cell_edge`` (int32, the edges with a
  segment touching the cell).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geo.profiles import GRAPH_KEYS, EdgeTags, rules_for
from geo.replica import load_on_replica
from geo.snaps import Projection

logger = logging.getLogger(__name__)

# Bump when the arrays or their meaning change: older directories are then ignored (and pruned).
FORMAT_VERSION = 1
# Side of a cell of the snapping grid, in meters.
GRID_CELL_M = 120.0
# Profiles whose arcs are a subset of another's: they share its CSR structure.
SHARED_STRUCTURE = {"wheelchair": "walk"}

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


@dataclass(frozen=True)
class GraphKey:
    """What names a graph's files: its id and the moment it was created."""

    graph_id: int
    created_token: str

    @classmethod
    def of(cls, graph_id: int, created_at: Any) -> GraphKey:
        micros = int(created_at.timestamp() * 1_000_000) if created_at is not None else 0
        return cls(graph_id=int(graph_id), created_token=format(micros, "x"))


def cache_dir() -> Path:
    return Path(settings.GEO_GRAPH_CACHE_DIR)


def fingerprint() -> str:
    """The settings the stored arrays depend on (profiles are computed when files are built)."""
    text = json.dumps(
        [
            FORMAT_VERSION,
            float(settings.GEO_WHEELCHAIR_UNPAVED_FACTOR),
            int(settings.GEO_MIN_COMPONENT_NODES),
            GRID_CELL_M,
        ]
    )
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:8]


def graph_dir(key: GraphKey) -> Path:
    return cache_dir() / f"g{key.graph_id}-{key.created_token}-v{FORMAT_VERSION}-{fingerprint()}"


# --- reading the graph from PostgreSQL --------------------------------------------------------------


@dataclass(frozen=True)
class EdgeRows:
    """A graph's edge rows as read from one database."""

    graph_id: int
    rows: list[tuple]


def read_edges(graph_id: int, using: str = DEFAULT_DB_ALIAS) -> EdgeRows | None:
    """The edge rows of graph ``graph_id`` from the database ``using``, in one snapshot; None
    when it has none (a replica that has not replayed the import yet)."""
    conn = connections[using]
    outer = conn.in_atomic_block
    with transaction.atomic(using=using):
        if not outer:  # inside an outer transaction (tests), its snapshot is already one
            with conn.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(EDGE_COLUMNS)}, ST_AsBinary(geom) "  # noqa: S608 - fixed names
                "FROM geo_streetedge WHERE graph_id = %s ORDER BY id",
                [graph_id],
            )
            rows = cursor.fetchall()
    return EdgeRows(graph_id=graph_id, rows=rows) if rows else None


def _read_edges(graph_id: int) -> list[tuple]:
    """The edge rows of a graph to build its files: from the read replica when one is fit for
    it, from the primary when the replica has not replayed the graph's import yet or fails
    (``geo.replica.load_on_replica``)."""
    loaded = load_on_replica(lambda using: read_edges(graph_id, using), graph_id)
    return loaded.rows if loaded is not None else []


def tags_from_columns(cols: list) -> EdgeTags:
    return EdgeTags(
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


def load_tags(graph_id: int) -> EdgeTags:
    """The tags of a graph's edges, in edge order, from the database (for inspection and tests:
    searches need only the arrays)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(EDGE_COLUMNS)} "  # noqa: S608 - fixed names
            "FROM geo_streetedge WHERE graph_id = %s ORDER BY id",
            [graph_id],
        )
        rows = cursor.fetchall()
    cols: list = list(zip(*rows, strict=True)) if rows else [[] for _ in EDGE_COLUMNS]
    return tags_from_columns(cols)


# --- building the arrays ---------------------------------------------------------------------------


def build_arrays(rows: list[tuple]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the metadata of a graph, from its edge rows (``EDGE_COLUMNS`` + WKB)."""
    cols = list(zip(*rows, strict=True))
    tags = tags_from_columns(cols)
    src_ids = np.array(cols[0], dtype=np.int64)
    dst_ids = np.array(cols[1], dtype=np.int64)
    length = np.array(cols[2], dtype=np.float64)
    geoms = shapely.from_wkb([bytes(g) for g in cols[-1]])
    del cols
    nodes, inverse = np.unique(np.concatenate([src_ids, dst_ids]), return_inverse=True)
    n = int(nodes.size)
    m = int(src_ids.size)
    src = inverse[:m].astype(np.int32)
    dst = inverse[m:].astype(np.int32)
    bounds = [float(v) for v in shapely.total_bounds(geoms)]
    proj = Projection.around((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    lonlat, owner = shapely.get_coordinates(geoms, return_index=True)
    del geoms
    counts = np.bincount(owner, minlength=m)
    coord_off = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(counts, out=coord_off[1:])
    px, py = proj.forward(lonlat[:, 0], lonlat[:, 1])
    del lonlat
    xy = np.column_stack([px, py]).astype(np.float32)

    arrays: dict[str, np.ndarray] = {
        "src": src,
        "dst": dst,
        "length": length,
        "xy": xy,
        "coord_off": coord_off.astype(np.int32),
    }
    shared: dict[str, str] = {}
    min_component = int(settings.GEO_MIN_COMPONENT_NODES)
    any_usable = np.zeros(m, dtype=bool)
    for key in GRAPH_KEYS:
        rules = rules_for(key, tags)
        fwd = np.asarray(rules.forward, dtype=bool)
        bwd = np.asarray(rules.backward, dtype=bool)
        factor = np.asarray(rules.factor, dtype=np.float64)
        eff = length * factor
        a = np.concatenate([src[fwd], dst[bwd]])
        b = np.concatenate([dst[fwd], src[bwd]])
        w = np.concatenate([eff[fwd], eff[bwd]])
        e = np.concatenate([np.flatnonzero(fwd), np.flatnonzero(bwd)])
        keep = a != b
        a, b, w, e = a[keep], b[keep], w[keep], e[keep]
        order = np.lexsort((w, b, a))
        a, b, w, e = a[order], b[order], w[order], e[order]
        first = np.ones(a.size, dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        a, b, w, e = a[first], b[first], w[first], e[first]
        # A zero weight would read as "no edge" to some csgraph routines: keep a tiny positive one.
        w = np.maximum(w, 1e-6)
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
        csr = csr_matrix((w, b.astype(np.int32), indptr), shape=(n, n))
        indices = b.astype(np.int32)
        usable = fwd | bwd
        # Strongly connected parts: on a directed network (bike, car) a one-way dead end can be
        # entered but not left, so a place snapped there could be reached and never left (or the
        # reverse). Points snap only to ways inside a large part that can be both entered and
        # left. Walking networks are symmetric, where strong and weak parts are the same.
        _, labels = connected_components(csr, directed=True, connection="strong")
        sizes = np.bincount(labels)
        big_node = sizes[labels] >= min(min_component, int(sizes.max()) if sizes.size else 0)
        mainland = usable & big_node[src] & big_node[dst]
        snap = np.where(mainland, 1, np.where(usable, 2, 0)).astype(np.uint8)
        any_usable |= usable
        base = SHARED_STRUCTURE.get(key)
        if base is not None:
            # This profile's arcs on the base profile's structure (infinite where unusable).
            pair = a.astype(np.int64) * n + b
            base_pair = (
                np.repeat(np.arange(n, dtype=np.int64), np.diff(arrays[f"{base}.indptr"])) * n
                + arrays[f"{base}.indices"]
            )
            pos = np.searchsorted(base_pair, pair)
            inside = pos < base_pair.size
            inside[inside] = base_pair[pos[inside]] == pair[inside]
            if inside.all():
                data = np.full(base_pair.size, np.inf)
                data[pos] = w
                arc_edge = arrays[f"{base}.arc_edge"].copy()
                arc_edge[pos] = e
                w, e = data, arc_edge
                shared[key] = base
        if key not in shared:
            arrays[f"{key}.indptr"] = indptr
            arrays[f"{key}.indices"] = indices
        arrays[f"{key}.data"] = w.astype(np.float64)
        arrays[f"{key}.arc_edge"] = e.astype(np.int32)
        arrays[f"{key}.fwd"] = fwd
        if not np.array_equal(fwd, bwd):
            arrays[f"{key}.bwd"] = bwd
        if not np.all(factor == 1.0):
            arrays[f"{key}.factor"] = factor.astype(np.float32)
        arrays[f"{key}.snap"] = snap
    grid_meta = _build_grid(arrays, coord_off, counts, any_usable)
    meta = {
        "format": FORMAT_VERSION,
        "n_nodes": n,
        "n_edges": m,
        "bounds": bounds,
        "proj": [proj.lon0, proj.lat0, proj.kx, proj.ky],
        "grid": grid_meta,
        "shared": shared,
    }
    return arrays, meta


def _build_grid(
    arrays: dict[str, np.ndarray], coord_off: np.ndarray, counts: np.ndarray, usable: np.ndarray
) -> dict[str, float | int]:
    """A uniform grid over the edges some profile uses: for each non-empty cell, the edges with a
    segment whose bounding box touches it."""
    xy = arrays["xy"].astype(np.float64)
    cell = GRID_CELL_M
    x0 = float(xy[:, 0].min()) - cell if xy.size else 0.0
    y0 = float(xy[:, 1].min()) - cell if xy.size else 0.0
    nx = int((float(xy[:, 0].max()) - x0) // cell) + 2 if xy.size else 1
    ny = int((float(xy[:, 1].max()) - y0) // cell) + 2 if xy.size else 1
    # Segments: every coordinate but each edge's last one, of usable edges.
    edge_of = np.repeat(np.arange(counts.size), counts)
    starts = np.ones(xy.shape[0], dtype=bool)
    starts[coord_off[1:] - 1] = False
    starts &= usable[edge_of]
    s = np.flatnonzero(starts)
    ax, ay, bx, by = xy[s, 0], xy[s, 1], xy[s + 1, 0], xy[s + 1, 1]
    ix0 = ((np.minimum(ax, bx) - x0) // cell).astype(np.int64)
    ix1 = ((np.maximum(ax, bx) - x0) // cell).astype(np.int64)
    iy0 = ((np.minimum(ay, by) - y0) // cell).astype(np.int64)
    iy1 = ((np.maximum(ay, by) - y0) // cell).astype(np.int64)
    wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
    k = wx * wy
    seg_rep = np.repeat(np.arange(s.size), k)
    first = np.concatenate([[0], np.cumsum(k)[:-1]]) if k.size else np.zeros(0, dtype=np.int64)
    local = np.arange(int(k.sum())) - np.repeat(first, k)
    cx = ix0[seg_rep] + local % wx[seg_rep]
    cy = iy0[seg_rep] + local // wx[seg_rep]
    m = max(int(counts.size), 1)
    # One entry per (cell, edge): an edge's segments in one cell are looked at together.
    # (np.unique hashes large integer arrays: slower here than a sort and a comparison.)
    pairs = np.sort((cy * nx + cx) * m + edge_of[s[seg_rep]])
    pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])] if pairs.size else pairs
    keys, edges = pairs // m, pairs % m
    first_at = (
        np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]])) if keys.size else keys
    )
    uniq = keys[first_at]
    key_type = np.int32 if nx * ny < 2**31 else np.int64
    arrays["cell_key"] = uniq.astype(key_type)
    arrays["cell_ptr"] = np.append(first_at, keys.size).astype(np.int32)
    arrays["cell_edge"] = edges.astype(np.int32)
    return {"x0": x0, "y0": y0, "cell": cell, "nx": nx}


# --- files -----------------------------------------------------------------------------------------


def write_dir(target: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Writes the arrays under a temporary name beside ``target`` and renames it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps(meta))
        for f in tmp.iterdir():
            with f.open("rb") as fh:
                os.fsync(fh.fileno())
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "meta.json").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process was first: same contents
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def ensure_files(key: GraphKey) -> Path:
    """The directory of a graph's files, built from the database first if missing (one process
    builds, the others wait on the lock and then find it)."""
    target = graph_dir(key)
    if (target / "meta.json").exists():
        return target
    with _locked(target.parent / f".{target.name}.lock"):
        if (target / "meta.json").exists():
            return target
        started = time.perf_counter()
        rows = _read_edges(key.graph_id)
        if not rows:
            raise LookupError(f"street graph #{key.graph_id} has no edges")
        arrays, meta = build_arrays(rows)
        del rows
        meta["graph_id"] = key.graph_id
        write_dir(target, arrays, meta)
        logger.info(
            "street graph #%s: files written to %s in %.2f s",
            key.graph_id,
            target,
            time.perf_counter() - started,
        )
    with contextlib.suppress(OSError):
        (target.parent / f".{target.name}.lock").unlink()
    return target


def open_dir(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Maps every array of a graph directory read-only."""
    meta = json.loads((path / "meta.json").read_text())
    # Plain views of the mapped arrays (their base is the map): indexing a numpy.memmap itself
    # costs a Python call each time.
    arrays = {
        f.name[: -len(".npy")]: np.asarray(np.load(f, mmap_mode="r", allow_pickle=False))
        for f in path.iterdir()
        if f.name.endswith(".npy")
    }
    return arrays, meta


def remove_files(keys: list[GraphKey]) -> None:
    """Deletes the directories of graphs that no longer exist (a process that maps them keeps
    reading its copy until it lets go: unlinked files stay readable), and those of older formats
    of any graph."""
    root = cache_dir()
    if not root.is_dir():
        return
    gone = {f"g{k.graph_id}-{k.created_token}-" for k in keys}
    for d in root.iterdir():
        if not d.is_dir() or not d.name.startswith("g"):
            continue
        old_format = f"-v{FORMAT_VERSION}-" not in d.name
        if old_format or any(d.name.startswith(prefix) for prefix in gone):
            shutil.rmtree(d, ignore_errors=True)
