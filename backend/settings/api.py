"""The HTTP API: Django REST framework, JWT authentication, the OpenAPI schema."""

from datetime import timedelta

from .base import env
from .security import SECRET_KEY

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.SessionJWTAuthentication",
    ],
    # Signed in, with the terms and privacy notice in force accepted (accounts/permissions.py).
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.ConsentCurrent",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON with a bounded depth and allowed characters only (backend/parsers.py, inputs.py).
    "DEFAULT_PARSER_CLASSES": ["backend.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backend.error_handlers.exception_handler",
    # Every list that grows is paginated by cursor (?limit=&cursor=, the answer gives next), up to
    # API_MAX_PAGE_SIZE (backend/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "backend.pagination.CursorPagination",
    "PAGE_SIZE": 50,
}
# How deep a JSON body may nest (objects and arrays), checked before parsing: deeper is a 400.
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=32)
# A larger ?limit= is served as this cap.
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=100)

# JSON answers compressed (Brotli or gzip) for the clients that accept it (backend/compression.py).
# Off behind a proxy or CDN that compresses the answers itself: one of the two, not both
# (docs/scaling.md, "Compressed answers").
COMPRESS_RESPONSES = env.bool("COMPRESS_RESPONSES", default=True)
# Smaller answers are sent as they are (a few headers' worth: nothing to save).
COMPRESS_MIN_BYTES = env.int("COMPRESS_MIN_BYTES", default=512)
# Brotli when the client accepts it (else gzip); quality 0-11: 4 is about gzip's speed.
COMPRESS_BROTLI = env.bool("COMPRESS_BROTLI", default=True)
COMPRESS_BROTLI_QUALITY = env.int("COMPRESS_BROTLI_QUALITY", default=4)

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
    # One stable name per choice set (check --deploy reports name collisions).
    "ENUM_NAME_OVERRIDES": {
        # walk, slow, wheelchair: the person's walking profile and an order's walk_profile.
        "WalkProfileEnum": "accounts.models.WalkingProfile",
        "PoolingReceiveModeEnum": "pooling.models.ReceiveMode",
        "PoolingDropKindEnum": "pooling.models.DropKind",
        "PoolingRelayKindEnum": "pooling.models.RelayPoint.Kind",
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
        # The ``view`` discriminators of answers that are one shape or another.
        "OwnerViewEnum": ["owner"],
        "AuthorViewEnum": ["author"],
        "NeighbourViewEnum": ["neighbour"],
    },
    # The error answers every operation can give, documented once (backend/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.schema.add_error_responses",
    ],
}
