"""A neighbourhood's busy hour, through the full stack, for minutes on end.

    python -m benchmarks.load --duration-s 300 --residents 500 --couriers 10

Builds (or reuses) its own database, ``voisinage_load`` on the configured server: the street graph
of ``--pbf`` (the Helsinki demo extract by default), one neighbourhood over it, ``--residents``
residents living on usable ways, each with ``--items-per-resident`` listings, and a hub with
``--couriers`` couriers on foot whose rounds of the day are planned (PyVRP) and started. Each run
first clears the loans, wanted requests and conversations of the previous one.

Then it starts a real Daphne process and a Celery worker (with beat) on that database and on a
``redis-server`` of its own (``--redis-url`` to use another), and plays the hour with a plain
asyncio client (httpx): every resident, in a loop with exponential think times (``--think-s``),
browses nearby items with text or category filters (most often), opens one, asks to borrow it,
answers the requests made for their own things (accept or decline), posts wanted requests, reads
the wanted requests of neighbours and their conversations and writes messages; each courier sends
its position along its round every ``--position-every-s`` seconds. ``--base-url`` plays against a
server that is already running instead: it must serve the benchmark's database (``voisinage_load``
on the server of DATABASE_URL, seeded by this command) with the same SECRET_KEY (the residents'
tokens are minted here); ``--server-pid`` names its process for the memory figures.

A warm-up (``--warmup-s``) runs the same traffic first; the figures are those of the following
``--duration-s``. Errors are every answer other than 2xx, except 429 (the API's intended abuse
limits), counted apart. The server's resident memory is read from /proc at the end of the warm-up
and at the end. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import bench_database, percentile
from tests.harness import CeleryWorker, Daphne, RedisServer, app_env

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "voisinage_load"
DEMO_PBF = ROOT / "var" / "osm" / "helsinki.osm.pbf"
EMAIL_DOMAIN = "load.voisinage"
WORDS = ["perceuse", "raclette", "tente", "escabeau", "poussette", "guitare", "tondeuse", "vélo",
         "jeu", "table", "lampe", "livres", "aspirateur", "perseuse", "scie", "ponceuse"]  # fmt: skip
CATEGORIES = ["diy", "garden", "kitchen", "kids", "sport", "camping", "games", "mobility"]
WANTED = [("Une perceuse", "diy"), ("Un escabeau", "diy"), ("Une tente", "camping"),
          ("Un appareil à raclette", "kitchen"), ("Une poussette", "kids")]  # fmt: skip
MESSAGES = ["Bonjour, c'est toujours disponible ?", "Merci beaucoup !", "Je passe vers 18 h.",
            "Parfait, à samedi.", "Est-ce que le chargeur est fourni ?"]  # fmt: skip


def log(message: str) -> None:
    print(f"[load] {message}", file=sys.stderr, flush=True)


def _rss_mb(pid: int) -> float:
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1]) / 1024
    return round(total, 1)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_rss_mb(pid: int) -> float:
    """A process and its children (a Celery worker and its pool)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    return round(sum(_rss_mb(p) for p in pids if Path(f"/proc/{p}").exists()), 1)


# --- the database ----------------------------------------------------------------------------------


def _seeded(args: argparse.Namespace) -> bool:
    from accounts.models import User
    from geo.models import StreetGraph
    from pooling.models import Route
    from sharing.models import Item

    residents = User.objects.filter(email__startswith="r", email__endswith=f"@{EMAIL_DOMAIN}")
    return (
        StreetGraph.objects.filter(is_active=True, name=args.pbf.name).exists()
        and residents.count() == args.residents
        and Item.objects.filter(owner__in=residents).count()
        == args.residents * args.items_per_resident
        and Route.objects.filter(status=Route.Status.STARTED).exists()
    )


