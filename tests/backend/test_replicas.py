"""Reads on a read replica (backend/replicas.py, backend/db_router.py), against a real one.

Once per session, and only when one of these tests asks for it, a hot standby of the tests' own
PostgreSQL cluster is made with ``pg_basebackup -R`` and started on a free port
(``tests.harness.StreamingReplica``); for each test the ``replica`` alias points at it. The tests
are transactional: what they write on the primary is committed, streamed and replayed on the
standby, which they wait for. Which connection a query ran on is read from each connection's
own query log.

The router notes every write of a thread that is not inside a request (here: the test's own
set-up) and keeps that thread's reads on the primary; a test that asks for an alias itself does it
in a fresh scope, as a request or a Celery task starts.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError, connections, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from backend import replicas
from backend.database import drop_pool
from backend.replicas import ReadYourWritesMiddleware, fresh_scope, on_replica, replica_or_default
from geo import graph
from geo.replica import load_on_replica
from neighbourhoods.models import Membership
from neighbourhoods.services import staff_grant
from pooling.models import Batch, BatchImpact
from sharing.models import Item
from sharing.selectors import item_candidates
from tests.conftest import SHARES_THE_REPLICAS_WORKER
from tests.harness import ROOT, StreamingReplica, wait_until
from tests.pooling.factories import BatchFactory, make_staff

# One standby for the session: these tests stay on one pytest-xdist worker, with the modules that
# would keep it from opening if they ran meanwhile (tests/conftest.py).
pytestmark = [
    SHARES_THE_REPLICAS_WORKER,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

CANDIDATES = "ST_DWithin"  # only the nearby search's candidate query has it


@pytest.fixture(scope="session")
def streaming_replica(django_db_setup) -> Iterator[StreamingReplica]:
    """A hot standby of the cluster that holds the test database, made after the database is."""
    cfg = connections["default"].settings_dict
    standby = StreamingReplica(
        cfg["NAME"],
        host=cfg.get("HOST") or "127.0.0.1",
        port=int(cfg.get("PORT") or 5432),
        user=cfg.get("USER") or "postgres",
    )
    atexit.register(standby.destroy)  # even if the session dies before its teardown
    started = time.monotonic()
    with standby:
        print(f"\n[replica] streaming replica ready in {time.monotonic() - started:.1f} s")
        yield standby


def _forget_replica_connections() -> None:
    connections["replica"].close()
    drop_pool("replica")


@pytest.fixture
def replica(streaming_replica, settings) -> Iterator[StreamingReplica]:
    """The ``replica`` alias on the standby, enabled as DATABASE_REPLICA_URL would; its health
    verdict is kept until a test asks again (DATABASE_REPLICA_CHECK_SECONDS)."""
    conf = connections["replica"].settings_dict
    saved = conf["HOST"], conf["PORT"], dict(conf["OPTIONS"].get("pool") or {})
    _forget_replica_connections()
    conf["HOST"], conf["PORT"] = "127.0.0.1", streaming_replica.port
    if conf["OPTIONS"].get("pool"):
        conf["OPTIONS"]["pool"]["timeout"] = 1.0  # DATABASE_REPLICA_POOL_TIMEOUT's default
    settings.DATABASE_REPLICA_ENABLED = True
    settings.DATABASE_REPLICA_CHECK_SECONDS = 3600
    replicas.health.reset()
    try:
        yield streaming_replica
    finally:
        _forget_replica_connections()
        conf["HOST"], conf["PORT"] = saved[0], saved[1]
        if saved[2]:
            conf["OPTIONS"]["pool"] = saved[2]
        replicas.health.reset()
        if not streaming_replica.answers():  # a test that stopped it failed half-way
            streaming_replica.start()
        with streaming_replica.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


class Queries:
    """The SQL run on one alias's connection of this thread inside the block, through any number
    of requests (without opening the connection, unlike CaptureQueriesContext: the replica may
    be down)."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.sql: list[str] = []
        self._wrapper: Any = None

    def _record(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.sql.append(sql)
        return execute(sql, params, many, context)

    def __enter__(self) -> Queries:
        self._wrapper = connections[self.alias].execute_wrapper(self._record)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._wrapper.__exit__(*exc)

    def touching(self, table: str) -> list[str]:
        return [sql for sql in self.sql if table in sql]


def _pause_replay(standby: StreamingReplica) -> None:
    with standby.connect() as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        wait_until(
            lambda: (
                conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == "paused"
            ),
            what="replay paused",
        )


def _resume_replay(standby: StreamingReplica) -> None:
    with standby.connect() as conn:
        conn.execute("SELECT pg_wal_replay_resume()")
    standby.wait_replayed()


def _nearby_ids(client: Any) -> list[int]:
    response = client.get("/api/v1/items/nearby", {"minutes": 20, "q": "perceuse"})
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _impact_batch(neighbourhood: Any = None) -> Batch:
    batch = BatchFactory(status=Batch.Status.COMPLETED)
    BatchImpact.objects.create(
        batch=batch,
        day=batch.day,
        orders=4,
        parcels=4,
        stops=4,
        rounds=1,
        vehicle_meters=3000,
        co2_grams=40,
        by_vehicle={"cargo_bike": {"meters": 3000, "rounds": 1, "stops": 4}},
        per_parcel_meters=0,
        per_parcel_trips=0,
        per_parcel_co2_grams=0,
        per_carrier_meters=9000,
        per_carrier_rounds=1,
        per_carrier_stops=4,
        per_carrier_co2_grams=2900,
    )
    return batch


# --- the standby, the alias, the router --------------------------------------------------------------


def test_the_alias_is_a_standby_that_replays_what_the_primary_commits(replica, make_item):
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), inet_server_port()")
        assert cursor.fetchone() == (True, replica.port)
    item = make_item(title="Perceuse à percussion")
    replica.wait_replayed()
    assert Item.objects.using("replica").get(pk=item.pk).title == "Perceuse à percussion"
    # The standby takes no write...
    with pytest.raises(DatabaseError), transaction.atomic(using="replica"):
        Item.objects.using("replica").filter(pk=item.pk).update(title="x")
    # ...and a row read from it is written back to the primary (the router), not to it.
    seen = Item.objects.using("replica").get(pk=item.pk)
    seen.title = "Perceuse sans fil"
    seen.save(update_fields=["title"])
    assert Item.objects.get(pk=item.pk).title == "Perceuse sans fil"
    replica.wait_replayed()
    assert Item.objects.using("replica").get(pk=item.pk).title == "Perceuse sans fil"


