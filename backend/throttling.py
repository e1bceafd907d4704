"""Abuse limits: request rates per scope, counted in Redis (the ``default`` cache).

Each throttled endpoint names a scope; ``settings.THROTTLE_RATES`` gives the scope's rate as
``"<count>/<period>"`` (period: ``s``, ``min``, ``h`` or ``day``; only the first letter counts,
as in DRF). A scope without a rate is not limited. Rates are read at each request, so tests and
operators can change them without reloading anything.

Counting is a fixed window per scope and identity, with one atomic ``INCR`` in Redis: several
processes (and concurrent requests) share one count, and no request is lost between a read and a
write. The counter is created with its expiry and counted in one round trip, on one Redis client
per process: Django's cache object lives per request under ASGI, and with it its connection
pool, so going through it opened a new Redis connection for every request. A refused request gets 429 with ``Retry-After`` (the seconds until the window ends) in the
project's error format (backend/errors.py), and the view never runs: nothing changes.

When Redis does not answer, requests are let through (failing open, logged): an outage of the
counter must not take the API down with it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from typing import Any

import redis
from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
KEY_PREFIX = "throttle"


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/min"`` -> (10, 60). Raises ValueError on anything else."""
    count, _, period = rate.partition("/")
    period = period.strip().lower()
    multiplier = 1
    digits = "".join(c for c in period if c.isdigit())
    unit = period[len(digits) :]
    if digits:
        multiplier = int(digits)
    if not unit or unit[0] not in PERIODS or int(count) < 0 or multiplier < 1:
        raise ValueError(f"invalid rate {rate!r}: use '<count>/<s|min|h|day>'")
    return int(count), PERIODS[unit[0]] * multiplier


