"""Nearby items with a text filter, through the full HTTP stack, on a real extract.

    python -m benchmarks.sharing --pbf PATH --items 100000 --queries 300

Builds its own database (``voisinage_bench_sharing`` on the configured server): imports the
extract, creates one neighbourhood over its bounding box, a few thousand residents living on
usable ways and ``--items`` listings (French titles from the demo catalogue), each at the centre
of its owner's blur cell, with the same search vector the services write. Then it starts a real
Daphne process on that database, logs residents in through ``/api/v1/auth/token``, and fires
``GET /api/v1/items/nearby?minutes=15&q=<word>`` sequentially over one keep-alive connection,
each from the home of one of those residents, with words from rare to common and one typo.

``--reuse`` keeps the data of a previous run with the same extract and counts (only the
queries run again). ``--server-profile`` also times each step of the same queries in-process
(candidates with their stored places, the search, page rows, reliability, serialization).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from benchmarks.common import bench_database, percentile
from tests.harness import Daphne, app_env

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "voisinage_bench_sharing"
PASSWORD = "bench-sharing-password-1"  # noqa: S105 - a throwaway database
WORDS = [
    "perceuse",
    "raclette",
    "tente",
    "escabeau",
    "poussette",
    "guitare",
    "tondeuse",
    "vélo",
    "machine",
    "jeu",
    "table",
    "lampe",
    "livres",
    "aspirateur",
    "perseuse",  # a typo: found by trigram similarity
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- data --------------------------------------------------------------------------------------


def _populate(args: argparse.Namespace) -> None:
    """The graph, one neighbourhood, residents on usable ways, and the items (COPY)."""
    import numpy as np
    import shapely
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.contrib.gis.geos import MultiPolygon, Point, Polygon
    from django.contrib.postgres.search import SearchVector
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from geo.graph import get_network
    from geo.privacy import blurred_point
    from geo.profiles import get_profile
    from geo.services import graph_import
    from geo.snapping import snap_pending
    from neighbourhoods.models import Association, Membership, Neighbourhood
    from sharing.models import Item
    from sharing.services.demo_catalogue import CATALOGUE
    from sharing.services.items import normalize

    started = time.perf_counter()
    graph_import(path=args.pbf, name=args.pbf.name, progress=lambda m: log(f"import: {m}"))
    net = get_network()
    log(f"graph imported in {time.perf_counter() - started:.1f} s")
    rng = np.random.default_rng(args.seed)
    pick = random.Random(args.seed)

    with transaction.atomic():
        Item.objects.all().delete()
        Membership.objects.all().delete()
        Neighbourhood.objects.all().delete()
        Association.objects.all().delete()
        User.objects.filter(email__endswith="@bench.voisinage").delete()
        lon0, lat0, lon1, lat1 = (float(v) for v in net.bounds)
        association = Association.objects.create(name="Bench", slug="bench")
        neighbourhood = Neighbourhood.objects.create(
            association=association,
            name=args.pbf.name,
            area=MultiPolygon(Polygon.from_bbox((lon0, lat0, lon1, lat1)), srid=settings.GEO_SRID),
        )
        # Homes on usable ways, spread by length, a few meters off the street as doors are.
        pg = net.graphs[get_profile("walk").graph_key]
        usable = pg.snap_edges
        weights = net.length_m[usable] / net.length_m[usable].sum()
        chosen = rng.choice(usable, size=args.residents, p=weights)
        on_way = shapely.line_interpolate_point(
            net.pgeoms[chosen], rng.uniform(0, 1, args.residents), normalized=True
        )
        xy = shapely.get_coordinates(on_way) + rng.normal(0, 8, (args.residents, 2))
        lonlat = net.proj.inverse_coords(xy)
        password = make_password(PASSWORD)
        users = User.objects.bulk_create(
            [
                User(
                    email=f"r{i}@bench.voisinage",
                    password=password,
                    display_name=f"Résident {i}",
                    home=Point(float(lon), float(lat), srid=settings.GEO_SRID),
                    # Residents who signed up through the app: verified, documents accepted.
                    email_verified_at=timezone.now(),
                    terms_version=settings.TERMS_VERSION,
                    privacy_version=settings.PRIVACY_VERSION,
                )
                for i, (lon, lat) in enumerate(lonlat)
            ],
            batch_size=1000,
        )
        Membership.objects.bulk_create(
            [
                Membership(user=u, neighbourhood=neighbourhood, status=Membership.Status.ACTIVE)
                for u in users
            ],
            batch_size=1000,
        )
        log(f"{len(users):,} residents")
        listings = [
            (category, title, description)
            for category, rows in CATALOGUE.items()
            for title, description in rows
        ]
        blurred = {u.pk: blurred_point(u.home).hexewkb.decode() for u in users}
        now = timezone.now()
        conditions = ["new", "good", "good", "fair", "worn"]
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY sharing_item (owner_id, title, description, category, condition, "
                "deposit_cents, max_loan_days, status, location, title_norm, created_at, "
                "updated_at) FROM STDIN"
            ) as copy,
        ):
            for _ in range(args.items):
                owner = users[pick.randrange(len(users))]
                category, title, description = listings[pick.randrange(len(listings))]
                copy.write_row(
                    (
                        owner.pk,
                        title,
                        description,
                        category,
                        pick.choice(conditions),
                        pick.choice([0, 0, 2000, 5000]),
                        pick.choice([3, 7, 14]),
                        "active",
                        blurred[owner.pk],
                        normalize(title),
                        now,
                        now,
                    )
                )
        log(f"{args.items:,} items copied; search vectors")
        # The same expression as sharing.services.items._refresh_search, for every row at once.
        Item.objects.update(
            search=SearchVector("title", config="voisinage_fr", weight="A")
            + SearchVector("description", config="voisinage_fr", weight="B")
            + SearchVector("title", config="voisinage_en", weight="A")
            + SearchVector("description", config="voisinage_en", weight="B")
        )
    # The residents (bulk_create) and the items (COPY) bypass save(): their places on the street
    # network are stored as an import's bulk job does (geo.snapping).
    snap_pending(progress=lambda m: log(f"snap: {m}"))
    with connection.cursor() as cursor:
        for table in ("sharing_item", "sharing_membership", "accounts_user"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    log(f"data ready in {time.perf_counter() - started:.1f} s")


def _reusable(args: argparse.Namespace) -> bool:
    from accounts.models import User
    from geo.models import StreetGraph
    from sharing.models import Item

    return (
        StreetGraph.objects.filter(is_active=True, name=args.pbf.name).exists()
        and Item.objects.count() == args.items
        and User.objects.filter(email__endswith="@bench.voisinage").count() == args.residents
    )


# --- the server --------------------------------------------------------------------------------


def _daphne(database_url: str, conn_max_age: int | None) -> Daphne:
    env = app_env(
        database_url=database_url,
        DEBUG="false",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1",
        VOISINAGE_ENV="development",
        # The benchmark logs in 40 residents from one address at once: no login limit. The
        # nearby limit (per account) stays on: its Redis counter is part of what is measured.
        THROTTLE_LOGIN="",
        THROTTLE_LOGIN_ACCOUNT="",
    )
    if conn_max_age is not None:
        env["DB_CONN_MAX_AGE"] = str(conn_max_age)
    return Daphne(env, start_timeout=60)


def _server_profile(queries: list[tuple[int, str]], minutes: int) -> dict[str, float]:
    """The same queries in this process, each step of ``items_nearby`` + the view timed apart:
    the same calls as ``sharing.selectors.items_nearby``, split where the time goes (p50/p95, ms)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from geo.graph import get_network
    from geo.privacy import blurred_point
    from geo.profiles import get_profile
    from geo.selectors import _reach
    from geo.snapping import read_candidates
    from sharing import selectors
    from sharing.serializers import NearbyItemSerializer

    # candidates: the candidates with their stored places (one statement); search: the origin
    # snapped and one bounded search timing them all.
    names = ("candidates", "search", "page_rows", "serialize", "total")
    steps: dict[str, list[float]] = {k: [] for k in names}
    sql: list[int] = []
    candidates: list[int] = []
    users = User.objects.in_bulk([uid for uid, _ in queries])
    prof = get_profile("walk")
    budget = prof.effective_m(minutes * 60)
    for i, (uid, word) in enumerate(queries):
        user = users[uid]
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            ids = selectors.require_active_member(user)
            origin = blurred_point(user.home)
            sql_text, params = selectors._candidates_sql(
                user=user, neighbourhood_ids=ids, origin=origin, radius_m=budget, q=word,
                category=None, period=None, using="default",
            )  # fmt: skip
            net = get_network()
            found = read_candidates(
                using="default", inner=sql_text, params=params, net=net, profile=prof
            )
            t1 = time.perf_counter()
            start = net.snap(origin.x, origin.y, prof)
            reachable = _reach(net, start, prof, minutes * 60, found.ids, found.snaps)
            t2 = time.perf_counter()
            page = selectors.NearbySearch(
                reachable=reachable, queryset=selectors.nearby_page_queryset()
            ).page(0, 20)
            t3 = time.perf_counter()
            NearbyItemSerializer(page, many=True).data  # noqa: B018
            t4 = time.perf_counter()
        if i < 10:
            continue
        for name, value in zip(
            names,
            (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0),
            strict=True,
        ):
            steps[name].append(value * 1000)
        sql.append(len(captured.captured_queries))
        candidates.append(len(found.ids))
    out: dict[str, float] = {}
    for name, values in steps.items():
        out[f"server_{name}_p50_ms"] = round(percentile(values, 0.5), 2)
        out[f"server_{name}_p95_ms"] = round(percentile(values, 0.95), 2)
    out["server_sql_queries_mean"] = round(statistics.fmean(sql), 1)
    out["server_candidates_mean"] = round(statistics.fmean(candidates), 1)
    return out


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pbf", type=Path, required=True)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--residents", type=int, default=3000)
    parser.add_argument("--logins", type=int, default=40, help="residents who query")
    parser.add_argument("--minutes", type=int, default=15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--server-profile", action="store_true")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=None,
        help="DB_CONN_MAX_AGE for the server (default: the project's own default, 0)",
    )
    args = parser.parse_args(argv)
    args.pbf = args.pbf.resolve()

    database_url = bench_database(DB_NAME, args.database_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    import httpx
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.reuse and _reusable(args):
        log("reusing the data of a previous run")
    else:
        _populate(args)

    from django.db import connection

    from accounts.models import User

    pick = random.Random(args.seed)
    everyone = list(
        User.objects.filter(email__endswith="@bench.voisinage").values_list("pk", "email")
    )
    askers = pick.sample(everyone, min(args.logins, len(everyone)))
    connection.close()

    server = _daphne(database_url, args.conn_max_age).start()
    try:
        base = server.http
        with httpx.Client(base_url=base, timeout=30) as client:
            tokens: dict[int, str] = {}
            for pk, email in askers:
                r = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
                r.raise_for_status()
                tokens[pk] = r.json()["access"]
            log(f"{len(tokens)} residents logged in")
            plan = [(pick.choice(askers)[0], pick.choice(WORDS)) for _ in range(args.queries + 20)]
            timings: list[float] = []
            rows: list[int] = []
            counts: list[int] = []
            errors = 0
            for i, (pk, word) in enumerate(plan):
                t0 = time.perf_counter()
                r = client.get(
                    "/api/v1/items/nearby",
                    params={"minutes": args.minutes, "q": word},
                    headers={"Authorization": f"Bearer {tokens[pk]}", "Accept-Language": "fr"},
                )
                elapsed = (time.perf_counter() - t0) * 1000
                body = r.json() if r.status_code == 200 else None
                if i < 20:  # warm-up: the graph loads, connections open
                    continue
                if body is None:
                    errors += 1
                    continue
                timings.append(elapsed)
                rows.append(len(body["results"]))
                counts.append(body["count"])
                if (i - 19) % 100 == 0:
                    log(f"queries: {i - 19} of {args.queries}")
    finally:
        server.remove()

    result: dict[str, object] = {
        "pbf": args.pbf.name,
        "items": args.items,
        "residents": args.residents,
        "queries": len(timings),
        "errors": errors,
        "minutes": args.minutes,
        "db_conn_max_age": args.conn_max_age if args.conn_max_age is not None else 0,
        "nearby_api_p50_ms": round(percentile(timings, 0.5), 2),
        "nearby_api_p95_ms": round(percentile(timings, 0.95), 2),
        "nearby_api_p99_ms": round(percentile(timings, 0.99), 2),
        "nearby_api_mean_ms": round(statistics.fmean(timings), 2),
        "rows_returned_mean": round(statistics.fmean(rows), 1),
        "reachable_count_mean": round(statistics.fmean(counts), 1),
    }
    if args.server_profile:
        result.update(_server_profile(plan, args.minutes))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