def test_without_a_replica_every_read_uses_the_primary(replica, settings):
    settings.DATABASE_REPLICA_ENABLED = False
    with fresh_scope(), Queries("replica") as standby:
        assert replica_or_default() == "default"
        assert on_replica(lambda using: using) == "default"
    assert standby.sql == []
    assert replicas.health.reason == "not checked yet"  # not even a health check


# --- the listed reads go to it ---------------------------------------------------------------------


def test_nearby_candidates_are_read_on_the_replica_and_the_rest_on_the_primary(
    replica, street_graph, make_resident, make_item, client_for
):
    me = make_resident()
    item = make_item(title="Perceuse à percussion")
    replica.wait_replayed()
    client = client_for(me)
    with Queries("default") as primary, Queries("replica") as standby:
        assert _nearby_ids(client) == [item.pk]
    # On the standby: the close spellings of the words and the candidates, nothing else.
    assert len(standby.touching(CANDIDATES)) == 1
    # (a new connection first looks its types up in pg_type: the PostGIS backend's set-up)
    read = [sql for sql in standby.sql if not sql.startswith("SELECT oid, typarray FROM pg_type")]
    assert all(CANDIDATES in sql or "sharing_titleword" in sql for sql in read), read
    # On the primary: the membership check, the page of results and its extras.
    assert not primary.touching(CANDIDATES)
    assert primary.touching("sharing_item")
    # A write never goes to the standby.
    with Queries("replica") as standby:
        created = client.post(
            "/api/v1/items/", {"title": "Scie sauteuse", "category": "diy"}, format="json"
        )
    assert created.status_code == 201, created.content
    assert standby.sql == []
    assert Item.objects.filter(pk=created.json()["id"]).exists()


def test_the_street_graph_is_loaded_from_the_replica(replica, street_graph, settings, tmp_path):
    """A process that finds no files for the active graph builds them from the replica's rows;
    a replica that has not replayed a graph's import yet sends the read to the primary."""
    from geo import graphfile

    replica.wait_replayed()
    settings.GEO_GRAPH_CACHE_DIR = str(tmp_path / "graphs")  # no files yet: they are built
    graph.reset_cache()
    try:
        with fresh_scope(), Queries("default") as primary, Queries("replica") as standby:
            loaded = graph.get_network()
        assert loaded.graph_id == street_graph.graph_id
        assert loaded.edge_count == street_graph.edge_count
        assert standby.touching("geo_streetedge")
        assert not primary.touching("geo_streetedge")  # the primary says which graph is active
    finally:
        graph.reset_cache()
    missing = street_graph.graph_id + 1000  # an import the replica has not replayed (nor anyone)
    with fresh_scope(), Queries("default") as primary, Queries("replica") as standby:
        assert load_on_replica(lambda using: graphfile.read_edges(missing, using), missing) is None
    assert standby.touching("geo_streetedge")
    assert primary.touching("geo_streetedge")


