"""PostgreSQL/PostGIS: the connection, its pool, and how the app rides out an outage."""

from .base import env

DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgis://postgres@127.0.0.1:5432/voisinage"),
}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault(
    "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5)
)
# Typo-tolerant item search: the threshold of pg_trgm's indexable word-similarity operator.
DATABASES["default"]["OPTIONS"].setdefault("options", "-c pg_trgm.word_similarity_threshold=0.45")
# A pool of connections per process (psycopg_pool): Daphne runs each request's view in its own
# thread, so without it every request opened a new connection (about 40 ms of warm-up measured).
if env.bool("DB_POOL", default=True):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": env.int("DB_POOL_MIN", default=2),
        "max_size": env.int("DB_POOL_MAX", default=30),
        # Bounded wait for a pooled connection (see "Database outages" below).
        "timeout": env.float("DB_POOL_TIMEOUT", default=3.0),
    }

# --- Database outages (backend/database.py) ------------------------------------------------------
# A pooled connection is checked before use (a round trip), so connections that a restart of
# PostgreSQL broke are replaced instead of failing a request. Waiting for a pooled connection is
# bounded; a connection-level failure is confirmed by one plain connection (DB_PROBE_TIMEOUT), and
# then every request is answered 503 at once, with Retry-After, until a probe (at most one every
# DB_PROBE_INTERVAL seconds per process) connects again.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
DB_PROBE_INTERVAL = env.float("DB_PROBE_INTERVAL", default=0.5)
DB_PROBE_TIMEOUT = env.int("DB_PROBE_TIMEOUT", default=2)
DB_UNAVAILABLE_RETRY_AFTER = env.int("DB_UNAVAILABLE_RETRY_AFTER", default=5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
