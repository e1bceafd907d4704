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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_gis",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "backend.accounts",
    "geo",
    "notifications",
    "sharing",
    "pooling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backend" / "templates"],
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

# --- Street graph and travel profiles -----------------------------------------------------------
# Speeds in meters per second. Wheelchair routes never use steps and pay a factor on unpaved ways.
GEO_SPEEDS_KMH = {
    "walk": env.float("GEO_SPEED_WALK_KMH", default=5.0),
    "slow": env.float("GEO_SPEED_SLOW_KMH", default=3.0),
    "wheelchair": env.float("GEO_SPEED_WHEELCHAIR_KMH", default=3.5),
    "bike": env.float("GEO_SPEED_BIKE_KMH", default=15.0),
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