def _seed(args: argparse.Namespace) -> None:
    """The graph, the neighbourhood, residents with their items, the couriers' rounds."""
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
    from neighbourhoods.models import Association, Membership, Neighbourhood
    from pooling.models import Batch, Courier, Hub, Order
    from pooling.planning.pipeline import batch_plan
    from pooling.services.couriers import route_start
    from pooling.services.orders import ParcelIn, Receiving, order_declare
    from pooling.services.places import courier_create, hub_create
    from sharing.models import Item
    from sharing.services.demo_catalogue import CATALOGUE
    from sharing.services.items import normalize

    started = time.perf_counter()
    graph_import(path=args.pbf, name=args.pbf.name, progress=lambda m: log(f"import: {m}"))
    net = get_network()
    rng = np.random.default_rng(args.seed)
    pick = random.Random(args.seed)
    with transaction.atomic():
        Batch.objects.all().delete()
        Order.objects.all().delete()
        Courier.objects.all().delete()
        Hub.objects.all().delete()
        Item.objects.all().delete()
        Membership.objects.all().delete()
        Neighbourhood.objects.all().delete()
        Association.objects.all().delete()
        User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").delete()
        lon0, lat0, lon1, lat1 = (float(v) for v in net.bounds)
        association = Association.objects.create(name="Busy hour", slug="busy-hour")
        neighbourhood = Neighbourhood.objects.create(
            association=association,
            name=args.pbf.name,
            area=MultiPolygon(Polygon.from_bbox((lon0, lat0, lon1, lat1)), srid=settings.GEO_SRID),
        )
        # Homes on usable ways near the middle of the extract (a neighbourhood, not a region).
        pg = net.graphs[get_profile("walk").graph_key]
        usable = pg.snap_edges
        mid = shapely.get_coordinates(shapely.centroid(net.pgeoms[usable]))
        centre = np.median(mid, axis=0)
        near = usable[np.linalg.norm(mid - centre, axis=1) < args.radius_m]
        weights = net.length_m[near] / net.length_m[near].sum()
        chosen = rng.choice(near, size=args.residents, p=weights)
        on_way = shapely.line_interpolate_point(
            net.pgeoms[chosen], rng.uniform(0, 1, args.residents), normalized=True
        )
        xy = shapely.get_coordinates(on_way) + rng.normal(0, 5, (args.residents, 2))
        lonlat = net.proj.inverse_coords(xy)
        password = make_password("load-benchmark-password-1")
        users = User.objects.bulk_create(
            [
                User(
                    email=f"r{i}@{EMAIL_DOMAIN}",
                    password=password,
                    display_name=f"Résident {i}",
                    home=Point(float(lon), float(lat), srid=settings.GEO_SRID),
                    home_address="Helsinki",
                    # Residents who signed up through the app: verified, documents accepted.
                    email_verified_at=timezone.now(),
                    terms_version=settings.TERMS_VERSION,
                    privacy_version=settings.PRIVACY_VERSION,
                )
                for i, (lon, lat) in enumerate(lonlat)
            ]
        )
        Membership.objects.bulk_create(
            [
                Membership(user=u, neighbourhood=neighbourhood, status=Membership.Status.ACTIVE)
                for u in users
            ]
        )
        listings = [(c, t, d) for c, rows in CATALOGUE.items() for t, d in rows]
        now = timezone.now()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY sharing_item (owner_id, title, description, category, condition, "
                "deposit_cents, max_loan_days, status, location, title_norm, created_at, "
                "updated_at) FROM STDIN"
            ) as copy,
        ):
            for owner in users:
                spot = blurred_point(owner.home).hexewkb.decode()
                for _ in range(args.items_per_resident):
                    category, title, description = listings[pick.randrange(len(listings))]
                    copy.write_row(
                        (owner.pk, title, description, category, pick.choice(["good", "fair"]),
                         0, 7, "active", spot, normalize(title), now, now)
                    )  # fmt: skip
        Item.objects.filter(owner__in=users).update(
            search=SearchVector("title", config="voisinage_fr", weight="A")
            + SearchVector("description", config="voisinage_fr", weight="B")
            + SearchVector("title", config="voisinage_en", weight="A")
            + SearchVector("description", config="voisinage_en", weight="B")
        )
        # The hub on the walkable way nearest the centre (the couriers go on foot).
        hub_xy = mid[np.argmin(np.linalg.norm(mid - centre, axis=1))]
        hub_lon, hub_lat = net.proj.inverse_coords(hub_xy.reshape(1, 2))[0]
        hub = hub_create(
            neighbourhood=neighbourhood, name="Hub", lon=float(hub_lon), lat=float(hub_lat)
        )
        couriers = []
        for n in range(args.couriers):
            user = User.objects.create(
                email=f"c{n}@{EMAIL_DOMAIN}", password=password, display_name=f"Coursier {n}"
            )
            couriers.append(
                courier_create(
                    user=user, hub=hub, vehicle="foot", shift_start=datetime.min.time(),
                    shift_end=datetime.max.time().replace(microsecond=0),
                )
            )  # fmt: skip
    with connection.cursor() as cursor:
        for table in ("sharing_item", "sharing_membership", "accounts_user"):
            cursor.execute(f"ANALYZE {table}")
    log(f"{len(users)} residents, {len(users) * args.items_per_resident} items")
    # The couriers' rounds of the day: orders of residents near the hub, planned, started.
    today = timezone.localdate()
    home = Receiving(mode="home")
    for n, resident in enumerate(users[: args.couriers * 5]):
        order_declare(
            resident=resident, merchant_name="Librairie", carrier="Posti",
            tracking_number=f"LOAD{n:05d}", expected_on=today,
            parcels=[ParcelIn(size="m", weight="light")], receiving=home, windows=[],
        )  # fmt: skip
    batch = Batch.objects.create(neighbourhood=neighbourhood, hub=hub, day=today)
    batch = batch_plan(batch_id=batch.pk, seconds=5.0)
    assert batch is not None
    routes = list(batch.routes.select_related("courier__user"))
    for route in routes:
        route_start(actor=route.courier.user, route_id=route.pk)
    log(f"{len(routes)} rounds started; data ready in {time.perf_counter() - started:.1f} s")


