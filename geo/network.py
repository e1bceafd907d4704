"""The street graph in memory: compact arrays, one sparse graph per profile, snapping, searches.

A point is placed on the graph by snapping it to the nearest usable *edge* (not node) of the
profile, with its offset along that edge, so two doors on one street are routed along the street.
Times are door to door: the straight approach from the point to its snapped place is walked (or
ridden) at the profile's speed, which also makes travel distance never shorter than the straight
line between the two points, the property the nearby prefilter relies on.

Inside, costs are *effective meters* (length x the profile's factor); seconds are effective meters
over the profile's speed. Distances are meters, times seconds; rounding happens at the API edge.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import numpy as np
import shapely
from django.utils.translation import gettext_lazy as _
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from backend.errors import DomainError
from geo.profiles import GRAPH_KEYS, EdgeRules, EdgeTags, Profile
from geo.snaps import Projection, Route, Search, Snap, Snaps


class OffGraphError(DomainError):
    code = "off_graph"
    default_message = _("This point is too far from any way this profile can use.")


class IslandError(DomainError):
    code = "on_island"
    default_message = _(
        "This point is on a small piece of the street network that this profile cannot leave."
    )


class NoRouteError(DomainError):
    code = "no_route"
    default_message = _("No route connects these points for this profile.")


class ProfileGraph:
    """One profile's view of the network: a CSR graph, who may use each edge, where points snap.

    Every array is mapped from the graph's files (:mod:`geo.graphfile`), shared by the processes
    of a machine; the CSR matrix wraps them without a copy (int32 indices, float64 weights: what
    scipy's csgraph computes with, so a search copies nothing either).
    """

    def __init__(
        self, net: StreetNetwork, key: str, arrays: dict[str, np.ndarray], base: str | None = None
    ) -> None:
        self.key = key
        structure = base or key
        n = net.n_nodes
        fwd = arrays[f"{key}.fwd"]
        bwd = arrays.get(f"{key}.bwd", fwd)
        factor = arrays.get(f"{key}.factor")
        # All factors 1: a view of one value, no memory per edge.
        self.plain = factor is None
        self.rules = EdgeRules(
            forward=fwd,
            backward=bwd,
            factor=np.broadcast_to(np.float64(1.0), (net.edge_count,))
            if factor is None
            else factor,
        )
        self.csr = csr_matrix(
            (arrays[f"{key}.data"], arrays[f"{structure}.indices"], arrays[f"{structure}.indptr"]),
            shape=(n, n),
            copy=False,
        )
        self.csr.has_sorted_indices = True  # built sorted by (row, column)
        self.csr_edge = arrays[f"{key}.arc_edge"]
        # 1: a mainland edge, where points snap; 2: an island's, reported as such; 0: unusable.
        self.snap_class = arrays[f"{key}.snap"]

    @functools.cached_property
    def labels(self) -> np.ndarray:
        """Strongly connected part of every node (computed on demand: searches do not need it)."""
        csr = self.csr
        finite = np.isfinite(csr.data)
        if not finite.all():  # on a shared structure, the arcs this profile cannot use
            csr = csr_matrix((np.where(finite, 1.0, 0.0), csr.indices, csr.indptr), shape=csr.shape)
            csr.eliminate_zeros()
        _, labels = connected_components(csr, directed=True, connection="strong")
        return labels

    @functools.cached_property
    def snap_edges(self) -> np.ndarray:
        return np.flatnonzero(self.snap_class == 1)

    @functools.cached_property
    def island_edges(self) -> np.ndarray:
        return np.flatnonzero(self.snap_class == 2)

    def edge_between(self, a: int, b: int) -> int:
        lo, hi = self.csr.indptr[a], self.csr.indptr[a + 1]
        pos = lo + int(np.searchsorted(self.csr.indices[lo:hi], np.int32(b)))
        if pos >= hi or self.csr.indices[pos] != b:
            raise KeyError((a, b))
        return int(self.csr_edge[pos])


class StreetNetwork:
    """An immutable street graph mapped from its files; shared by the threads of a process, and
    its arrays by the processes of a machine."""

    # Points snapped in one pass of the grid (bounds the temporary arrays of a large batch).
    SNAP_CHUNK = 4096

    def __init__(
        self,
        *,
        graph_id: int,
        name: str,
        arrays: dict[str, np.ndarray],
        meta: dict[str, Any],
        snap_max_m: float,
        region: str = "",
    ) -> None:
        self.graph_id = graph_id
        self.name = name
        self.region = region
        self.arrays = arrays
        self.n_nodes = int(meta["n_nodes"])
        self.src = arrays["src"]
        self.dst = arrays["dst"]
        self.length_m = arrays["length"]
        self.xy = arrays["xy"]
        self.coord_off = arrays["coord_off"]
        self.snap_max_m = snap_max_m
        self.bounds = np.asarray(meta["bounds"], dtype=float)
        lon0, lat0, kx, ky = meta["proj"]
        self.proj = Projection(lon0=lon0, lat0=lat0, kx=kx, ky=ky)
        grid = meta["grid"]
        self._grid = (float(grid["x0"]), float(grid["y0"]), float(grid["cell"]), int(grid["nx"]))
        # Two distances closer than this are equal: a few steps of the stored float32 meters.
        extent = max(abs(float(grid["x0"])), abs(float(grid["y0"])), 1.0)
        self._tie_m = max(1e-4, 4 * float(np.spacing(np.float32(extent))))
        shared = meta.get("shared", {})
        self.graphs = {key: ProfileGraph(self, key, arrays, shared.get(key)) for key in GRAPH_KEYS}

    @property
    def edge_count(self) -> int:
        return int(self.src.size)

    def nbytes(self) -> int:
        """Bytes of all the graph's arrays (mapped: shared by the processes of a machine)."""
        return int(sum(a.nbytes for a in self.arrays.values()))

    # --- geometry from the coordinate arrays ----------------------------------------------------

    def _coords(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The coordinates of ``edges`` one after the other (float64), each edge's first row in
        them and its number of coordinates."""
        lo = self.coord_off[edges].astype(np.int64)
        counts = self.coord_off[edges + 1].astype(np.int64) - lo
        first = np.cumsum(counts) - counts
        idx = np.arange(int(counts.sum())) - np.repeat(first - lo, counts)
        return self.xy[idx].astype(np.float64), first, counts

    def _cumulative(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Projected meters from each edge's start to each of its coordinates (rows as
        :meth:`_coords`), each edge's first row and its number of coordinates."""
        xy, first, counts = self._coords(edges)
        step = np.zeros(xy.shape[0])
        if xy.shape[0] > 1:
            step[1:] = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
        step[first] = 0.0  # no step from one edge's last coordinate to the next edge's first
        run = np.cumsum(step)
        return run - np.repeat(run[first], counts), first, counts

    def plength(self, e: np.ndarray | int) -> np.ndarray | float:
        """Projected length of edges, from their coordinates."""
        edges = np.atleast_1d(np.asarray(e, dtype=np.int64))
        cum, first, counts = self._cumulative(edges)
        out = cum[first + counts - 1]
        return out if np.ndim(e) else float(out[0])

    def _lines(self, edges: np.ndarray, lonlat: bool = False) -> np.ndarray:
        """Line strings of ``edges`` (projected, or in longitude/latitude), built on demand."""
        edges = np.asarray(edges, dtype=np.int64)
        if edges.size == 0:
            return np.empty(0, dtype=object)
        xy, _first, counts = self._coords(edges)
        if lonlat:
            xy = self.proj.inverse_coords(xy)
        return shapely.linestrings(xy, indices=np.repeat(np.arange(edges.size), counts))

    @functools.cached_property
    def pgeoms(self) -> np.ndarray:
        """Every edge as a projected line (built on first use: searches never need it)."""
        return self._lines(np.arange(self.edge_count))

    @functools.cached_property
    def geoms(self) -> np.ndarray:
        """Every edge as a longitude/latitude line (built on first use)."""
        return self._lines(np.arange(self.edge_count), lonlat=True)

    @functools.cached_property
    def tags(self) -> EdgeTags:
        """The edges' OSM tags, read from the database on first use (searches use the rules)."""
        from geo.graphfile import load_tags

        return load_tags(self.graph_id)

    # --- snapping -------------------------------------------------------------------------------

    def _nearest(
        self, x: np.ndarray, y: np.ndarray, pg: ProfileGraph, wanted: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each point, the nearest segment (its first coordinate, -1 if none within the snap
        distance) of an edge whose class is ``wanted``, the distance and the fraction along it.

        The grid is searched in growing blocks of cells around each point: first the 2 x 2 cells
        nearest the point (every segment within half a cell's width is in them), then blocks of
        radius r cells (every segment within r cells' width). A point whose nearest segment is
        that close is settled; the others go on with a larger block."""
        x0, y0, cell, _nx = self._grid
        n = x.size
        best_seg = np.full(n, -1, dtype=np.int64)
        best_d = np.full(n, np.inf)
        best_t = np.zeros(n)
        fx, fy = (x - x0) / cell, (y - y0) / cell
        cx, cy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
        # The neighbouring column and row on the side of the cell the point is in.
        sx = np.where(fx - cx >= 0.5, 1, -1)
        sy = np.where(fy - cy >= 0.5, 1, -1)
        radius = self.snap_max_m
        last = max(1, math.ceil(radius / cell))
        blocks: list[int] = [0]  # 0: the 2 x 2 block
        r = 1
        while r < last:
            blocks.append(r)
            r *= 2
        blocks.append(last)
        pending = np.arange(n)
        for r in blocks:
            if pending.size == 0:
                break
            if r == 0:
                zero = np.zeros(pending.size, dtype=np.int64)
                ox = np.column_stack([zero, sx[pending], zero, sx[pending]])
                oy = np.column_stack([zero, zero, sy[pending], sy[pending]])
                reach = 0.5 * cell
            else:
                d = np.arange(-r, r + 1)
                gx, gy = np.meshgrid(d, d)
                ox, oy = gx.ravel()[None, :], gy.ravel()[None, :]
                reach = r * cell
            self._nearest_in_block(
                x, y, pending, cx[pending][:, None] + ox, cy[pending][:, None] + oy, pg, wanted,
                (best_seg, best_d, best_t),
            )  # fmt: skip
            settled = (best_d[pending] <= reach) | (r == last)
            pending = pending[~settled]
        far = best_d > radius
        best_seg[far] = -1
        best_d[far] = np.inf
        return best_seg, best_d, best_t

    def _nearest_in_block(
        self,
        x: np.ndarray,
        y: np.ndarray,
        pending: np.ndarray,
        px: np.ndarray,
        py: np.ndarray,
        pg: ProfileGraph,
        wanted: int,
        best: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        """Updates ``best`` (segment, distance, fraction) of the ``pending`` points with the
        segments of the cells (px, py) (one row of cells per pending point)."""
        _x0, _y0, _cell, nx = self._grid
        best_seg, best_d, best_t = best
        keys_all, ptr, cell_edge = (
            self.arrays["cell_key"],
            self.arrays["cell_ptr"],
            self.arrays["cell_edge"],
        )
        if keys_all.size == 0:
            return
        owner = np.broadcast_to(np.arange(pending.size)[:, None], px.shape).ravel()
        px, py = px.ravel(), py.ravel()
        valid = (px >= 0) & (px < nx) & (py >= 0)
        keys = py[valid] * nx + px[valid]
        owner = owner[valid]
        # (In the array's own type: searchsorted would convert the whole array otherwise.)
        pos = np.searchsorted(keys_all, keys.astype(keys_all.dtype))
        pos_ok = np.minimum(pos, keys_all.size - 1)
        found = (pos < keys_all.size) & (keys_all[pos_ok] == keys)
        pos, owner = pos[found], owner[found]
        start = ptr[pos].astype(np.int64)
        count = ptr[pos + 1].astype(np.int64) - start
        total = int(count.sum())
        if total == 0:
            return
        first = np.cumsum(count) - count
        edge = cell_edge[np.arange(total) - np.repeat(first - start, count)].astype(np.int64)
        local = np.repeat(owner, count)
        keep = pg.snap_class[edge] == wanted
        # Each (point, edge) once, grouped by point: an edge crosses several cells of a block.
        m = max(self.edge_count, 1)
        pairs = np.sort(local[keep] * m + edge[keep])
        if pairs.size == 0:
            return
        pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
        local, edge = pairs // m, pairs % m
        # On a node where ways meet, a way usable both ways is the better place: a one-way's
        # end can only be arrived at along it, its start only left along it.
        one_way = ~(pg.rules.forward[edge] & pg.rules.backward[edge])
        # Every segment of each candidate edge (named by its first coordinate).
        lo = self.coord_off[edge].astype(np.int64)
        nseg = self.coord_off[edge + 1].astype(np.int64) - lo - 1
        sfirst = np.cumsum(nseg) - nseg
        seg = np.arange(int(nseg.sum())) - np.repeat(sfirst - lo, nseg)
        local = np.repeat(local, nseg)
        one_way = np.repeat(one_way, nseg)
        a = self.xy[seg].astype(np.float64)
        b = self.xy[seg + 1].astype(np.float64)
        vx, vy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
        who = pending[local]
        wx, wy = x[who] - a[:, 0], y[who] - a[:, 1]
        len2 = vx * vx + vy * vy
        t = np.divide(wx * vx + wy * vy, len2, out=np.zeros_like(len2), where=len2 > 0)
        t = np.clip(t, 0.0, 1.0)
        dist = np.hypot(wx - t * vx, wy - t * vy)
        # Per point (candidates are grouped by point): the nearest, and among those as near
        # within the precision of the stored coordinates (a point on a node where segments
        # meet, on both ends of a closed way) one on a two-way edge, then the earliest segment,
        # as locating a point along a line does.
        starts = np.flatnonzero(np.concatenate([[True], local[1:] != local[:-1]]))
        sizes = np.diff(np.append(starts, local.size))
        nearest = np.minimum.reduceat(dist, starts)
        near = dist <= np.repeat(nearest, sizes) + self._tie_m
        rank = np.where(near, one_way.astype(np.int64) * (1 << 40) + seg, np.iinfo(np.int64).max)
        chosen = np.repeat(np.minimum.reduceat(rank, starts), sizes) == rank
        hits = np.flatnonzero(chosen)
        hits = hits[np.concatenate([[True], local[hits][1:] != local[hits][:-1]])]
        p = who[hits]
        better = dist[hits] < best_d[p]
        p, hits = p[better], hits[better]
        best_d[p] = dist[hits]
        best_seg[p] = seg[hits]
        best_t[p] = t[hits]

    def snap_many(self, lons: np.ndarray, lats: np.ndarray, profile: Profile) -> Snaps:
        pg = self.graphs[profile.graph_key]
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        x, y = self.proj.forward(lons, lats)
        x, y = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
        n = lons.size
        edge = np.full(n, -1, dtype=np.int64)
        offset = np.zeros(n)
        approach = np.full(n, np.inf)
        island = np.zeros(n, dtype=bool)
        if n == 0:
            return Snaps(edge, offset, approach, x, y, island)
        for lo in range(0, n, self.SNAP_CHUNK):
            part = slice(lo, lo + self.SNAP_CHUNK)
            seg, dist, t = self._nearest(x[part], y[part], pg, 1)
            hit = np.flatnonzero(seg >= 0)
            s = seg[hit]
            e = np.searchsorted(self.coord_off, s.astype(self.coord_off.dtype), side="right") - 1
            cum, first, counts = self._cumulative(e)
            at = first + (s - self.coord_off[e])
            along = cum[at] + t[hit] * (cum[at + 1] - cum[at])
            plen = cum[first + counts - 1]
            frac = np.divide(along, plen, out=np.zeros_like(along), where=plen > 0)
            idx = hit + lo
            edge[idx] = e
            approach[idx] = dist[hit]
            offset[idx] = np.clip(frac, 0.0, 1.0) * self.length_m[e]
            missed = np.flatnonzero(seg < 0)
            if missed.size and pg.island_edges.size:
                iseg, _, _ = self._nearest(x[part][missed], y[part][missed], pg, 2)
                island[missed[iseg >= 0] + lo] = True
        return Snaps(edge, offset, approach, x, y, island)

    def snap(self, lon: float, lat: float, profile: Profile) -> Snap:
        snaps = self.snap_many(np.array([lon]), np.array([lat]), profile)
        if snaps.edge[0] < 0:
            if snaps.island[0]:
                raise IslandError()
            raise OffGraphError()
        return snaps.one()

    def _point_along(self, e: int, dist: float) -> tuple[float, float]:
        """(x, y) at ``dist`` projected meters along edge ``e`` (clamped to the edge)."""
        c, _first, _counts = self._cumulative(np.array([e]))
        pts = self.xy[int(self.coord_off[e]) : int(self.coord_off[e + 1])].astype(np.float64)
        dist = min(max(dist, 0.0), float(c[-1]))
        return float(np.interp(dist, c, pts[:, 0])), float(np.interp(dist, c, pts[:, 1]))

    def snapped_point(self, snap: Snap) -> tuple[float, float]:
        """(x, y) of a snap's place on its edge."""
        e = snap.edge
        length = self.length_m[e]
        frac = snap.offset_m / length if length > 0 else 0.0
        return self._point_along(e, frac * float(self.plength(e)))

    # --- searches -------------------------------------------------------------------------------

    def _starts(self, snap: Snap, pg: ProfileGraph) -> tuple[int, int, float, float]:
        e = snap.edge
        f = pg.rules.factor[e]
        u, v = int(self.src[e]), int(self.dst[e])
        to_u = snap.offset_m * f if pg.rules.backward[e] else np.inf
        to_v = (self.length_m[e] - snap.offset_m) * f if pg.rules.forward[e] else np.inf
        return u, v, float(to_u), float(to_v)

    def search(
        self, origin: Snap, profile: Profile, limit_m: float = np.inf, predecessors: bool = False
    ) -> Search:
        """Effective meters from a snapped origin to every node, up to ``limit_m``."""
        pg = self.graphs[profile.graph_key]
        u, v, to_u, to_v = self._starts(origin, pg)
        starts = [(u, to_u), (v, to_v)]
        rows = []
        preds = []
        for node, start_cost in starts:
            if not math.isfinite(start_cost) or start_cost > limit_m:
                rows.append(np.full(self.n_nodes, np.inf))
                preds.append(np.full(self.n_nodes, -9999, dtype=np.int32))
                continue
            lim = limit_m - start_cost
            if predecessors:
                d, p = dijkstra(
                    pg.csr, directed=True, indices=node, limit=lim, return_predecessors=True
                )
                preds.append(p)
            else:
                d = dijkstra(pg.csr, directed=True, indices=node, limit=lim)
            rows.append(d + start_cost)
        stacked = np.vstack(rows)
        row = np.argmin(stacked, axis=0)
        cost = stacked[row, np.arange(self.n_nodes)]
        return Search(
            origin=origin,
            cost=cost,
            row=row,
            predecessors=np.vstack(preds) if predecessors else None,
            limit=limit_m,
        )

    def costs_to(self, search: Search, snaps: Snaps, profile: Profile) -> np.ndarray:
        """Effective meters from the search's snapped origin to each snapped target (not
        counting the targets' approach); inf where unreachable or not placed."""
        pg = self.graphs[profile.graph_key]
        ok = snaps.edge >= 0
        e = np.where(ok, snaps.edge, 0)
        f = pg.rules.factor[e]
        off = snaps.offset_m
        length = self.length_m[e]
        via_u = np.where(pg.rules.forward[e], search.cost[self.src[e]] + off * f, np.inf)
        via_v = np.where(
            pg.rules.backward[e], search.cost[self.dst[e]] + (length - off) * f, np.inf
        )
        cost = np.minimum(via_u, via_v)
        o = search.origin
        same = ok & (e == o.edge)
        if same.any():
            ahead = off >= o.offset_m
            direct_ok = np.where(ahead, pg.rules.forward[e], pg.rules.backward[e])
            direct = np.where(direct_ok & same, np.abs(off - o.offset_m) * f, np.inf)
            cost = np.minimum(cost, direct)
        return np.where(ok, cost, np.inf)

    # --- route ----------------------------------------------------------------------------------

    def route(
        self,
        a: Snap,
        b: Snap,
        profile: Profile,
        a_lonlat: tuple,
        b_lonlat: tuple,
        limit_m: float = np.inf,
    ) -> Route:
        pg = self.graphs[profile.graph_key]
        search = self.search(a, profile, limit_m=limit_m, predecessors=True)
        e = b.edge
        f = pg.rules.factor[e]
        length = self.length_m[e]
        options: list[tuple[float, str]] = []
        if pg.rules.forward[e]:
            options.append((search.cost[self.src[e]] + b.offset_m * f, "u"))
        if pg.rules.backward[e]:
            options.append((search.cost[self.dst[e]] + (length - b.offset_m) * f, "v"))
        if e == a.edge:
            ahead = b.offset_m >= a.offset_m
            if pg.rules.forward[e] if ahead else pg.rules.backward[e]:
                options.append((abs(b.offset_m - a.offset_m) * f, "direct"))
        if not options or min(options)[0] == np.inf:
            raise NoRouteError()
        best_cost, via = min(options)
        ax, ay = self.proj.forward(*a_lonlat)
        bx, by = self.proj.forward(*b_lonlat)
        pieces: list[np.ndarray] = [np.array([[ax, ay]])]
        meters = a.approach_m + b.approach_m
        used = [a.edge]
        if via == "direct":
            pieces.append(self._piece(e, a.offset_m, b.offset_m))
            meters += abs(b.offset_m - a.offset_m)
        else:
            end_side = 0 if via == "u" else 1
            start_side, path = search.path_to(self._end_node(e, end_side))
            assert path[0] == self._end_node(a.edge, start_side)
            # The start edge is left by the side whose start gave the cost (search.row), not by
            # whichever end the path's first node matches: on a loop both ends are that node.
            first = self._end_offset(a.edge, start_side)
            pieces.append(self._piece(a.edge, a.offset_m, first))
            meters += abs(first - a.offset_m)
            for n1, n2 in itertools.pairwise(path):
                k = pg.edge_between(n1, n2)
                forward = self.src[k] == n1
                pieces.append(
                    self._piece(
                        k,
                        0.0 if forward else self.length_m[k],
                        self.length_m[k] if forward else 0.0,
                    )
                )
                meters += self.length_m[k]
                used.append(k)
            used.append(e)
            # The end edge is entered by the side of the option chosen above.
            last = self._end_offset(e, end_side)
            pieces.append(self._piece(e, last, b.offset_m))
            meters += abs(b.offset_m - last)
        pieces.append(np.array([[bx, by]]))
        xy = np.vstack(pieces)
        keep = np.ones(len(xy), dtype=bool)
        keep[1:] = np.any(np.abs(np.diff(xy, axis=0)) > 1e-6, axis=1)
        coords = self.proj.inverse_coords(xy[keep])
        if len(coords) == 1:
            coords = np.vstack([coords, coords])
        effective = best_cost + a.approach_m + b.approach_m
        return Route(
            coordinates=coords, meters=float(meters), effective_m=float(effective), edges=used
        )

    def _end_node(self, e: int, side: int) -> int:
        """Edge ``e``'s source (side 0) or target (side 1)."""
        return int(self.src[e] if side == 0 else self.dst[e])

    def _end_offset(self, e: int, side: int) -> float:
        """The offset of edge ``e``'s source (side 0: 0 m) or target (side 1: its length)."""
        return 0.0 if side == 0 else float(self.length_m[e])

    def _piece(self, e: int, from_m: float, to_m: float) -> np.ndarray:
        """Projected coordinates along edge ``e`` from one offset (meters) to another: the points
        at both offsets and the edge's coordinates between them."""
        length = self.length_m[e]
        c, _first, _counts = self._cumulative(np.array([e]))
        pts = self.xy[int(self.coord_off[e]) : int(self.coord_off[e + 1])].astype(np.float64)
        plen = float(c[-1])
        scale = plen / length if length > 0 else 0.0
        start, end = from_m * scale, to_m * scale
        lo = min(max(min(start, end), 0.0), plen)
        hi = min(max(max(start, end), 0.0), plen)
        at_lo = [np.interp(lo, c, pts[:, 0]), np.interp(lo, c, pts[:, 1])]
        if hi <= lo:
            return np.array([at_lo])
        at_hi = [np.interp(hi, c, pts[:, 0]), np.interp(hi, c, pts[:, 1])]
        inner = pts[(c > lo) & (c < hi)]
        xy = np.vstack([[at_lo], inner, [at_hi]])
        return xy[::-1] if start > end else xy

    # --- isochrone ------------------------------------------------------------------------------

    def isochrone(
        self, origin: Snap, profile: Profile, seconds: float, buffer_m: float
    ) -> shapely.Geometry:
        """The area reachable within ``seconds``, in longitude/latitude."""
        pg = self.graphs[profile.graph_key]
        budget = profile.effective_m(seconds) - origin.approach_m
        if budget <= 0:
            x, y = origin.x, origin.y
            return self.proj.inverse_geometry(shapely.buffer(shapely.points(x, y), buffer_m))
        search = self.search(origin, profile, limit_m=budget)
        cost = search.cost
        f = pg.rules.factor
        usable = pg.rules.forward | pg.rules.backward
        left_u = np.where(pg.rules.forward, (budget - cost[self.src]) / f, -np.inf)
        left_v = np.where(pg.rules.backward, (budget - cost[self.dst]) / f, -np.inf)
        reach = usable & ((left_u > 0) | (left_v > 0))
        pieces: list[shapely.Geometry] = []
        whole = reach & (np.maximum(left_u, 0) + np.maximum(left_v, 0) >= self.length_m)
        pieces.extend(self._lines(np.flatnonzero(whole)))
        for k in np.flatnonzero(reach & ~whole).tolist():
            if left_u[k] > 0:
                pieces.append(
                    shapely.LineString(self._piece(k, 0.0, min(left_u[k], self.length_m[k])))
                )
            if left_v[k] > 0:
                length = self.length_m[k]
                pieces.append(
                    shapely.LineString(self._piece(k, length, max(length - left_v[k], 0.0)))
                )
        # The origin's own edge, around the origin, in the directions allowed.
        e = origin.edge
        o = origin.offset_m
        reach_on_edge = budget / f[e]
        lo = o - reach_on_edge if pg.rules.backward[e] else o
        hi = o + reach_on_edge if pg.rules.forward[e] else o
        lo, hi = max(lo, 0.0), min(hi, self.length_m[e])
        if hi > lo:
            pieces.append(shapely.LineString(self._piece(e, lo, hi)))
        pieces.append(shapely.LineString([(origin.x, origin.y), self.snapped_point(origin)]))
        valid = [p for p in pieces if not p.is_empty and shapely.get_num_coordinates(p) >= 2]
        # One buffer per piece, then their union (cascaded): buffering all the lines as one
        # geometry nodes every piece against every other, and the crossings of a square cross
        # each other by the hundred (seconds to minutes instead of tens of milliseconds).
        lines = np.array(valid or [shapely.points(origin.x, origin.y)], dtype=object)
        area = shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=2))
        area = shapely.simplify(area, buffer_m / 4)
        return self.proj.inverse_geometry(area)

    # --- matrix ---------------------------------------------------------------------------------

    # Rows of distances (8 bytes per node each) a matrix keeps in memory at once.
    MATRIX_CHUNK_BYTES = 64 * 1024 * 1024

    def matrix(
        self,
        snaps: Snaps,
        profile: Profile,
        limit_m: float = np.inf,
        origins: np.ndarray | None = None,
        real_meters: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and meters between every pair of snapped points (inf where unreachable).

        One multi-source search per profile: the graph searches start from the distinct end
        nodes of the points' edges (points on one street share them), all in one call of
        scipy's Dijkstra (chunked to bound memory), and only the columns of the points' end
        nodes are kept. Each point then leaves by either end of its edge and arrives by either
        end of its target's edge, or along the edge itself when both are on it.

        ``origins`` (indices of points): only their rows are computed (the others stay inf).
        ``limit_m`` bounds the searches (effective meters). For a profile whose costs are not
        plain meters (wheelchair), the real meters of the cheapest paths need one search per
        point; with ``real_meters=False`` the meters returned are the effective ones (callers
        that only want seconds).
        """
        pg = self.graphs[profile.graph_key]
        n = len(snaps)
        seconds = np.full((n, n), np.inf)
        meters = np.full((n, n), np.inf)
        ok = np.flatnonzero(snaps.edge >= 0)
        rows_of = ok if origins is None else np.intersect1d(np.asarray(origins), ok)
        if ok.size == 0 or rows_of.size == 0:
            return seconds, meters
        plain = pg.plain
        if not plain and real_meters:
            # Profiles whose costs are not plain meters (wheelchair) need the real meters of
            # the cheapest paths: one search per point with predecessors.
            for i in rows_of:
                origin = snaps.one(int(i))
                search = self.search(origin, profile, limit_m=limit_m, predecessors=True)
                eff = self.costs_to(search, snaps, profile) + snaps.approach_m + origin.approach_m
                eff[i] = 0.0
                seconds[i] = profile.seconds(eff)
                meters[i] = self._meters_along(search, snaps, pg, eff, origin)
            return seconds, meters
        e = snaps.edge[ok]
        f = pg.rules.factor[e]
        off = snaps.offset_m[ok]
        length = self.length_m[e]
        u, v = self.src[e], self.dst[e]
        fwd, bwd = pg.rules.forward[e], pg.rules.backward[e]
        # Leaving a point: to its edge's source against the edge, to its target along it.
        out_u = np.where(bwd, off * f, np.inf)
        out_v = np.where(fwd, (length - off) * f, np.inf)
        # Arriving at a point: from its edge's source along the edge, from its target against.
        in_u = np.where(fwd, off * f, np.inf)
        in_v = np.where(bwd, (length - off) * f, np.inf)
        nodes, inverse = np.unique(np.concatenate([u, v]), return_inverse=True)
        iu, iv = inverse[: ok.size], inverse[ok.size :]
        # The origins among the placed points, and the end nodes their searches start from.
        o = np.searchsorted(ok, rows_of)
        starts, start_of = np.unique(np.concatenate([iu[o], iv[o]]), return_inverse=True)
        su, sv = start_of[: o.size], start_of[o.size :]
        # dist[a, b]: effective meters from start node a to end node b.
        dist = np.empty((starts.size, nodes.size))
        chunk = max(1, int(self.MATRIX_CHUNK_BYTES // (8 * max(self.n_nodes, 1))))
        for lo in range(0, starts.size, chunk):
            found = dijkstra(
                pg.csr, directed=True, indices=nodes[starts[lo : lo + chunk]], limit=limit_m
            )
            dist[lo : lo + chunk] = found[:, nodes]
        # From each origin to each end node: by either end of its own edge.
        to_node = np.minimum(out_u[o, None] + dist[su], out_v[o, None] + dist[sv])
        # To each point: arriving by either end of its edge.
        cost = np.minimum(to_node[:, iu] + in_u[None, :], to_node[:, iv] + in_v[None, :])
        # Both on one edge: along it, if it may be used in that direction.
        same = e[o, None] == e[None, :]
        if same.any():
            ahead = off[None, :] >= off[o, None]
            allowed = np.where(ahead, fwd[None, :], bwd[None, :])
            direct = np.where(
                same & allowed, np.abs(off[None, :] - off[o, None]) * f[None, :], np.inf
            )
            cost = np.minimum(cost, direct)
        approach = snaps.approach_m[ok]
        extra = approach[o, None] + approach[None, :]
        cost = cost + extra
        cost[cost > limit_m + extra] = np.inf
        cost[np.arange(o.size), o] = 0.0
        grid = np.ix_(rows_of, ok)
        meters[grid] = cost
        seconds[grid] = profile.seconds(cost)
        return seconds, meters

    def _meters_along(
        self, search: Search, snaps: Snaps, pg: ProfileGraph, eff: np.ndarray, origin: Snap
    ) -> np.ndarray:
        """Real meters of the cheapest paths of a search (profiles whose factors are not all 1)."""
        assert search.predecessors is not None
        meters_to = np.full(self.n_nodes, np.inf)
        _u, _v, to_u, to_v = self._starts(origin, pg)
        f0 = pg.rules.factor[origin.edge]
        reached = np.flatnonzero(np.isfinite(search.cost))
        for node in reached[np.argsort(search.cost[reached])]:
            r = search.row[node]
            p = search.predecessors[r][node]
            if p < 0:
                meters_to[node] = (to_u if r == 0 else to_v) / f0
            else:
                meters_to[node] = meters_to[p] + self.length_m[pg.edge_between(int(p), int(node))]
        out = np.full(len(snaps), np.inf)
        f = pg.rules.factor
        for j in range(len(snaps)):
            e = snaps.edge[j]
            if e < 0 or not np.isfinite(eff[j]):
                continue
            best = np.inf
            best_m = np.inf
            if pg.rules.forward[e]:
                c = search.cost[self.src[e]] + snaps.offset_m[j] * f[e]
                if c < best:
                    best, best_m = c, meters_to[self.src[e]] + snaps.offset_m[j]
            if pg.rules.backward[e]:
                c = search.cost[self.dst[e]] + (self.length_m[e] - snaps.offset_m[j]) * f[e]
                if c < best:
                    best, best_m = c, meters_to[self.dst[e]] + self.length_m[e] - snaps.offset_m[j]
            if e == origin.edge:
                ahead = snaps.offset_m[j] >= origin.offset_m
                if pg.rules.forward[e] if ahead else pg.rules.backward[e]:
                    c = abs(snaps.offset_m[j] - origin.offset_m) * f[e]
                    if c <= best:
                        best, best_m = c, abs(snaps.offset_m[j] - origin.offset_m)
            out[j] = best_m + snaps.approach_m[j] + origin.approach_m
        return out
