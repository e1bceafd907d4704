"""PostgreSQL/PostGIS: the connection, its pool, a read replica, and how the app rides out an
outage."""

import copy
from typing import Any

from .base import env


def _database(url_variable: str, default: str, *, pool_timeout: float) -> dict[str, Any]:
    """One alias's settings: the URL, GeoDjango's engine, the connection options and the pool."""
    db: dict[str, Any] = env.db_url(url_variable, default=default)
    db["ENGINE"] = "django.contrib.gis.db.backends.postgis"
    db.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
    db.setdefault("OPTIONS", {})
    db["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
    # Typo-tolerant item search: the threshold of pg_trgm's indexable word-similarity operator.
    db["OPTIONS"].setdefault("options", "-c pg_trgm.word_similarity_threshold=0.45")
    # A pool of connections per process (psycopg_pool): Daphne runs each request's view in its
    # own thread, so without it every request opened a new connection (about 40 ms of warm-up).
    if env.bool("DB_POOL", default=True):
        db["CONN_MAX_AGE"] = 0
        db["OPTIONS"]["pool"] = {
            "min_size": env.int("DB_POOL_MIN", default=2),
            "max_size": env.int("DB_POOL_MAX", default=30),
            # Bounded wait for a pooled connection (see "Database outages" below).
            "timeout": pool_timeout,
        }
    # A pooled connection is checked before use (see "Database outages" below).
    db["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
    return db


_PRIMARY_URL = "postgis://postgres@127.0.0.1:5432/voisinage"
DATABASES = {
    "default": _database(
        "DATABASE_URL", _PRIMARY_URL, pool_timeout=env.float("DB_POOL_TIMEOUT", default=3.0)
    ),
}

# --- A streaming read replica (backend/replicas.py, docs/scaling.md) ------------------------------
# Optional. Only the reads listed in docs/scaling.md go to it, and only when they ask for it
# (backend.replicas.replica_or_default / on_replica): a global "all reads to the replica" would
# break read-your-own-writes. Unset, the "replica" alias is the primary's settings again and is
# never used (every read asks and is told "default"), so the code path is the same either way.
DATABASE_REPLICA_ENABLED = bool(env.str("DATABASE_REPLICA_URL", default=""))
if DATABASE_REPLICA_ENABLED:
    DATABASES["replica"] = _database(
        "DATABASE_REPLICA_URL",
        _PRIMARY_URL,
        # A saturated or vanished replica sends its reads to the primary after this wait.
        pool_timeout=env.float("DATABASE_REPLICA_POOL_TIMEOUT", default=1.0),
    )
else:
    DATABASES["replica"] = copy.deepcopy(DATABASES["default"])
# The tests have no database of their own for it: the alias names the test database (and the
# replica tests point it at a real standby of the tests' cluster, tests/backend/test_replicas.py).
DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Writes always go to the primary, and note that the request wrote (read-your-own-writes);
# the router sends no read anywhere on its own.
DATABASE_ROUTERS = ["backend.db_router.PrimaryReplicaRouter"]
# The replica's health: one plain connection (with this timeout, in seconds) and one query, at most
# every DATABASE_REPLICA_CHECK_SECONDS per process; in between, the last verdict holds.
DATABASE_REPLICA_CONNECT_TIMEOUT = env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", default=2)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=5.0)
# A replica further behind than this (seconds of WAL received but not replayed yet) is left
# aside until it catches up; 0 turns the check off.
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=5.0)

# --- Database outages (backend/database.py) ------------------------------------------------------
# A pooled connection is checked before use (a round trip), so connections that a restart of
# PostgreSQL broke are replaced instead of failing a request. Waiting for a pooled connection is
# bounded; a connection-level failure is confirmed by one plain connection (DB_PROBE_TIMEOUT), and
# then every request is answered 503 at once, with Retry-After, until a probe (at most one every
# DB_PROBE_INTERVAL seconds per process) connects again. The replica is not part of it: its
# reads fall back to the primary instead (backend/replicas.py).
DB_PROBE_INTERVAL = env.float("DB_PROBE_INTERVAL", default=0.5)
DB_PROBE_TIMEOUT = env.int("DB_PROBE_TIMEOUT", default=2)
DB_UNAVAILABLE_RETRY_AFTER = env.int("DB_UNAVAILABLE_RETRY_AFTER", default=5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