def _reset_activity() -> None:
    """The previous run's loans, wanted requests, offers and conversations go."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
            "WHERE schemaname = 'public' AND (tablename LIKE 'sharing\\_%%' OR tablename LIKE "
            "'notifications\\_%%') AND tablename NOT IN ('sharing_item', 'sharing_membership', "
            "'sharing_neighbourhood', 'sharing_association', 'sharing_association_staff', "
            "'sharing_itemphoto', 'sharing_blockedperiod', 'sharing_topicsubscription')"
        )
        (tables,) = cursor.fetchone()
        if tables:
            cursor.execute(f"TRUNCATE {tables} CASCADE")


@dataclass
class People:
    residents: list[tuple[int, str]]  # (user id, token)
    couriers: list[tuple[str, list[tuple[float, float]]]]  # (token, the round's places)


def _people() -> People:
    from accounts.models import User
    from accounts.services.sessions import session_start
    from pooling.models import Courier, Route

    residents = [
        (u.pk, session_start(user=u, name="benchmark").access)
        for u in User.objects.filter(email__startswith="r", email__endswith=f"@{EMAIL_DOMAIN}")
        .order_by("pk")
    ]  # fmt: skip
    couriers = []
    for courier in Courier.objects.select_related("user", "hub").order_by("pk"):
        route = Route.objects.filter(courier=courier, status=Route.Status.STARTED).first()
        places = [(courier.hub.location.x, courier.hub.location.y)]
        if route is not None:
            places += [(s.location.x, s.location.y) for s in route.stops.order_by("position")]
        couriers.append((session_start(user=courier.user, name="benchmark").access, places))
    return People(residents, couriers)


# --- the servers -------------------------------------------------------------------------------------


class Servers:
    """redis-server, Daphne and a Celery worker with beat, on the benchmark's database."""

    def __init__(self, database_url: str, redis_url: str | None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="voisinage-load-"))
        self.redis = None if redis_url else RedisServer(log=self.dir / "redis.log")
        self.redis_url = redis_url or self.redis.url  # type: ignore[union-attr]
        self.env = app_env(
            database_url=database_url,
            redis_url=self.redis_url,
            VOISINAGE_ENV="development",
            DEBUG="false",
            LOG_LEVEL="WARNING",
            PUSH_ENABLED="false",
            JWT_ACCESS_MINUTES="600",
        )
        self.daphne = Daphne(
            self.env, ready_path="/readyz", start_timeout=60, log=self.dir / "daphne.log"
        )
        self.worker = CeleryWorker(
            self.env,
            loglevel="WARNING",
            beat=True,
            options=("--without-gossip", "--without-mingle"),
            ready_timeout=None,
            log=self.dir / "celery.log",
        )

    def start(self) -> Servers:
        try:
            if self.redis is not None:
                self.redis.start()
            self.worker.start()
            self.daphne.start()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def base_url(self) -> str:
        return self.daphne.http

    def output(self, name: str) -> str:
        return {"daphne": self.daphne, "celery": self.worker}[name].output(tail=4000)

    def stop(self) -> None:
        for process in (self.worker, self.daphne, self.redis):
            if process is not None:
                process.remove()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the busy hour -----------------------------------------------------------------------------------