def client_ip(request: Any) -> str:
    """The client's address: ``REMOTE_ADDR``, or the address the trusted proxies saw.

    ``THROTTLE_TRUSTED_PROXIES`` proxies (the load balancer, the TLS terminator) append to
    ``X-Forwarded-For``; the address they saw is the one that many places from the right. Anything
    further left is written by the client and never trusted.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = int(getattr(settings, "THROTTLE_TRUSTED_PROXIES", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies > 0 and forwarded:
        hops = [h.strip() for h in str(forwarded).split(",") if h.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote or "unknown"


def _digest(value: str) -> str:
    """Identities are hashed: no email or key is ever written as is into Redis."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class RateThrottle(BaseThrottle):
    """A fixed-window counter per (scope, identity). Subclasses name the scope and the identity."""

    scope = ""
    #: Only these methods are counted (None: every method).
    methods: frozenset[str] | None = None

    def __init__(self) -> None:
        self._wait: float | None = None

    def identity(self, request: Request, view: Any) -> str | None:
        """Who is counted; None: this request is not counted by this throttle."""
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.methods is not None and request.method not in self.methods:
            return True
        rate = getattr(settings, "THROTTLE_RATES", {}).get(self.scope)
        if not rate:
            return True
        limit, duration = parse_rate(rate)
        ident = self.identity(request, view)
        if ident is None:
            return True
        now = time.time()
        window = int(now // duration)
        key = f"{KEY_PREFIX}:{self.scope}:{_digest(ident)}:{window}"
        try:
            count = _count(key, duration + 1)
        except (RedisError, OSError, ValueError) as error:  # fail open: the counter is down
            logger.warning("rate limit %s not counted: %s", self.scope, type(error).__name__)
            return True
        if count > limit:
            self._wait = max(1.0, (window + 1) * duration - now)
            return False
        return True

    def wait(self) -> float | None:
        return None if self._wait is None else float(math.ceil(self._wait))


class IPThrottle(RateThrottle):
    def identity(self, request: Request, view: Any) -> str | None:
        return client_ip(request)


class UserThrottle(RateThrottle):
    """Per authenticated account (anonymous requests are refused before by authentication)."""

    def identity(self, request: Request, view: Any) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return f"ip:{client_ip(request)}"
        return f"user:{user.pk}"


class LoginIPThrottle(IPThrottle):
    """Log-in attempts from one address (token obtain)."""

    scope = "login"


class EmailAskedThrottle(RateThrottle):
    """Requests about one address (log-ins, reset links), from anywhere: no mailbox is flooded."""

    def identity(self, request: Request, view: Any) -> str | None:
        data = request.data if isinstance(request.data, dict) else {}
        email = data.get("email")
        if not isinstance(email, str) or not email.strip():
            return None
        return email.strip().lower()


class LoginAccountThrottle(EmailAskedThrottle):
    """Log-in attempts on one account, from anywhere: slows a distributed password guess."""

    scope = "login_account"


class TokenRefreshThrottle(IPThrottle):
    scope = "token_refresh"


class RegisterThrottle(IPThrottle):
    scope = "register"


class NearbyThrottle(UserThrottle):
    """Searches by walking time (items nearby, relay points nearby): each walks the graph."""

    scope = "nearby"


class ItemCodeThrottle(UserThrottle):
    """Items found by the short code printed on paper: codes are not listed by trying them."""

    scope = "item_code"


class GeoThrottle(UserThrottle):
    """Routes, isochrones and matrices: computed on the street graph for each request."""

    scope = "geo"


class TileThrottle(IPThrottle):
    """Street tiles, public: per address."""

    scope = "tiles"


class OpenDataThrottle(IPThrottle):
    """The associations' open data, public: per address."""

    scope = "opendata"


class WantedCreateThrottle(UserThrottle):
    """New wanted requests: each one notifies neighbours."""

    scope = "wanted"
    methods = frozenset({"POST"})


class WebhookThrottle(RateThrottle):
    """Merchant webhooks, per merchant API key (per address when no key is sent)."""

    scope = "webhook"

    def identity(self, request: Request, view: Any) -> str | None:
        key = request.META.get("HTTP_X_API_KEY")
        if key:
            return f"key:{key}"
        return f"ip:{client_ip(request)}"


class PickupCodeThrottle(RateThrottle):
    """Pickup codes tried by a relay's operator, per operator and order: six digits are not
    guessed at 10 an hour, and a busy shop handing over many parcels is never slowed."""

    scope = "pickup_code"
    methods = frozenset({"POST"})

    def identity(self, request: Request, view: Any) -> str | None:
        user = getattr(request, "user", None)
        data = request.data if isinstance(request.data, dict) else {}
        order = data.get("order")
        who = f"user:{user.pk}" if user is not None and user.is_authenticated else "anonymous"
        return f"{who}:order:{order if isinstance(order, int) else '?'}"


_clients: dict[tuple[str, str], redis.Redis] = {}
_clients_lock = threading.Lock()


def _redis() -> tuple[redis.Redis, str]:
    """The process's client for the Redis of the throttle cache (``THROTTLE_CACHE``), and the
    prefix of the counters' keys there (the cache's ``KEY_PREFIX``)."""
    config = settings.CACHES[getattr(settings, "THROTTLE_CACHE", "default")]
    location, options = config["LOCATION"], config.get("OPTIONS", {})
    ident = (location, repr(sorted(options.items())))
    client = _clients.get(ident)
    if client is None:
        with _clients_lock:
            client = _clients.get(ident)
            if client is None:
                client = _clients[ident] = redis.Redis.from_url(location, **options)
    return client, f"{config.get('KEY_PREFIX', '')}:"


def _count(key: str, expires_in: int) -> int:
    """Adds one to the counter ``key`` (created with its expiry if new) and returns the count:
    one round trip."""
    client, prefix = _redis()
    pipe = client.pipeline(transaction=False)
    pipe.set(prefix + key, 0, ex=expires_in, nx=True)
    pipe.incr(prefix + key)
    return int(pipe.execute()[1])


def throttle_reset() -> int:
    """Forget every count (tests, or an operator lifting a limit). Returns the keys deleted."""
    client, prefix = _redis()
    deleted = 0
    for key in client.scan_iter(match=f"{prefix}{KEY_PREFIX}:*", count=500):
        deleted += client.delete(key)
    return deleted


class PasswordResetIPThrottle(IPThrottle):
    scope = "password_reset"


class PasswordResetEmailThrottle(EmailAskedThrottle):
    scope = "password_reset_email"


class AccountLinkThrottle(IPThrottle):
    """Redeeming links (verification, reset): slows guessing, though a token has 256 bits."""

    scope = "account_link"


class AccountMailThrottle(UserThrottle):
    """What a signed-in person can have mailed (verification again, a change of address)."""

    scope = "account_mail"


class PasswordChangeThrottle(UserThrottle):
    scope = "password_change"
