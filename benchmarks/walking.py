"""Nearby by walking time against a plain PostGIS radius query, on a real extract.

    python -m benchmarks.walking --pbf PATH --objects 100000 --queries 500

Imports the extract into its own database (``voisinage_bench`` on the configured server, so the
demo graph is left alone), places the objects on usable ways, a few meters off the street as
doors are, snaps them all once as a write does (``geo.snapping``: ``snap_rows_per_s``), then for
each query picks an object's place as origin and measures, in one run and on the same rows:

- walking: every row reachable within 15 minutes on foot, timed door to door and sorted, read
  with the rows' stored places (``geo.selectors.nearby_ids``), then the first page of 20 rows
  built as the API does;
- crow-fly ids (``crowfly_ids_p95_ms``, ``ratio_ids_p95``): only the ids within the same radius,
  the plainest PostGIS query, no row built;
- crow-fly: every row within that radius built as a model instance, sorted by distance;
- with ``--per-query-too``, walking as before snap on write: every candidate snapped per query
  (``walking_per_query_p95_ms``).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from benchmarks.common import bench_database, percentile


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pbf", type=Path, required=True)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--profile", default="walk")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--per-query-too",
        action="store_true",
        help="also time the walking query with every candidate snapped per query (slow)",
    )
    args = parser.parse_args(argv)

    bench_database("voisinage_bench", args.database_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    import numpy as np
    import shapely
    from django.contrib.gis.db import models
    from django.contrib.gis.geos import Point
    from django.contrib.gis.measure import D
    from django.core.management import call_command
    from django.db import connection

    from geo.graph import get_network
    from geo.models import SnappedPlace
    from geo.profiles import get_profile
    from geo.selectors import crowfly_nearby, nearby_ids, reachable_rows, rows_for
    from geo.services import graph_import
    from geo.snapping import SnapTable, snap_pending

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    call_command("migrate", verbosity=0)

    started = time.perf_counter()
    graph_import(path=args.pbf, name=args.pbf.name, progress=lambda m: log(f"import: {m}"))
    import_s = time.perf_counter() - started
    net = get_network()
    prof = get_profile(args.profile)

    class Place(SnappedPlace):
        location = models.PointField(geography=True, srid=4326)

        class Meta:
            app_label = "geo"
            managed = False
            db_table = "bench_place"

    # Objects on usable ways, spread by length, a few meters off the street as doors are.
    rng = np.random.default_rng(args.seed)
    pg = net.graphs[prof.graph_key]
    usable = pg.snap_edges
    weights = net.length_m[usable] / net.length_m[usable].sum()
    chosen = rng.choice(usable, size=args.objects, p=weights)
    fractions = rng.uniform(0, 1, args.objects)
    on_way = shapely.line_interpolate_point(net.pgeoms[chosen], fractions, normalized=True)
    xy = shapely.get_coordinates(on_way) + rng.normal(0, 8, (args.objects, 2))
    lonlat = net.proj.inverse_coords(xy)
    log(f"placing {args.objects:,} objects")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_place")
        cursor.execute(
            "CREATE TABLE bench_place (id bigserial PRIMARY KEY,"
            " location geography(Point, 4326) NOT NULL, snap_graph integer, snap bytea)"
        )
        hexes = shapely.to_wkb(
            shapely.set_srid(shapely.points(lonlat), 4326), hex=True, include_srid=True
        )
        with cursor.cursor.copy("COPY bench_place (location) FROM STDIN") as copy:
            for h in hexes:
                copy.write_row((h,))
        cursor.execute("CREATE INDEX bench_place_location ON bench_place USING gist (location)")
        cursor.execute("ANALYZE bench_place")
    started = time.perf_counter()
    snapped = snap_pending(
        tables=[SnapTable(label="bench_place", table="bench_place", pk="id", point="location")],
        progress=lambda m: log(f"snap: {m}"),
    )["bench_place"]
    snap_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE bench_place")

    seconds = args.minutes * 60
    radius = prof.effective_m(seconds)
    origins = rng.choice(args.objects, size=args.queries + 20, replace=True)
    queryset = Place.objects.all()
    walking_ms: list[float] = []
    per_query_ms: list[float] = []
    crowfly_ms: list[float] = []
    ids_ms: list[float] = []
    found_walk: list[int] = []
    found_crow: list[int] = []
    for i, k in enumerate(origins):
        origin = Point(float(lonlat[k, 0]), float(lonlat[k, 1]), srid=4326)
        t0 = time.perf_counter()
        reachable = nearby_ids(origin=origin, seconds=seconds, profile=prof.name, queryset=queryset)
        rows_for(queryset, reachable, 0, 20)  # the first page, as the API builds it
        t1 = time.perf_counter()
        crow_rows = crowfly_nearby(origin=origin, meters=radius, queryset=queryset)
        t2 = time.perf_counter()
        # The plainest PostGIS query: only the ids within the same radius (no rows built).
        list(queryset.filter(location__dwithin=(origin, D(m=radius))).values_list("pk", flat=True))
        t3 = time.perf_counter()
        if args.per_query_too:
            rows = [
                (pk, p.x, p.y)
                for pk, p in queryset.filter(location__dwithin=(origin, D(m=radius))).values_list(
                    "pk", "location"
                )
            ]
            again = reachable_rows(origin=origin, seconds=seconds, profile=prof.name, rows=rows)
            assert again.pks == reachable.pks, "stored and per-query snapping disagree"
        t4 = time.perf_counter()
        if i < 20:  # warm-up
            continue
        walking_ms.append((t1 - t0) * 1000)
        crowfly_ms.append((t2 - t1) * 1000)
        ids_ms.append((t3 - t2) * 1000)
        if args.per_query_too:
            per_query_ms.append((t4 - t3) * 1000)
        found_walk.append(len(reachable))
        found_crow.append(len(crow_rows))
        if (i - 19) % 100 == 0:
            log(f"queries: {i - 19:,} of {args.queries:,}")

    result = {
        "pbf": args.pbf.name,
        "objects": args.objects,
        "queries": args.queries,
        "minutes": args.minutes,
        "profile": prof.name,
        "radius_m": round(radius, 1),
        "walking_p50_ms": round(percentile(walking_ms, 0.5), 2),
        "walking_p95_ms": round(percentile(walking_ms, 0.95), 2),
        "crowfly_p50_ms": round(percentile(crowfly_ms, 0.5), 2),
        "crowfly_p95_ms": round(percentile(crowfly_ms, 0.95), 2),
        "ratio_p95": round(percentile(walking_ms, 0.95) / percentile(crowfly_ms, 0.95), 3),
        "crowfly_ids_p50_ms": round(percentile(ids_ms, 0.5), 2),
        "crowfly_ids_p95_ms": round(percentile(ids_ms, 0.95), 2),
        "ratio_ids_p95": round(percentile(walking_ms, 0.95) / percentile(ids_ms, 0.95), 3),
        **(
            {
                "walking_per_query_p50_ms": round(percentile(per_query_ms, 0.5), 2),
                "walking_per_query_p95_ms": round(percentile(per_query_ms, 0.95), 2),
            }
            if per_query_ms
            else {}
        ),
        "rows_walking_mean": round(statistics.fmean(found_walk), 1),
        "rows_crowfly_mean": round(statistics.fmean(found_crow), 1),
        "import_s": round(import_s, 2),
        "snap_s": round(snap_s, 2),
        "snap_rows_per_s": round(snapped / max(snap_s, 1e-9)),
        "graph_nodes": net.n_nodes,
        "graph_edges": net.edge_count,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
