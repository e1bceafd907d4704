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

import itertools
import math

import numpy as np
import shapely
import shapely.ops
from django.utils.translation import gettext_lazy as _
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from backend.errors import DomainError
from geo.profiles import GRAPH_KEYS, EdgeRules, EdgeTags, Profile, rules_for
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
    """One profile's view of the network: a CSR graph, its islands and its snapping index."""

    def __init__(self, net: StreetNetwork, key: str, rules: EdgeRules, min_component: int) -> None:
        self.key = key
        self.rules = rules
        n = net.n_nodes
        src, dst = net.src, net.dst
        eff = net.length_m * rules.factor
        # Both directions of each usable edge, then keep the cheapest of parallel edges.
        a = np.concatenate([src[rules.forward], dst[rules.backward]])
        b = np.concatenate([dst[rules.forward], src[rules.backward]])
        w = np.concatenate([eff[rules.forward], eff[rules.backward]])
        e = np.concatenate([np.flatnonzero(rules.forward), np.flatnonzero(rules.backward)])
        keep = a != b
        a, b, w, e = a[keep], b[keep], w[keep], e[keep]
        order = np.lexsort((w, b, a))
        a, b, w, e = a[order], b[order], w[order], e[order]
        first = np.ones(a.size, dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        a, b, w, e = a[first], b[first], w[first], e[first]
        # A zero weight would read as "no edge" to some csgraph routines: keep a tiny positive one.
        w = np.maximum(w, 1e-6)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
        self.csr = csr_matrix((w, b.astype(np.int32), indptr), shape=(n, n))
        self.csr_edge = e
        usable = rules.forward | rules.backward
        # Strongly connected parts: on a directed network (bike, car) a one-way dead end can be
        # entered but not left, so a place snapped there could be reached and never left (or the
        # reverse). Points snap only to ways inside a large part that can be both entered and
        # left. Walking networks are symmetric, where strong and weak parts are the same.
        _, labels = connected_components(self.csr, directed=True, connection="strong")
        sizes = np.bincount(labels)
        big_node = sizes[labels] >= min(min_component, int(sizes.max()) if sizes.size else 0)
        self.labels = labels
        mainland = usable & big_node[src] & big_node[dst]
        island = usable & ~mainland
        self.snap_edges = np.flatnonzero(mainland)
        self.island_edges = np.flatnonzero(island)
        self.tree = shapely.STRtree(net.pgeoms[self.snap_edges])
        self.island_tree = shapely.STRtree(net.pgeoms[self.island_edges]) if island.any() else None

    def edge_between(self, a: int, b: int) -> int:
        lo, hi = self.csr.indptr[a], self.csr.indptr[a + 1]
        pos = lo + int(np.searchsorted(self.csr.indices[lo:hi], b))
        if pos >= hi or self.csr.indices[pos] != b:
            raise KeyError((a, b))
        return int(self.csr_edge[pos])


class StreetNetwork:
    """An immutable street graph loaded from the database; shared by the threads of a process."""

    def __init__(
        self,
        *,
        graph_id: int,
        name: str,
        src: np.ndarray,
        dst: np.ndarray,
        length_m: np.ndarray,
        geoms: np.ndarray,
        tags: EdgeTags,
        snap_max_m: float,
        min_component: int,
    ) -> None:
        self.graph_id = graph_id
        self.name = name
        # Dense node numbers 0..n-1 over the nodes edges actually use.
        nodes, inverse = np.unique(np.concatenate([src, dst]), return_inverse=True)
        self.n_nodes = int(nodes.size)
        self.src = inverse[: src.size].astype(np.int32)
        self.dst = inverse[src.size :].astype(np.int32)
        self.length_m = length_m.astype(float)
        self.geoms = geoms
        self.tags = tags
        self.snap_max_m = snap_max_m
        bounds = shapely.total_bounds(geoms)
        self.proj = Projection.around((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
        self.pgeoms = shapely.transform(geoms, self._forward_coords)
        self.plength = shapely.length(self.pgeoms)
        self.bounds = bounds
        self.graphs = {
            key: ProfileGraph(self, key, rules_for(key, tags), min_component) for key in GRAPH_KEYS
        }

    def _forward_coords(self, xy: np.ndarray) -> np.ndarray:
        x, y = self.proj.forward(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    @property
    def edge_count(self) -> int:
        return int(self.src.size)

    # --- snapping -------------------------------------------------------------------------------

    def snap_many(self, lons: np.ndarray, lats: np.ndarray, profile: Profile) -> Snaps:
        pg = self.graphs[profile.graph_key]
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        x, y = self.proj.forward(lons, lats)
        points = shapely.points(x, y)
        n = lons.size
        edge = np.full(n, -1, dtype=np.int64)
        offset = np.zeros(n)
        approach = np.full(n, np.inf)
        island = np.zeros(n, dtype=bool)
        if n == 0:
            return Snaps(edge, offset, approach, x, y, island)
        idx, dist = pg.tree.query_nearest(
            points, max_distance=self.snap_max_m, return_distance=True, all_matches=False
        )
        inp, hit = idx[0], pg.snap_edges[idx[1]]
        edge[inp] = hit
        approach[inp] = dist
        along = shapely.line_locate_point(self.pgeoms[hit], points[inp])
        plen = self.plength[hit]
        frac = np.divide(along, plen, out=np.zeros_like(along), where=plen > 0)
        offset[inp] = np.clip(frac, 0.0, 1.0) * self.length_m[hit]
        missed = edge < 0
        if missed.any() and pg.island_tree is not None:
            near = pg.island_tree.query_nearest(
                points[missed], max_distance=self.snap_max_m, all_matches=False
            )
            island[np.flatnonzero(missed)[np.unique(near[0])]] = True
        return Snaps(edge, offset, approach, x, y, island)

    def snap(self, lon: float, lat: float, profile: Profile) -> Snap:
        snaps = self.snap_many(np.array([lon]), np.array([lat]), profile)
        if snaps.edge[0] < 0:
            if snaps.island[0]:
                raise IslandError()
            raise OffGraphError()
        return snaps.one()

    def snapped_point(self, snap: Snap) -> tuple[float, float]:
        """(x, y) of a snap's place on its edge."""
        geom = self.pgeoms[snap.edge]
        plen = self.plength[snap.edge]
        frac = snap.offset_m / self.length_m[snap.edge] if self.length_m[snap.edge] > 0 else 0.0
        p = shapely.line_interpolate_point(geom, frac * plen)
        return float(shapely.get_x(p)), float(shapely.get_y(p))

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
        """Projected coordinates along edge ``e`` from one offset (meters) to another."""
        length = self.length_m[e]
        plen = self.plength[e]
        scale = plen / length if length > 0 else 0.0
        start, end = from_m * scale, to_m * scale
        lo, hi = min(start, end), max(start, end)
        sub = shapely.ops.substring(self.pgeoms[e], lo, hi)
        xy = shapely.get_coordinates(sub)
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
        pieces.extend(self.pgeoms[whole])
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
        plain = bool(np.all(pg.rules.factor == 1.0))
        if not plain and real_meters:
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
