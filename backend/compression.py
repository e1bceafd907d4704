"""JSON answers compressed for the clients that accept it: Brotli or gzip (``Accept-Encoding``).

Where no proxy compresses (``make run``, a Daphne reached directly, docker-compose.yml: nginx
compresses only the static files it serves itself), the app does: ``COMPRESS_RESPONSES`` (on by
default). Behind a proxy or CDN that compresses answers itself, turn it off there or here, not
both (docs/scaling.md, "Compressed answers").

What is compressed: a whole (not streamed) answer whose type is JSON (``application/json``,
``application/*+json``) or the OpenAPI schema, of at least ``COMPRESS_MIN_BYTES``, with no
``Content-Encoding`` yet and no ``Cache-Control: no-transform``, when the compressed body is
smaller. Brotli (quality ``COMPRESS_BROTLI_QUALITY``, 4: about gzip's speed, a smaller body) when
the client prefers or equally accepts it, else gzip (level 6, a random-length file name in the
gzip header as Django's GZipMiddleware adds). Files (data exports, photos: ``FileResponse``,
already compressed or served by the proxy), the websockets (not HTTP answers) and the static
files (WhiteNoise answers above this middleware) never pass here compressed.

Validators: the ETag is computed on the uncompressed JSON (ConditionalGetMiddleware sits under this
middleware), so a compressed answer carries it weak (``W/"..."``: the same content, other bytes),
and a client sending it back in ``If-None-Match`` gets its 304 (Django compares ETags weakly there);
the 304 says the same weak ETag and ``Vary: Accept-Encoding``. Answers kept for retried POSTs
(accounts/idempotency.py, under this middleware) are kept uncompressed and compressed, or not,
for the retry's own ``Accept-Encoding``.

Secrets (BREACH): an attacker who can make a victim's browser send requests that reflect chosen
text next to a secret, and watch the compressed sizes, can guess the secret. The API's
credentials are bearer tokens a page cannot make a browser attach (no cookie, the admin's pages
are HTML and never compressed here), so no API answer can be driven that way. The answers that
are credentials themselves (sign-in and refresh tokens, the realtime ticket) are still never
compressed (:func:`uncompressed` on their views): they are small, and it costs nothing to be
sure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin
from django.utils.text import compress_string

ViewT = TypeVar("ViewT")

_COMPRESSIBLE = re.compile(
    r"^\s*application/(json|[\w.+-]+\+json|vnd\.oai\.openapi)\s*(;|$)", re.IGNORECASE
)
_NO_TRANSFORM = re.compile(r"\bno-transform\b", re.IGNORECASE)
_ATTRIBUTE = "response_compression"


def uncompressed(view: ViewT) -> ViewT:
    """Marks a view (a class or a function) whose answers are never compressed: answers that are
    credentials (tokens, tickets). Read from the URL's view, so that a replayed answer of it
    (accounts/idempotency.py) stays uncompressed too."""
    setattr(view, _ATTRIBUTE, False)
    return view


def _accepted(header: str) -> dict[str, float]:
    """``Accept-Encoding`` as {coding: q}; ``*`` stands for any coding not named."""
    codings: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        codings[name] = q
    return codings


def _brotli() -> Any:
    if not settings.COMPRESS_BROTLI:
        return None
    try:
        import brotli
    except ImportError:  # pragma: no cover - a dependency; gzip alone without it
        return None
    return brotli


def choose_coding(header: str) -> str | None:
    """The coding to answer with for this ``Accept-Encoding``: ``br``, ``gzip`` or None."""
    codings = _accepted(header)
    if not codings:
        return None
    default = codings.get("*", 0.0)
    offered = [("br", 2)] if _brotli() is not None else []
    offered.append(("gzip", 1))
    best: tuple[float, int, str] | None = None
    for name, rank in offered:
        q = codings.get(name, default)
        if q > 0 and (best is None or (q, rank) > best[:2]):
            best = (q, rank, name)
    return best[2] if best else None


def _gzip(data: bytes) -> bytes:
    """gzip level 6, no timestamp, and a file name of up to 100 random bytes in the header: the
    defence Django's GZipMiddleware uses against length-based attacks."""
    return compress_string(data, max_random_bytes=100)


def _weak(etag: str) -> str:
    return etag if etag.startswith("W/") else f"W/{etag}"


class CompressionMiddleware(MiddlewareMixin):
    """Placed above ConditionalGetMiddleware (its ETag is the uncompressed body's, its 304 is
    decided first) and the idempotency middleware, under WhiteNoise (backend/settings/base.py)."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not settings.COMPRESS_RESPONSES:
            return response
        if response.status_code == 304:
            return self._not_modified(request, response)
        if (
            response.streaming
            or response.has_header("Content-Encoding")
            or not _COMPRESSIBLE.match(response.get("Content-Type", ""))
            or _NO_TRANSFORM.search(response.get("Cache-Control", ""))
        ):
            return response
        content: bytes = response.content  # type: ignore[attr-defined]
        if len(content) < settings.COMPRESS_MIN_BYTES or not self._allowed(request):
            return response
        # The answer depends on Accept-Encoding from here on, compressed or not.
        patch_vary_headers(response, ("Accept-Encoding",))
        coding = choose_coding(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        if coding is None:
            return response
        if coding == "br":
            packed = _brotli().compress(content, quality=settings.COMPRESS_BROTLI_QUALITY)
        else:
            packed = _gzip(content)
        if len(packed) >= len(content):
            return response
        response.content = packed  # type: ignore[attr-defined]
        response["Content-Length"] = str(len(packed))
        response["Content-Encoding"] = coding
        if response.has_header("ETag"):
            response["ETag"] = _weak(response["ETag"])
        return response

    def _not_modified(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """A 304 to a client that holds the compressed answer (it sent its weak ETag back) says
        that same weak ETag, and varies as the 200 did."""
        etag = response.get("ETag")
        if not etag or not self._allowed(request):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        sent = request.META.get("HTTP_IF_NONE_MATCH", "")
        if not etag.startswith("W/") and _weak(etag) in (tag.strip() for tag in sent.split(",")):
            response["ETag"] = _weak(etag)
        return response

    @staticmethod
    def _allowed(request: HttpRequest) -> bool:
        """Whether the view of this URL lets its answers be compressed (see :func:`uncompressed`).
        The URL is resolved again when no view ran (an answer replayed or refused above it)."""
        match = getattr(request, "resolver_match", None)
        if match is None:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return True
        view: Callable[..., Any] = match.func
        target = getattr(view, "view_class", view)
        return bool(getattr(target, _ATTRIBUTE, getattr(view, _ATTRIBUTE, True)))
