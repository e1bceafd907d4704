"""The one page of notifications outside the API: turning mail digests off from a link in a mail,
without signing in.

``GET /email/unsubscribe?token=...`` shows a confirmation (mail scanners open links: a GET
changes nothing); ``POST`` to the same address turns the digests off, from the page's button or
from a mail client's one-click unsubscribe (RFC 8058: the body ``List-Unsubscribe=One-Click`` is
not even read; the token in the address is the authority, so no CSRF token is asked). A forged or
altered token gets a 400 and changes nothing.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from backend.errors import error_body
from notifications.services.digest import email_unsubscribe, unsubscribe_user


def _refused(request: HttpRequest) -> HttpResponse:
    """A browser gets a page; any other client (no ``text/html`` in ``Accept``) the API's error
    format."""
    if "text/html" not in request.headers.get("Accept", ""):
        message = _("This unsubscribe link is not valid.")
        return JsonResponse(error_body("invalid_token", message, {"token": [message]}), status=400)
    language = translation.get_language() or "fr"
    return render(
        request,
        "notifications/unsubscribe.html",
        {"state": "invalid", "language": "en" if language.startswith("en") else "fr"},
        status=400,
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def email_unsubscribe_page(request: HttpRequest) -> HttpResponse:
    # The token is read from the address only: the body of a POST is never parsed.
    token = request.GET.get("token", "")
    user = email_unsubscribe(token=token) if request.method == "POST" else unsubscribe_user(token)
    if user is None:
        return _refused(request)
    response = render(
        request,
        "notifications/unsubscribe.html",
        {
            "state": "done" if request.method == "POST" else "confirm",
            "language": user.language,
            "token": token,
        },
    )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
