"""The page a short code's QR code opens when no app catches it: ``/i/<code>``, printed on the
association's noticeboard sheets (``sharing/codes.py``).

Nothing of the item is shown without signing in: a resident is told to open the app (which asks
``GET /api/v1/items/by-code/<code>``) or to ask the association with the code. A volunteer signed
in to the panel who runs a neighbourhood of the item's owner is sent to the item's page there.
French or English, from the browser's language (LocaleMiddleware).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation

from sharing.codes import item_code_read
from sharing.selectors_paper import item_code_for_staff


def item_code_page(request: HttpRequest, code: str) -> HttpResponse:
    # What cannot be a code is not a page (404), whatever the method; a code is only read.
    found = item_code_read(code)
    if found is not None and request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if found is not None:
        item_id = item_code_for_staff(request.user, found)
        if item_id is not None:
            response: HttpResponse = HttpResponseRedirect(
                reverse("admin:sharing_item_change", args=[item_id])
            )
            response["Cache-Control"] = "private, no-store"
            return response
    response = render(
        request,
        "sharing/item_code.html",
        {"code": found, "language": translation.get_language() or "fr"},
        status=200 if found is not None else 404,
    )
    # The same answer whether the code is someone's or not: a well-formed code says nothing.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
