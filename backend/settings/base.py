"""The project itself: paths, environment, apps, middleware, templates, languages, files."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VOISINAGE_ENV = env.str("VOISINAGE_ENV", default="development")
if VOISINAGE_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured("VOISINAGE_ENV must be development, test or production")
PRODUCTION = VOISINAGE_ENV == "production"

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
    # On top of the domains: what volunteers do for assisted members.
    "assistance",
    # The associations' figures as open data (docs/opendata.md).
    "opendata",
    # After the apps whose permissions it groups for the association's volunteers.
    "panel",
    # CORS for a browser build of the apps (see security.py).
    "corsheaders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "backend.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The request's language, before anything under it answers: every answer of the API and the
    # probes (413, 400, 503, CORS preflights included) is in it and says it (Content-Language).
    "django.middleware.locale.LocaleMiddleware",
    # JSON answers in Brotli or gzip for the clients that accept it (COMPRESS_RESPONSES): above
    # the ETags (computed on the uncompressed body, made weak when compressed; their 304s decided
    # first) and the idempotency middleware (answers kept uncompressed, compressed per retry).
    "backend.compression.CompressionMiddleware",
    # Every GET answer carries an ETag (a digest of its body); If-None-Match with it is answered
    # 304 without a body: an app polling an item, a loan or a round spends no bytes on no change.
    "django.middleware.http.ConditionalGetMiddleware",
    # CORS, then the error format and the input limits (so that their answers carry the CORS
    # headers a browser needs to read them). See security.py and docs/security.md.
    "corsheaders.middleware.CorsMiddleware",
    # Every error answer under /api/ and from the probes in the JSON error format.
    "backend.error_handlers.ErrorFormatMiddleware",
    "backend.security.RequestSizeLimitMiddleware",
    # Paths and query strings with NUL, control characters... refused (backend/inputs.py).
    "backend.security.InputCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # PostgreSQL down: 503 at once (in the request's language) and back on its own.
    "backend.database.DatabaseUnavailableMiddleware",
    # A request that wrote reads its own writes from the primary, never from the read replica
    # (backend/replicas.py): each request starts with no write noted.
    "backend.replicas.ReadYourWritesMiddleware",
    # Django's, but an API path answers with or without its trailing slash (backend/paths.py).
    "backend.paths.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A POST under /api/ with an Idempotency-Key acts once per person (accounts/idempotency.py).
    "accounts.idempotency.IdempotencyMiddleware",
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
        # The panel overrides admin templates: its folder comes before the apps' own.
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

# Redis: the cache (rate limits), the channel layer and Celery's broker all default to it.
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

# The panel's paper sheets (panel/paper/): the TrueType fonts embedded in their PDFs (Debian's
# fonts-dejavu-core: DejaVuSans.ttf, DejaVuSans-Bold.ttf, DejaVuSansMono-Bold.ttf); without them,
# the PDF's own Helvetica and Courier (Western European text only: cp1252).
PAPER_FONT_DIR = Path(env.str("PAPER_FONT_DIR", default="/usr/share/fonts/truetype/dejavu"))
# The most items a noticeboard sheet lists (the nearest first).
PAPER_NOTICEBOARD_MAX_ITEMS = env.int("PAPER_NOTICEBOARD_MAX_ITEMS", default=200)
