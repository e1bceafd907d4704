"""Secrets, hosts, rate limits, body sizes, CORS and headers. See docs/security.md.

Production (``VOISINAGE_ENV=production``) fails closed: no default secret, DEBUG off, and the
process refuses to start without ``SECRET_KEY`` and ``ALLOWED_HOSTS``. The middleware these
settings configure is listed in base.py; they are read by backend/throttling.py,
backend/security.py and backend/redaction.py.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .base import PRODUCTION, REDIS_URL, VOISINAGE_ENV, env
from .geo import MAP_TILE_URL
from .pooling import POOLING_PROOF_PHOTO_MAX_BYTES
from .sharing import SHARING_PHOTO_MAX_BYTES

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

# --- Rate limits ---------------------------------------------------------------------------------
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
# email asked, nearby/geo/wanted/item_code per account, webhook per merchant API key;
# password_reset per client address and password_reset_email per address asked; account_link
# (redeeming a mailed link) per client address; account_mail and password_change per account;
# pickup_code (a relay's operator handing a parcel over with the resident's code) per operator
# and order; opendata (the public open data files) per client address.
THROTTLE_RATES = {
    "login": env.str("THROTTLE_LOGIN", default="10/min"),
    "login_account": env.str("THROTTLE_LOGIN_ACCOUNT", default="20/h"),
    "token_refresh": env.str("THROTTLE_TOKEN_REFRESH", default="30/min"),
    "register": env.str("THROTTLE_REGISTER", default="10/h"),
    "password_reset": env.str("THROTTLE_PASSWORD_RESET", default="10/h"),
    "password_reset_email": env.str("THROTTLE_PASSWORD_RESET_EMAIL", default="5/h"),
    "account_link": env.str("THROTTLE_ACCOUNT_LINK", default="30/h"),
    "account_mail": env.str("THROTTLE_ACCOUNT_MAIL", default="5/h"),
    "password_change": env.str("THROTTLE_PASSWORD_CHANGE", default="10/h"),
    "nearby": env.str("THROTTLE_NEARBY", default="60/min"),
    # Items found by the short code printed on paper (GET /items/by-code/{code}), per account.
    "item_code": env.str("THROTTLE_ITEM_CODE", default="30/min"),
    "geo": env.str("THROTTLE_GEO", default="120/min"),
    # Street tiles, per address: a map opened is about 20 tiles, panning a few more.
    "tiles": env.str("THROTTLE_TILES", default="600/min"),
    "wanted": env.str("THROTTLE_WANTED", default="10/h"),
    "webhook": env.str("THROTTLE_WEBHOOK", default="300/min"),
    "pickup_code": env.str("THROTTLE_PICKUP_CODE", default="10/h"),
    # The associations' open data (public, no login), per address: files that change once a month.
    "opendata": env.str("THROTTLE_OPENDATA", default="120/min"),
}
THROTTLE_CACHE = "default"
# Reverse proxies in front of the app that append to X-Forwarded-For (the client address is the
# one they saw). 0: the address of the connection itself.
THROTTLE_TRUSTED_PROXIES = env.int("THROTTLE_TRUSTED_PROXIES", default=1 if PRODUCTION else 0)

# --- Request bodies ------------------------------------------------------------------------------
# JSON and forms up to REQUEST_MAX_BODY_BYTES, multipart uploads (photos) up to
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

# --- CORS ----------------------------------------------------------------------------------------
# For a browser build of the apps (native apps send no Origin and need none). The API is
# authenticated by bearer tokens, never cookies: no credentials are allowed cross-origin, and
# the API views need no CSRF token (DRF exempts views without session authentication). CSRF
# stays on for the admin and its session.
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

# --- Headers -------------------------------------------------------------------------------------
# On every answer. The admin and the API docs load only what this server serves (the admin's maps
# draw this server's street tiles; with MAP_TILE_URL set, images from its host too).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
_tiles = urlsplit(MAP_TILE_URL)
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
_tile_source = f" {_tile_origin}" if _tile_origin else ""
CSP_ADMIN = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' data: blob:{_tile_source}; font-src 'self' data:; "
    f"connect-src 'self'{_tile_source}; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # The load balancer's probes come over plain HTTP from inside.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    CSRF_COOKIE_SECURE = True
    CSRF_COOKIE_SAMESITE = "Lax"
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