def _admin(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_dashboard_is_read_on_the_replica(
    replica, street_graph, make_resident, make_item, neighbourhood
):
    staff = staff_grant(user=make_resident(), association=neighbourhood.association)
    make_item(title="Perceuse à percussion")
    replica.wait_replayed()
    client = _admin(staff)
    with Queries("default") as primary, Queries("replica") as standby:
        page = client.get("/admin/dashboard/")
        csv = client.get("/admin/dashboard/items.csv")
    assert page.status_code == 200
    assert page.context["totals"]["items"] == 1
    assert csv.status_code == 200 and b"1" in csv.content.splitlines()[1]
    for table in ("sharing_loan", "sharing_item", "sharing_wantedrequest", "sharing_report"):
        assert standby.touching(table), table
        assert not primary.touching(f'FROM "{table}"'), table
    assert standby.touching("pooling_batchimpact")
    assert not primary.touching("pooling_batchimpact")
    assert primary.touching("django_session")  # who is asking: the primary


def test_impact_is_read_on_the_replica(replica, make_resident, make_item, client_for):
    me = make_resident()
    make_item(owner=me)
    batch = _impact_batch()
    staff = make_staff(batch.neighbourhood)
    replica.wait_replayed()
    with Queries("default") as primary, Queries("replica") as standby:
        mine = client_for(me).get("/api/v1/me/impact")
        months = client_for(staff).get(
            "/api/v1/pooling/impact", {"neighbourhood": batch.neighbourhood_id}
        )
    assert mine.status_code == 200 and mine.json()["sharing"]["items_shared"] == 1
    assert months.status_code == 200
    assert [(m["batches"], m["vehicle_km"], m["per_carrier_km"]) for m in months.json()] == [
        (1, 3.0, 9.0)
    ]
    for table in ("sharing_loan", "pooling_assignment", "pooling_batchimpact"):
        assert standby.touching(table), table
        assert not primary.touching(table), table
    # Who may see a neighbourhood's figures is checked on the primary.
    assert primary.touching("association_staff")
    assert not standby.touching("association_staff")


# --- read-your-own-writes, lag --------------------------------------------------------------------


def test_a_request_that_wrote_reads_its_own_writes_from_the_primary(
    replica, settings, street_graph, make_resident, make_item
):
    settings.DATABASE_REPLICA_MAX_LAG = 0  # the replay is paused below: no lag check here
    me = make_resident()
    owner = make_resident()
    replica.wait_replayed()
    _pause_replay(replica)  # from here on, the standby misses every new row
    seen: dict[str, Any] = {}

    def candidates() -> list[int]:
        assert me.home is not None
        return [
            row[0]
            for row in item_candidates(
                user=me, neighbourhood_ids=[Membership.objects.get(user=me).neighbourhood_id],
                origin=me.home, radius_m=3000, q="scie",
            )
        ]  # fmt: skip

    def view(request: HttpRequest) -> HttpResponse:
        seen["before"] = replica_or_default()
        seen["item"] = make_item(owner=owner, title="Scie à onglet")  # a write: noted
        seen["after"] = replica_or_default()
        with Queries("replica") as standby:
            seen["found"] = candidates()
        seen["on_replica"] = standby.sql
        return HttpResponse("ok")

    response = ReadYourWritesMiddleware(view)(RequestFactory().get("/"))
    assert response.status_code == 200
    assert (seen["before"], seen["after"]) == ("replica", "default")
    assert seen["found"] == [seen["item"].pk]
    assert seen["on_replica"] == []
    # The next request starts afresh: its reads go to the standby, which misses the row (its
    # replay is paused), so the request above did read its own write from the primary.
    with fresh_scope():
        assert replica_or_default() == "replica"
        assert candidates() == []
        with transaction.atomic():  # inside a transaction: always the primary
            assert replica_or_default() == "default"
            assert candidates() == [seen["item"].pk]
        _resume_replay(replica)
        assert candidates() == [seen["item"].pk]


def test_a_replica_too_far_behind_is_left_aside_until_it_catches_up(
    replica, settings, make_resident, make_item
):
    settings.DATABASE_REPLICA_MAX_LAG = 0.5
    me = make_resident()
    replica.wait_replayed()
    assert replicas.health.check() == (True, "up")
    _pause_replay(replica)
    make_item(owner=me, title="Escabeau")  # WAL the standby receives but does not replay
    time.sleep(1.0)
    usable, reason = replicas.health.check()
    assert not usable and "behind its primary" in reason
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0
    with fresh_scope():
        assert replica_or_default() == "default"
        _resume_replay(replica)
        # Caught up with what the primary had written; other databases of the cluster may keep
        # writing meanwhile, so its lag is checked again until it is under the limit.
        wait_until(lambda: replica_or_default() == "replica", timeout=30, what="replica used")


# --- the replica down ------------------------------------------------------------------------------


def test_replica_down_reads_fall_back_to_the_primary_and_come_back(
    replica, settings, street_graph, make_resident, make_item, client_for
):
    me = make_resident()
    item = make_item(title="Perceuse à percussion")
    make_item(owner=me, title="Escabeau")  # theirs: not in their search, in their impact
    batch = _impact_batch()
    staff = staff_grant(user=make_staff(batch.neighbourhood))
    replica.wait_replayed()
    client = client_for(me)
    assert _nearby_ids(client) == [item.pk]
    assert replicas.health.usable

    replica.stop()
    # The verdict still says "up" (it is kept for DATABASE_REPLICA_CHECK_SECONDS): the read
    # fails on the replica and is answered by the primary, in the same request.
    with Queries("default") as primary:
        assert _nearby_ids(client) == [item.pk]
    assert primary.touching(CANDIDATES)
    assert not replicas.health.usable and "unreachable" in replicas.health.reason
    # Known down: the reads go straight to the primary.
    with Queries("default") as primary:
        assert _nearby_ids(client) == [item.pk]
        mine = client_for(me).get("/api/v1/me/impact")
        months = client_for(staff).get(
            "/api/v1/pooling/impact", {"neighbourhood": batch.neighbourhood_id}
        )
        dashboard = _admin(staff).get(f"/admin/dashboard/?neighbourhood={batch.neighbourhood_id}")
    assert mine.status_code == 200 and mine.json()["sharing"]["items_shared"] == 1
    assert months.status_code == 200 and months.json()[0]["batches"] == 1
    assert dashboard.status_code == 200 and dashboard.context["totals"]["orders_pooled"] == 4
    assert primary.touching(CANDIDATES) and primary.touching("pooling_batchimpact")

    # Back: the next health check finds it, and the reads go to it again.
    replica.start()
    replica.wait_replayed()
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0.1
    with fresh_scope():
        wait_until(lambda: replica_or_default() == "replica", timeout=30, what="replica used again")
    with Queries("replica") as standby:
        assert _nearby_ids(client) == [item.pk]
    assert standby.touching(CANDIDATES)


# --- settings --------------------------------------------------------------------------------------


def _databases(**env: str) -> dict[str, Any]:
    code = (
        "import django, json, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
        "'backend.settings'); django.setup(); from django.conf import settings; "
        "print(json.dumps({'enabled': settings.DATABASE_REPLICA_ENABLED, "
        "'routers': settings.DATABASE_ROUTERS, 'db': settings.DATABASES}, default=str))"
    )
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_REPLICA_URL"}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    import json

    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.django_db(transaction=False)
def test_the_replica_alias_comes_from_database_replica_url():
    primary = "postgis://postgres@127.0.0.1:5432/voisinage_x"
    alone = _databases(DATABASE_URL=primary)
    assert alone["enabled"] is False
    assert alone["routers"] == ["backend.db_router.PrimaryReplicaRouter"]
    default, replica = alone["db"]["default"], alone["db"]["replica"]
    assert {k: v for k, v in replica.items() if k != "TEST"} == {
        k: v for k, v in default.items() if k != "TEST"
    }
    assert replica["TEST"]["MIRROR"] == "default"

    both = _databases(
        DATABASE_URL=primary,
        DATABASE_REPLICA_URL="postgis://reader@10.0.0.7:6432/voisinage_x",
    )
    assert both["enabled"] is True
    replica = both["db"]["replica"]
    assert (replica["HOST"], replica["PORT"], replica["USER"], replica["NAME"]) == (
        "10.0.0.7",
        6432,
        "reader",
        "voisinage_x",
    )
    assert replica["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert replica["OPTIONS"]["options"] == both["db"]["default"]["OPTIONS"]["options"]
    assert replica["OPTIONS"]["pool"]["timeout"] == 1.0
    assert replica["TEST"]["MIRROR"] == "default"


@pytest.mark.django_db(transaction=False)
def test_a_celery_task_starts_with_no_write_noted_unless_it_runs_in_place():
    from types import SimpleNamespace

    from backend.celery import _fresh_read_scope
    from backend.replicas import note_write, wrote_to_primary

    with fresh_scope():
        note_write()
        _fresh_read_scope(task=SimpleNamespace(request=SimpleNamespace(is_eager=True)))
        assert wrote_to_primary()  # run in place: part of the request that wrote
        _fresh_read_scope(task=SimpleNamespace(request=SimpleNamespace(is_eager=False)))
        assert not wrote_to_primary()  # a worker's next task
        Item.objects.filter(pk=0).update(title="x")  # a write through the router
        assert wrote_to_primary()
