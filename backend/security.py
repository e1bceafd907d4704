"""HTTP hardening that Django's own settings do not cover: request body size limits before any
parsing, the characters allowed in every path and query string, and a Content-Security-Policy on
every response.

All are plain middleware configured from settings (see backend/settings/security.py and
docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from backend.errors import error_body
from backend.inputs import InvalidCharacterError, fields_check, has_invalid_character

UPLOAD_CONTENT_TYPES = ("multipart/form-data",)


class RequestSizeLimitMiddleware:
    """Refuses a body larger than its limit with 413, from its ``Content-Length``, before a
    parser reads it: ``REQUEST_MAX_BODY_BYTES`` for JSON and forms, ``REQUEST_MAX_UPLOAD_BYTES``
    for multipart uploads (photos; each upload endpoint has its own tighter limit as well).

    A body sent without ``Content-Length`` is read as empty by Django, so it needs no check here.
    The server in front (a reverse proxy's ``client_max_body_size``) should refuse such bodies
    before they are buffered at all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(
                error_body("invalid", _("The Content-Length header is invalid.")), status=400
            )
        content_type = str(request.META.get("CONTENT_TYPE") or "").lower()
        upload = content_type.startswith(UPLOAD_CONTENT_TYPES)
        limit = settings.REQUEST_MAX_UPLOAD_BYTES if upload else settings.REQUEST_MAX_BODY_BYTES
        if length > limit:
            return JsonResponse(
                error_body("too_large", _("The request body is too large.")), status=413
            )
        return self.get_response(request)


class InputCharactersMiddleware:
    """Refuses, with 400 ``invalid_character`` before any view, a path or a query parameter (its
    name or a value, once percent-decoded) that holds a character backend/inputs.py refuses:
    NUL and the other C0 controls but tab and line breaks, unpaired surrogates, U+FFFE, U+FFFF.
    Bodies are checked where they are parsed (backend/parsers.py). A query string with more
    than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` parameters is refused with 400 as well.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if has_invalid_character(request.path_info):
            return JsonResponse(
                error_body(
                    "invalid_character", _("The path holds a character that is not allowed.")
                ),
                status=400,
            )
        try:
            fields_check(request.GET.lists())
        except TooManyFieldsSent:
            return JsonResponse(
                error_body("invalid", _("The request has too many fields.")), status=400
            )
        except InvalidCharacterError as error:
            return JsonResponse(
                error_body(error.code, error.message, error.fields), status=error.status_code
            )
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Sets ``Content-Security-Policy`` (unless a view set its own).

    JSON answers get ``CSP_API`` (nothing may load, nothing may frame them); HTML pages get
    ``CSP_PAGES`` (the API docs: scripts and styles served by the project itself, no inline
    script), except under ``/admin/``, which gets ``CSP_ADMIN`` (GeoDjango's map widget writes its
    set-up as an inline script, and its tiles come from ``MAP_TILE_URL``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        content_type = str(response.get("Content-Type", "")).lower()
        if not content_type.startswith("text/html"):
            policy = settings.CSP_API
        elif request.path.startswith("/admin/"):
            policy = settings.CSP_ADMIN
        else:
            policy = settings.CSP_PAGES
        if policy:
            response["Content-Security-Policy"] = policy
        return response
