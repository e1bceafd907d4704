"""Settings, all from environment variables (see .env.example).

Local development works with no configuration. Production (``VOISINAGE_ENV=production``) fails
closed: no default secret, DEBUG off, and the process refuses to start without ``SECRET_KEY`` and
``ALLOWED_HOSTS``.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VOISINAGE_ENV = env.str("VOISINAGE_ENV", default="development")
if VOISINAGE_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured("VOISINAGE_ENV must be development, test or production")
PRODUCTION = VOISINAGE_ENV == "production"

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")  # no default: refuse to start
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")
    DEBUG = env.bool("DEBUG", default=False)
else:
    SECRET_KEY = env.str(
        "SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789"
    )
    ALLOWED_HOSTS = env.list(
        "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"]
    )
    DEBUG = env.bool("DEBUG", default=VOISINAGE_ENV == "development")

INSTALLED_APPS = [
    "daphne",
    # django.contrib.admin, with the association's site (panel) as the default site.
    "panel.apps.VoisinageAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.forms",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_gis",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "neighbourhoods",
    "geo",
    "notifications",
    "sharing",
    "pooling",
    # After the apps whose permissions it groups for the association's volunteers.
    "panel",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # PostgreSQL down: 503 at once (in the request's language) and back on its own.
    "backend.database.DatabaseUnavailableMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
# Widgets render through TEMPLATES, so the project's templates can override them (admin maps).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "panel" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

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
# --- end of database outages ---------------------------------------------------------------------
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages: French first, English available. Accept-Language picks one per request.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "panel" / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
# Static files (the API docs' Swagger UI, the admin) are served by the app itself through
# WhiteNoise, so Daphne alone serves a complete site; outside production they come straight from
# the apps' folders without collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))

# One storage SRID for every geometry; meters and seconds everywhere inside.
GEO_SRID = 4326

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backend.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "SIGNING_KEY": SECRET_KEY,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Voisinage API",
    "DESCRIPTION": "Neighbourhood lending, order pooling and walking-distance geo engine.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# --- Celery through broker outages and lost workers (see docs/scaling.md) ------------------------
# A worker whose Redis restarts reconnects for as long as it takes (Celery's default gives up after
# 100 attempts); tasks it was running finish (tasks are idempotent: a second delivery is harmless,
# a cancelled task whose message died with a Redis that keeps nothing would be lost).
# A message taken by a worker that died (SIGKILL, a lost machine) goes back to the queue once it
# has been unacknowledged for CELERY_VISIBILITY_TIMEOUT seconds: longer than the longest task and
# the longest countdown (push retries wait up to PUSH_BACKOFF_MAX_SECONDS), or tasks run twice.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # How often a worker looks for such messages (seconds), and every how many looks it scans.
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    "socket_connect_timeout": 5,
    "socket_timeout": 30,
    "retry_on_timeout": True,
    "health_check_interval": 25,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": 5, "retry_on_timeout": True}
# --- end of Celery outages -----------------------------------------------------------------------

# --- Street graph and travel profiles -----------------------------------------------------------
# Speeds in meters per second. Wheelchair routes never use steps and pay a factor on unpaved ways.
GEO_SPEEDS_KMH = {
    "walk": env.float("GEO_SPEED_WALK_KMH", default=5.0),
    "slow": env.float("GEO_SPEED_SLOW_KMH", default=3.0),
    "wheelchair": env.float("GEO_SPEED_WHEELCHAIR_KMH", default=3.5),
    "bike": env.float("GEO_SPEED_BIKE_KMH", default=15.0),
    # A delivery van's mean speed in a dense town centre, stops at lights included.
    "car": env.float("GEO_SPEED_CAR_KMH", default=15.0),
}
GEO_WHEELCHAIR_UNPAVED_FACTOR = env.float("GEO_WHEELCHAIR_UNPAVED_FACTOR", default=4.0)
# A point farther than this from any usable way of the profile is off the graph.
GEO_SNAP_MAX_M = env.float("GEO_SNAP_MAX_M", default=300.0)
# Connected pieces of the graph smaller than this many nodes are islands: not snapped to.
GEO_MIN_COMPONENT_NODES = env.int("GEO_MIN_COMPONENT_NODES", default=30)
# How often a process checks whether a new street graph was imported (seconds).
GEO_GRAPH_CHECK_SECONDS = env.float("GEO_GRAPH_CHECK_SECONDS", default=2.0)
GEO_MATRIX_MAX_POINTS = env.int("GEO_MATRIX_MAX_POINTS", default=50)
GEO_ISOCHRONE_MAX_MINUTES = env.int("GEO_ISOCHRONE_MAX_MINUTES", default=60)
GEO_ROUTE_MAX_KM = env.float("GEO_ROUTE_MAX_KM", default=50.0)
OSM_PBF = env.str("OSM_PBF", default="")

# --- Geocoding (geopy): BAN for France, Nominatim elsewhere ---------------------------------------
GEOCODER_BAN_DOMAIN = env.str("GEOCODER_BAN_DOMAIN", default="api-adresse.data.gouv.fr")
GEOCODER_BAN_SCHEME = env.str("GEOCODER_BAN_SCHEME", default="https")
GEOCODER_NOMINATIM_DOMAIN = env.str(
    "GEOCODER_NOMINATIM_DOMAIN", default="nominatim.openstreetmap.org"
)
GEOCODER_NOMINATIM_SCHEME = env.str("GEOCODER_NOMINATIM_SCHEME", default="https")
GEOCODER_USER_AGENT = env.str(
    "GEOCODER_USER_AGENT", default="voisinage/0.1 (contact: admin@localhost)"
)
GEOCODER_TIMEOUT = env.float("GEOCODER_TIMEOUT", default=5.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Debian 12 ships GDAL 3.6. Voisinage never opens spatial references from untrusted files through
# GDAL (OSM extracts are read by pyosmium; API geometries are GeoJSON parsed by GEOS).
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# --- Notifications: event log, websocket, push (owned by notifications/) ------------------------
# Everything notifications/ reads from settings, in one block. See docs/events.md.
from typing import Any  # noqa: E402

from redis.exceptions import ConnectionError as RedisConnectionError  # noqa: E402

# How long each person's event log is kept; a client that reconnects with an older id gets a
# "system.resync" event instead of the events it missed.
NOTIFICATIONS_EVENT_RETENTION_DAYS = env.int("NOTIFICATIONS_EVENT_RETENTION_DAYS", default=14)
# At most this many missed events are replayed on reconnect; further behind means a resync.
REALTIME_REPLAY_MAX = env.int("REALTIME_REPLAY_MAX", default=1000)
# Websocket tickets: single use, short-lived (milliseconds precision in Redis).
REALTIME_TICKET_TTL_SECONDS = env.float("REALTIME_TICKET_TTL_SECONDS", default=30.0)
# Application heartbeat sent on every socket; presence in Redis lives for a few heartbeats.
REALTIME_HEARTBEAT_SECONDS = env.float("REALTIME_HEARTBEAT_SECONDS", default=25.0)
REALTIME_PRESENCE_TTL_SECONDS = env.float(
    "REALTIME_PRESENCE_TTL_SECONDS", default=REALTIME_HEARTBEAT_SECONDS * 2.5
)
# Browsers always send Origin: only these may open the socket. Native apps send none: allowed.
REALTIME_ALLOWED_ORIGINS = env.list(
    "REALTIME_ALLOWED_ORIGINS",
    default=[]
    if PRODUCTION
    else ["http://localhost:8000", "http://127.0.0.1:8000", "http://localhost:3000"],
)
# Inbound courier positions: a token bucket per connection.
REALTIME_POSITION_RATE_PER_SECOND = env.float("REALTIME_POSITION_RATE_PER_SECOND", default=1.0)
REALTIME_POSITION_BURST = env.int("REALTIME_POSITION_BURST", default=5)
# Who may send positions on the socket (a function of the user id): couriers, from pooling.
REALTIME_POSITION_POLICY = "pooling.services.couriers.may_send_position"
# Invalid inbound messages tolerated (a bucket refilled at one per second) before closing.
REALTIME_INBOUND_ERROR_BURST = env.int("REALTIME_INBOUND_ERROR_BURST", default=20)
# Bound on the time a request waits for the channel layer after its commit.
REALTIME_FANOUT_TIMEOUT_SECONDS = env.float("REALTIME_FANOUT_TIMEOUT_SECONDS", default=2.0)
# The Redis channel layer in its pub/sub flavour (channels_redis.pubsub): Redis pushes messages
# to each Daphne process over one connection, where channels_redis.core pops them one by one at
# four round trips each, a ceiling of a few hundred live events a second per process (see
# benchmarks/fanout.py). Pub/sub keeps nothing for a process that is not listening: the event
# log is the truth, and sockets catch up from it (holes, the hub's sweep, reconnections).
# notifications.layer adds a retried subscription of each new socket's channel after a Redis
# restart. CHANNEL_LAYER_BACKEND=channels_redis.core.RedisChannelLayer switches back; the
# capacities below are for that one: its Redis list per process carries every message for the
# process's sockets, so it is sized per process; the per-socket buffer stays small (a socket that
# stops reading loses its oldest live messages and catches up from the log).
CHANNEL_LAYERS["default"]["BACKEND"] = env.str(
    "CHANNEL_LAYER_BACKEND", default="notifications.layer.PubSubChannelLayer"
)
_channel_layer_config: dict[str, Any] = CHANNEL_LAYERS["default"]["CONFIG"]  # type: ignore[assignment]
_channel_layer_config.update(
    {
        # A pooled connection that Redis closed (a restart) is reopened once before failing.
        # Reads wait longer than the layer's 5 s blocking pops (redis-py's default read timeout
        # is also 5 s: the two race and the loser kills its socket's consumer).
        "hosts": [
            {
                "address": REDIS_URL,
                "socket_connect_timeout": 2,
                "socket_timeout": 15,
                "retry_on_error": [RedisConnectionError],
                "max_connections": env.int("CHANNEL_LAYER_MAX_CONNECTIONS", default=500),
            }
        ],
        "prefix": env.str("CHANNEL_LAYER_PREFIX", default="asgi"),
        "capacity": env.int("CHANNEL_LAYER_SOCKET_CAPACITY", default=200),
        "channel_capacity": {
            "specific.*": env.int("CHANNEL_LAYER_PROCESS_CAPACITY", default=20000)
        },
        "expiry": 60,
        "group_expiry": 86400,
    }
)
# Push through Firebase Cloud Messaging. On by default; production refuses to start when it is
# on without a service-account file (notifications/apps.py). In development without credentials
# a push is a logged no-op.
PUSH_ENABLED = env.bool("PUSH_ENABLED", default=True)
FCM_CREDENTIALS_FILE = env.str("FCM_CREDENTIALS_FILE", default="")
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")
PUSH_MAX_ATTEMPTS = env.int("PUSH_MAX_ATTEMPTS", default=6)
PUSH_BACKOFF_SECONDS = env.float("PUSH_BACKOFF_SECONDS", default=15.0)
PUSH_BACKOFF_MAX_SECONDS = env.float("PUSH_BACKOFF_MAX_SECONDS", default=900.0)
# Quiet hours are read in this time zone (residents have no time zone of their own yet).
PUSH_QUIET_HOURS_TIME_ZONE = env.str("PUSH_QUIET_HOURS_TIME_ZONE", default=TIME_ZONE)
CELERY_BEAT_SCHEDULE = globals().get("CELERY_BEAT_SCHEDULE") or {}
CELERY_BEAT_SCHEDULE.update(
    {
        "notifications.push_sweep": {"task": "notifications.push_sweep", "schedule": 30.0},
        "notifications.events_prune": {"task": "notifications.events_prune", "schedule": 3600.0},
    }
)
# --- end of notifications ------------------------------------------------------------------------

# --- Sharing (neighbour lending) --------------------------------------------------------------
SHARING_BLUR_CELL_M = env.float("SHARING_BLUR_CELL_M", default=150.0)
SHARING_MINUTES_FLOOR = env.int("SHARING_MINUTES_FLOOR", default=3)
SHARING_LOAN_BUFFER_HOURS = env.float("SHARING_LOAN_BUFFER_HOURS", default=2.0)
SHARING_REQUEST_TTL_HOURS = env.float("SHARING_REQUEST_TTL_HOURS", default=48.0)
SHARING_MAX_RENEWALS = env.int("SHARING_MAX_RENEWALS", default=2)
SHARING_MAX_OPEN_WANTED = env.int("SHARING_MAX_OPEN_WANTED", default=3)
SHARING_WANTED_FIRST_ROUND = env.int("SHARING_WANTED_FIRST_ROUND", default=3)
SHARING_WANTED_WIDEN_MINUTES = env.int("SHARING_WANTED_WIDEN_MINUTES", default=30)
SHARING_WANTED_MAX_ROUNDS = env.int("SHARING_WANTED_MAX_ROUNDS", default=4)
SHARING_REMINDERS_PER_DAY = env.int("SHARING_REMINDERS_PER_DAY", default=5)
SHARING_NEARBY_MAX_MINUTES = env.int("SHARING_NEARBY_MAX_MINUTES", default=30)
SHARING_PHOTO_MAX_BYTES = env.int("SHARING_PHOTO_MAX_BYTES", default=8 * 1024 * 1024)
SHARING_PHOTO_MAX_PIXELS = env.int("SHARING_PHOTO_MAX_PIXELS", default=40_000_000)
SHARING_PHOTO_MAX_SIDE = env.int("SHARING_PHOTO_MAX_SIDE", default=1600)
SHARING_THUMB_SIDE = env.int("SHARING_THUMB_SIDE", default=320)
SHARING_MAX_PHOTOS = env.int("SHARING_MAX_PHOTOS", default=6)

# --- Pooling: orders, relay points, batches, courier rounds, impact (owned by pooling/) ----------
# Everything pooling/ reads from settings, in one block. See docs/pooling.md.
# Emission factors per vehicle type, in kg CO2e per vehicle-km, each with its source. Vans are
# diesel light commercial vehicles: 3.17 kg CO2e per litre of road diesel (upstream 0.66 +
# combustion 2.51, arrêté du 26 avril 2017, annex, the factor ADEME's Base Carbone uses for the
# "information GES des prestations de transport") times an urban delivery consumption of
# 9 L/100 km (an assumption: override POOLING_VAN_L_PER_100KM with the fleet's own figure).
POOLING_VAN_L_PER_100KM = env.float("POOLING_VAN_L_PER_100KM", default=9.0)
POOLING_EMISSION_FACTORS = {
    "van": {
        "kg_co2e_per_km": env.float(
            "POOLING_CO2_VAN_KG_PER_KM", default=round(3.17 * POOLING_VAN_L_PER_100KM / 100, 4)
        ),
        "source": "ADEME Base Carbone / arrêté du 26 avril 2017: road diesel 3.17 kg CO2e/L "
        "(well to wheel) x POOLING_VAN_L_PER_100KM (default 9 L/100 km, urban delivery)",
    },
    "cargo_bike": {
        "kg_co2e_per_km": env.float("POOLING_CO2_CARGO_BIKE_KG_PER_KM", default=0.013),
        "source": "ADEME, life-cycle estimate for an electric-assist bike (13 g CO2e/km, 94 % "
        "from manufacture); a cargo bike is heavier, so read this as a lower bound",
    },
    "foot": {
        "kg_co2e_per_km": env.float("POOLING_CO2_FOOT_KG_PER_KM", default=0.0),
        "source": "walking with a trolley: no vehicle emission counted",
    },
}
# The street-graph profile each vehicle is routed with: vans on the car network with its one-ways
# (the carriers' vans of baseline (b) too), cargo bikes on the bike network (contraflow lanes,
# cycle tracks), couriers on foot on the walking network.
POOLING_VEHICLE_PROFILES = {"cargo_bike": "bike", "van": "car", "foot": "walk"}
# A planning run that has not reported progress for this long was lost (worker and message gone):
# the cut-off sweep queues its batch again (a plan takes seconds; the solver's budget is small).
POOLING_PLANNING_STALE_SECONDS = env.int("POOLING_PLANNING_STALE_SECONDS", default=600)
# Cost per meter given to the solver for each vehicle (prefers bikes and feet over vans).
POOLING_VEHICLE_COST_PER_M = {"cargo_bike": 1, "foot": 1, "van": 3}
# Default capacities in volume units (a small parcel, about 10 L, is 1; medium 2, large 4, extra
# large 8) and kg: a delivery cargo bike's box holds about 1 m3 and 180 kg, a trolley 80 L, a van
# 3 m3 and 800 kg.
POOLING_DEFAULT_CAPACITY = {
    "cargo_bike": {"units": 100, "kg": 180},
    "foot": {"units": 8, "kg": 25},
    "van": {"units": 300, "kg": 800},
}
# Service time at a stop: a fixed part per place kind and a part per parcel (seconds).
POOLING_SERVICE_SECONDS = {"home": 120, "relay": 180, "host": 120}
POOLING_SERVICE_SECONDS_PER_PARCEL = env.int("POOLING_SERVICE_SECONDS_PER_PARCEL", default=20)
# The solver (PyVRP): wall-time budget of one plan, and an optional cap on its iterations (set in
# tests for plans that do not depend on the machine's speed).
POOLING_SOLVER_SECONDS = env.float("POOLING_SOLVER_SECONDS", default=2.0)
POOLING_SOLVER_MAX_ITERATIONS = env.int("POOLING_SOLVER_MAX_ITERATIONS", default=0) or None
POOLING_SOLVER_SEED = env.int("POOLING_SOLVER_SEED", default=1)
# A round (hub to hub) is planned within this time, so that rounds fit one after another.
POOLING_ROUND_MAX_SECONDS = env.int("POOLING_ROUND_MAX_SECONDS", default=7200)
# Baseline (b) solves one small problem per carrier, each with this budget.
POOLING_BASELINE_SECONDS = env.float("POOLING_BASELINE_SECONDS", default=0.3)
# The courier is "nearby" under this many meters along the street graph.
POOLING_NEARBY_METERS = env.float("POOLING_NEARBY_METERS", default=300.0)
# A new ETA is sent to residents when it moves by at least this much.
POOLING_ETA_NOTIFY_SECONDS = env.int("POOLING_ETA_NOTIFY_SECONDS", default=120)
# After this many failed attempts an order goes back to the sender instead of the pool.
POOLING_MAX_ATTEMPTS = env.int("POOLING_MAX_ATTEMPTS", default=2)
# Proof photos: size and types accepted.
POOLING_PROOF_PHOTO_MAX_BYTES = env.int("POOLING_PROOF_PHOTO_MAX_BYTES", default=5 * 1024 * 1024)
POOLING_PROOF_PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"]
# Webhook bodies larger than this are refused before parsing.
POOLING_WEBHOOK_MAX_BYTES = env.int("POOLING_WEBHOOK_MAX_BYTES", default=64 * 1024)
# The cut-off sweep: each hub's neighbourhood is planned once its local cut-off time has passed.
CELERY_BEAT_SCHEDULE = globals().get("CELERY_BEAT_SCHEDULE") or {}
CELERY_BEAT_SCHEDULE.update(
    {
        "pooling.cutoff_sweep": {
            "task": "pooling.cutoff_sweep",
            "schedule": env.float("POOLING_CUTOFF_SWEEP_SECONDS", default=300.0),
        },
    }
)
# Stable names in the OpenAPI schema for the pooling app's choice sets.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **dict(SPECTACULAR_SETTINGS.get("ENUM_NAME_OVERRIDES") or {}),  # type: ignore[call-overload]
    "PoolingReceiveModeEnum": "pooling.models.ReceiveMode",
    "PoolingDropKindEnum": "pooling.models.DropKind",
    "PoolingRelayKindEnum": "pooling.models.RelayPoint.Kind",
}
# --- end of pooling ------------------------------------------------------------------------------

# --- Sharing: periodic jobs (owned by sharing/, see sharing/tasks.py) ----------------------------
# Reminders go out at the top of each hour in the daytime (TIME_ZONE), never at night: a
# reminder throttled by SHARING_REMINDERS_PER_DAY waits for the next run.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE = globals().get("CELERY_BEAT_SCHEDULE") or {}
CELERY_BEAT_SCHEDULE.update(
    {
        "sharing.loans_expire": {"task": "sharing.loans_expire", "schedule": 300.0},
        "sharing.wanted_widen": {"task": "sharing.wanted_widen", "schedule": 60.0},
        "sharing.reminders_send": {
            "task": "sharing.reminders_send",
            "schedule": crontab(minute=0, hour="8-20"),
        },
    }
)
# --- end of sharing periodic jobs ----------------------------------------------------------------

# --- Admin maps --------------------------------------------------------------------------------
# Tiles come from this server (an XYZ URL); the map's scripts and styles are served by the project.
MAP_TILE_URL = env.str("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="© OpenStreetMap contributors")
MAP_DEFAULT_LON = env.float("MAP_DEFAULT_LON", default=24.94)
MAP_DEFAULT_LAT = env.float("MAP_DEFAULT_LAT", default=60.17)
MAP_DEFAULT_ZOOM = env.int("MAP_DEFAULT_ZOOM", default=14)

# --- Security hardening: rate limits, body sizes, page sizes, headers, CORS, logs ---------------
# See docs/security.md. Owned by backend/throttling.py, backend/security.py, backend/redaction.py,
# backend/pagination.py and backend/schema.py.
from urllib.parse import urlsplit  # noqa: E402

# The cache is Redis (rate-limit counters shared by every process). Short timeouts: when Redis
# does not answer, rate limits fail open at once instead of holding requests.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="voisinage"),
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
# Rate limits per scope, "<count>/<s|min|h|day>" (an empty value lifts the limit). Answered with
# 429 and Retry-After. Who is counted: login and register per client address, login_account per
# email asked, nearby/geo/wanted per account, webhook per merchant API key.
THROTTLE_RATES = {
    "login": env.str("THROTTLE_LOGIN", default="10/min"),
    "login_account": env.str("THROTTLE_LOGIN_ACCOUNT", default="20/h"),
    "token_refresh": env.str("THROTTLE_TOKEN_REFRESH", default="30/min"),
    "register": env.str("THROTTLE_REGISTER", default="10/h"),
    "nearby": env.str("THROTTLE_NEARBY", default="60/min"),
    "geo": env.str("THROTTLE_GEO", default="120/min"),
    "wanted": env.str("THROTTLE_WANTED", default="10/h"),
    "webhook": env.str("THROTTLE_WEBHOOK", default="300/min"),
}
THROTTLE_CACHE = "default"
# Reverse proxies in front of the app that append to X-Forwarded-For (the client address is the
# one they saw). 0: the address of the connection itself.
THROTTLE_TRUSTED_PROXIES = env.int("THROTTLE_TRUSTED_PROXIES", default=1 if PRODUCTION else 0)

# Request bodies: JSON and forms up to REQUEST_MAX_BODY_BYTES, multipart uploads (photos) up to
# REQUEST_MAX_UPLOAD_BYTES, refused with 413 from Content-Length before any parsing.
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=1024 * 1024)
REQUEST_MAX_UPLOAD_BYTES = env.int(
    "REQUEST_MAX_UPLOAD_BYTES",
    default=max(SHARING_PHOTO_MAX_BYTES, POOLING_PROOF_PHOTO_MAX_BYTES) + 64 * 1024,
)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=200)
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=2)

# Every list is paginated (?limit=&offset=); a larger limit is served as this cap.
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=100)
REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"] = "backend.pagination.LimitOffsetPagination"

# The error answers every operation can give, documented once (backend/schema.py).
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "backend.schema.add_error_responses",
]

# CORS, for a browser build of the apps (native apps send no Origin and need none). The API is
# authenticated by bearer tokens, never cookies: no credentials are allowed cross-origin, and
# the API views need no CSRF token (DRF exempts views without session authentication). CSRF
# stays on for the admin and its session.
INSTALLED_APPS.append("corsheaders")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "corsheaders.middleware.CorsMiddleware",
)
CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS",
    default=[]
    if PRODUCTION
    else ["http://localhost:3000", "http://localhost:8081", "http://127.0.0.1:3000"],
)
CORS_URLS_REGEX = r"^/api/v1/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = [
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-requested-with",
]
CORS_EXPOSE_HEADERS = ["Retry-After", "Content-Language"]
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=86400)

# Body size limits and the Content-Security-Policy, right after CORS (so that a 413 carries the
# CORS headers a browser needs to read it).
MIDDLEWARE.insert(
    MIDDLEWARE.index("corsheaders.middleware.CorsMiddleware") + 1,
    "backend.security.RequestSizeLimitMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("backend.security.RequestSizeLimitMiddleware") + 1,
    "backend.security.ContentSecurityPolicyMiddleware",
)

# Headers on every answer. The admin and the API docs load only what this server serves (the
# admin's map tiles come from MAP_TILE_URL's host).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
_tiles = urlsplit(globals().get("MAP_TILE_URL", ""))
_tile_host = _tiles.netloc
if "{" in _tile_host:  # "{a-c}.tile.example.org": any subdomain
    _tile_host = "*." + _tile_host.split("}.", 1)[-1]
_tile_origin = f"{_tiles.scheme}://{_tile_host}" if _tiles.scheme and _tile_host else ""
CSP_API = "default-src 'none'; frame-ancestors 'none'"
CSP_PAGES = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
CSP_ADMIN = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' data: blob: {_tile_origin}; font-src 'self' data:; "
    f"connect-src 'self' {_tile_origin}; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
if PRODUCTION:
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    CSRF_COOKIE_SAMESITE = "Lax"
    # The load balancer's probes come over plain HTTP from inside.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# No secret in the logs: every handler masks tokens, passwords, keys and signatures.
_logging: dict[str, Any] = LOGGING  # type: ignore[assignment]
_logging.setdefault("filters", {})["redact_secrets"] = {
    "()": "backend.redaction.RedactSecretsFilter"
}
for _handler in _logging["handlers"].values():
    _handler.setdefault("filters", []).append("redact_secrets")
# Django's development server logs each request line (query strings included) through its own
# handler: send it through ours.
_logging.setdefault("loggers", {})["django.server"] = {
    "handlers": ["console"],
    "level": "INFO",
    "propagate": False,
}
# --- end of security hardening -------------------------------------------------------------------

# --- API schema: one stable name per choice set (check --deploy reports name collisions) --------
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **dict(SPECTACULAR_SETTINGS.get("ENUM_NAME_OVERRIDES") or {}),  # type: ignore[call-overload]
    "ItemConditionEnum": "sharing.models.Item.Condition",
    "ReturnConditionEnum": "sharing.models.Loan.ReturnCondition",
    "MembershipStatusEnum": "neighbourhoods.models.Membership.Status",
    "ItemStatusEnum": "sharing.models.Item.Status",
    "LoanStatusEnum": "sharing.models.Loan.Status",
    "WantedStatusEnum": "sharing.models.WantedRequest.Status",
    "OfferStatusEnum": "sharing.models.Offer.Status",
    "ReportStatusEnum": "sharing.models.Report.Status",
    "OrderStatusEnum": "pooling.models.Order.Status",
    "BatchStatusEnum": "pooling.models.Batch.Status",
    "RouteStatusEnum": "pooling.models.Route.Status",
    "StopStatusEnum": "pooling.models.Stop.Status",
}
# --- end of API schema names ---------------------------------------------------------------------
