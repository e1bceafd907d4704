"""Trailing slashes: an API path answers the same with or without its trailing slash.

The routes keep the form ../shared/API.md gives them (``/api/v1/items/``, ``/api/v1/me``), and
the OpenAPI schema lists that form only. A request for the other form of a route that exists
(``POST /api/v1/items``, ``GET /api/v1/me/``) is served by that route, as it is: no redirect,
which a client would follow with a GET and without its body, and no ``RuntimeError`` (Django's
``APPEND_SLASH`` raises one for a POST with ``DEBUG`` on). Outside ``/api/`` (the admin),
Django's redirect to the slashed path stays for GET and HEAD; other methods get a 404 instead of
a redirect that would lose their body.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.middleware import common
from django.urls import is_valid_path

API_PREFIX = "/api/"


def twin_path(request: HttpRequest) -> str | None:
    """The other form (with or without its trailing slash) of the request's API path, if the
    path itself matches no route and its twin does."""
    path = request.path_info
    if not path.startswith(API_PREFIX):
        return None
    urlconf = getattr(request, "urlconf", None)
    if is_valid_path(path, urlconf):
        return None
    twin = path[:-1] if path.endswith("/") else path + "/"
    return twin if is_valid_path(twin, urlconf) else None


class CommonMiddleware(common.CommonMiddleware):
    """Django's ``CommonMiddleware``, with the trailing-slash rule of this module."""

    def process_request(self, request: HttpRequest) -> HttpResponsePermanentRedirect | None:
        response = super().process_request(request)
        if response is None:
            twin = twin_path(request)
            if twin is not None:
                prefix = request.path[: len(request.path) - len(request.path_info)]
                request.path_info = twin
                request.path = prefix + twin
        return response

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if request.path_info.startswith(API_PREFIX) or request.method not in ("GET", "HEAD"):
            return False
        return super().should_redirect_with_slash(request)