@dataclass
class Stats:
    measuring: bool = False
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    throttled: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    server_cpu_s: float | None = None

    def record(self, label: str, seconds: float, status: int, body: str) -> None:
        self.latencies[label].append(seconds)
        if status == 429:
            self.throttled[label] += 1
        elif not 200 <= status < 300:
            self.errors[label] += 1
            if len(self.samples) < 20:
                self.samples.append(f"{label} {status} {body[:200]}")


class Player:
    """The client: one httpx connection pool for everyone (a proxy's view of many phones)."""

    def __init__(self, base_url: str, stats: Stats, connections: int) -> None:
        import httpx

        self.stats = stats
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=60,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            headers={"Accept-Language": "fr"},
        )
        self.loan_slot = 0
        self.base_time = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
            days=1
        )

    async def call(
        self, label: str, method: str, path: str, token: str, body: Any = None, **params: Any
    ) -> Any:
        import httpx

        counted = self.stats.measuring  # requests started during the measured window
        started = time.perf_counter()
        try:
            response = await self.client.request(
                method, path, json=body, params=params or None,
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
            status, text = response.status_code, response.text
        except httpx.HTTPError as error:
            status, text = 0, f"{type(error).__name__}: {error}"
        if counted:
            self.stats.record(label, time.perf_counter() - started, status, text)
        if 200 <= status < 300 and text:
            return json.loads(text)
        return None

    def next_period(self) -> tuple[str, str]:
        """A distinct hour for each loan request: accepted loans never overlap (no 409)."""
        self.loan_slot += 1
        start = self.base_time + timedelta(hours=5 * self.loan_slot)
        return start.isoformat(), (start + timedelta(hours=1)).isoformat()

    async def resident(self, user_id: int, token: str, think: float, until: float) -> None:
        rng = random.Random(user_id)
        seen: list[int] = []
        wanted_posted = 0
        await asyncio.sleep(rng.uniform(0, think))
        while time.monotonic() < until:
            roll = rng.random()
            if roll < 0.40 or not seen:
                params: dict[str, Any] = {"minutes": rng.choice([5, 10, 15]), "limit": 20}
                if rng.random() < 0.6:
                    params["q"] = rng.choice(WORDS)
                elif rng.random() < 0.5:
                    params["category"] = rng.choice(CATEGORIES)
                page = await self.call(
                    "items_nearby", "GET", "/api/v1/items/nearby", token, **params
                )
                if page:
                    seen = [row["id"] for row in page["results"]][:10] or seen
            elif roll < 0.60:
                await self.call("item_detail", "GET", f"/api/v1/items/{rng.choice(seen)}", token)
            elif roll < 0.68:
                starts, ends = self.next_period()
                body = {"item": rng.choice(seen), "starts_at": starts, "ends_at": ends,
                        "message": rng.choice(MESSAGES)}  # fmt: skip
                await self.call("loan_request", "POST", "/api/v1/loans/", token, body)
            elif roll < 0.78:
                page = await self.call(
                    "loans_to_answer", "GET", "/api/v1/loans/", token, role="lender",
                    status="requested",
                )  # fmt: skip
                rows = (page or {}).get("results") or []
                if rows:
                    action = "accept" if rng.random() < 0.7 else "decline"
                    await self.call(f"loan_{action}", "POST",
                                    f"/api/v1/loans/{rows[0]['id']}/{action}", token, {})  # fmt: skip
            elif roll < 0.82 and wanted_posted < 2:
                wanted_posted += 1
                title, category = rng.choice(WANTED)
                starts, ends = self.next_period()
                body = {"title": title, "category": category, "starts_at": starts,
                        "ends_at": ends, "minutes": 10}  # fmt: skip
                await self.call("wanted_create", "POST", "/api/v1/wanted/", token, body)
            elif roll < 0.88:
                await self.call("wanted_inbox", "GET", "/api/v1/wanted/inbox", token)
            elif roll < 0.96:
                page = await self.call("conversations", "GET", "/api/v1/conversations/", token)
                rows = (page or {}).get("results") or []
                if rows:
                    await self.call(
                        "message_send", "POST", f"/api/v1/conversations/{rows[0]['id']}/messages",
                        token, {"body": rng.choice(MESSAGES)},
                    )  # fmt: skip
            else:
                await self.call("me", "GET", "/api/v1/me", token)
            await asyncio.sleep(min(rng.expovariate(1 / think), max(until - time.monotonic(), 0)))

    async def courier(
        self, token: str, places: list[tuple[float, float]], every: float, until: float
    ) -> None:
        """Positions along the round: straight between its places, one leg a minute."""
        rng = random.Random(token)
        path = places + places[::-1] if len(places) > 1 else places * 2
        t0 = time.monotonic()
        await asyncio.sleep(rng.uniform(0, every))
        while time.monotonic() < until:
            leg = (time.monotonic() - t0) / 60
            i = int(leg) % (len(path) - 1)
            f = leg - int(leg)
            (x0, y0), (x1, y1) = path[i], path[i + 1]
            body = {"position": [x0 + (x1 - x0) * f, y0 + (y1 - y0) * f]}
            await self.call("courier_position", "POST", "/api/v1/courier/position", token, body)
            await asyncio.sleep(min(every, max(until - time.monotonic(), 0)))


async def _play(args: argparse.Namespace, base_url: str, people: People, server_pids: list[int]):
    stats = Stats()
    player = Player(base_url, stats, args.connections)
    start = time.monotonic()
    until = start + args.warmup_s + args.duration_s
    tasks = [
        asyncio.create_task(player.resident(uid, token, args.think_s, until))
        for uid, token in people.residents
    ]
    tasks += [
        asyncio.create_task(player.courier(token, places, args.position_every_s, until))
        for token, places in people.couriers
    ]
    rss: list[tuple[float, float]] = []

    async def sample() -> None:
        while time.monotonic() < until:
            if server_pids:
                rss.append((time.monotonic() - start, _rss_mb(server_pids[0])))
            await asyncio.sleep(5)

    sampler = asyncio.create_task(sample())
    await asyncio.sleep(args.warmup_s)
    stats.measuring = True
    measured_from = time.monotonic()
    rss_start = _rss_mb(server_pids[0]) if server_pids else None
    cpu_start = _cpu_s(server_pids[0]) if server_pids else 0.0
    load_start = os.getloadavg()
    log(f"warm-up done; measuring for {args.duration_s} s (server RSS {rss_start} MB)")
    await asyncio.sleep(max(until - time.monotonic(), 0))
    stats.measuring = False
    elapsed = time.monotonic() - measured_from
    rss_end = _rss_mb(server_pids[0]) if server_pids else None
    stats.server_cpu_s = _cpu_s(server_pids[0]) - cpu_start if server_pids else None
    await asyncio.gather(*tasks)  # the requests under way finish
    sampler.cancel()
    await player.client.aclose()
    return stats, elapsed, rss_start, rss_end, rss, load_start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration-s", type=float, default=300)
    parser.add_argument("--warmup-s", type=float, default=60)
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--couriers", type=int, default=10)
    parser.add_argument("--items-per-resident", type=int, default=4)
    parser.add_argument("--think-s", type=float, default=60.0, help="mean pause between actions")
    parser.add_argument("--position-every-s", type=float, default=5.0)
    parser.add_argument("--radius-m", type=float, default=1500.0, help="homes around the centre")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pbf", type=Path, default=DEMO_PBF)
    parser.add_argument("--base-url", default=None, help="a server already running")
    parser.add_argument("--server-pid", type=int, default=None, help="its pid, for its memory")
    parser.add_argument("--redis-url", default=None, help="default: a redis-server of its own")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.pbf = args.pbf.resolve()
    if not args.pbf.exists():
        parser.error(f"{args.pbf} does not exist (make demo-data fetches the Helsinki extract)")

    database_url = bench_database(DB_NAME)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("PUSH_ENABLED", "false")
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
    import django

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    _reset_activity()
    if not _seeded(args):
        _seed(args)
    people = _people()
    connection.close()

    servers = None
    try:
        if args.base_url:
            base_url, pids = args.base_url.rstrip("/"), [args.server_pid] if args.server_pid else []
        else:
            servers = Servers(database_url, args.redis_url).start()
            base_url, pids = servers.base_url, [servers.daphne.pid]
        log(
            f"{len(people.residents)} residents, {len(people.couriers)} couriers against "
            f"{base_url}: {args.warmup_s:.0f} s warm-up, then {args.duration_s:.0f} s"
        )
        stats, elapsed, rss_start, rss_end, rss, load_start = asyncio.run(
            _play(args, base_url, people, pids)
        )
        worker_rss = _tree_rss_mb(servers.worker.pid) if servers else None
        if servers and not servers.daphne.running:
            raise RuntimeError(f"daphne died:\n{servers.output('daphne')}")
    finally:
        if servers is not None:
            servers.stop()

    requests = sum(len(v) for v in stats.latencies.values())
    endpoints = {
        label: {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.5) * 1000, 1),
            "p95_ms": round(percentile(values, 0.95) * 1000, 1),
            "errors": stats.errors.get(label, 0),
            "throttled_429": stats.throttled.get(label, 0),
        }
        for label, values in sorted(stats.latencies.items())
    }
    every = [v for values in stats.latencies.values() for v in values]
    result = {
        "benchmark": "load",
        "residents": len(people.residents),
        "couriers": len(people.couriers),
        "think_s": args.think_s,
        "warmup_s": args.warmup_s,
        "duration_s": round(elapsed, 1),
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "p50_ms": round(percentile(every, 0.5) * 1000, 1),
        "p95_ms": round(percentile(every, 0.95) * 1000, 1),
        "errors": sum(stats.errors.values()),
        "error_samples": stats.samples,
        "throttled_429": sum(stats.throttled.values()),
        "endpoints": endpoints,
        "server_cpu_s": round(stats.server_cpu_s, 1) if stats.server_cpu_s is not None else None,
        "server_cpu_ms_per_request": round(stats.server_cpu_s * 1000 / requests, 1)
        if stats.server_cpu_s is not None and requests
        else None,
        "server_rss_mb_start": rss_start,
        "server_rss_mb_end": rss_end,
        "rss_growth_pct": round((rss_end - rss_start) / rss_start * 100, 1)
        if rss_start and rss_end
        else None,
        "server_rss_mb_max": max((r for _, r in rss), default=None),
        # One sample every 30 s from the start (warm-up included).
        "server_rss_mb_samples": [r for n, (_, r) in enumerate(rss) if n % 6 == 0],
        "worker_rss_mb_end": worker_rss,
        "load_avg_start": [round(v, 2) for v in load_start],
        "load_avg_end": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
