"""The few pages a mail's link opens when no app catches it (a computer, a phone without the
app): confirm an address, choose a new password, ask for a reset, read the documents.

Opening a link never changes anything (mail scanners open links): each page shows a button that
posts, and the post calls the same services as the API. French or English, from the browser's
language (LocaleMiddleware).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.services.assisted import assisted_take_over
from accounts.services.credentials import (
    email_verify,
    password_reset_confirm,
    password_reset_request,
)
from accounts.services.tokens import TOKEN_SHAPE
from backend.errors import DomainError
from backend.throttling import AccountLinkThrottle, PasswordResetIPThrottle


def _page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("language", translation.get_language() or "fr")
    context.setdefault("labels", {})
    return render(request, "accounts/page.html", context, status=status)


def _throttled(request: HttpRequest, throttle: Any) -> bool:
    return not throttle.allow_request(request, None)


def _form(request: HttpRequest) -> dict[str, str]:
    """The posted form's fields; none for a body that is not a form Django can read (not UTF-8,
    broken multipart): the page then answers 400 as for a missing field."""
    if request.method != "POST":
        return {}
    try:
        return {key: str(value) for key, value in request.POST.items()}
    except (BadRequest, MultiPartParserError, UnicodeDecodeError, ValueError):
        return {}


def _token(request: HttpRequest) -> str:
    source = _form(request) if request.method == "POST" else request.GET
    token = str(source.get("token", ""))
    return token if TOKEN_SHAPE.match(token) else ""


def _password_refused(
    request: HttpRequest, error: DomainError, *, title: str, token: str, labels: dict[str, str]
) -> HttpResponse:
    """A password form refused: the form again with what is wrong with the password, or the
    reason the link cannot be used."""
    errors = [str(m) for messages in error.fields.values() for m in messages]
    if error.code == "invalid" and errors:
        return _page(
            request, 400, title=title, form="password", token=token, labels=labels, errors=errors
        )
    return _page(request, 400, title=title, message=str(error.message))


@require_http_methods(["GET", "POST"])
def verify_email(request: HttpRequest) -> HttpResponse:
    title = _("Confirm your address")
    token = _token(request)
    if not token:
        return _page(request, 400, title=title, message=_("This link is not valid."))
    if request.method == "GET":
        return _page(
            request,
            title=title,
            form="confirm",
            token=token,
            labels={"submit": _("Confirm my address")},
        )
    if _throttled(request, AccountLinkThrottle()):
        return _page(request, 429, title=title, message=_("Too many attempts: try later."))
    try:
        email_verify(secret=token)
    except DomainError as error:
        return _page(request, 400, title=title, message=str(error.message))
    return _page(request, title=title, ok=True, message=_("Your address is confirmed."))


@require_http_methods(["GET", "POST"])
def reset_password(request: HttpRequest) -> HttpResponse:
    title = _("Choose a new password")
    token = _token(request)
    labels = {"password": _("New password"), "submit": _("Save the password")}
    if not token:
        return _page(request, 400, title=title, message=_("This link is not valid."))
    if request.method == "GET":
        return _page(request, title=title, form="password", token=token, labels=labels)
    if _throttled(request, AccountLinkThrottle()):
        return _page(request, 429, title=title, message=_("Too many attempts: try later."))
    try:
        password_reset_confirm(secret=token, password=_form(request).get("password", ""))
    except DomainError as error:
        return _password_refused(request, error, title=title, token=token, labels=labels)
    return _page(
        request,
        title=title,
        ok=True,
        message=_("Your password has changed. Log in with it in the app."),
    )


@require_http_methods(["GET", "POST"])
def take_over(request: HttpRequest) -> HttpResponse:
    """An assisted member takes their account over: the link's address becomes theirs, with the
    password they choose here (``accounts.services.assisted``)."""
    title = _("Take your account over")
    token = _token(request)
    labels = {"password": _("Choose a password"), "submit": _("Take my account over")}
    if not token:
        return _page(request, 400, title=title, message=_("This link is not valid."))
    if request.method == "GET":
        return _page(request, title=title, form="password", token=token, labels=labels)
    if _throttled(request, AccountLinkThrottle()):
        return _page(request, 429, title=title, message=_("Too many attempts: try later."))
    try:
        user = assisted_take_over(secret=token, password=_form(request).get("password", ""))
    except DomainError as error:
        return _password_refused(request, error, title=title, token=token, labels=labels)
    return _page(
        request,
        title=title,
        ok=True,
        message=_("Your account is yours: log in to the app with %(email)s and this password.")
        % {"email": user.email},
    )


@require_http_methods(["GET", "POST"])
def forgot_password(request: HttpRequest) -> HttpResponse:
    title = _("Forgot your password?")
    labels = {"email": _("Your e-mail address"), "submit": _("Send me a link")}
    if request.method == "GET":
        return _page(request, title=title, form="email", labels=labels)
    if _throttled(request, PasswordResetIPThrottle()):
        return _page(request, 429, title=title, message=_("Too many attempts: try later."))
    email = _form(request).get("email", "").strip()
    if "@" not in email or len(email) > 254:
        return _page(
            request,
            400,
            title=title,
            form="email",
            labels=labels,
            errors=[_("Enter a valid e-mail address.")],
        )
    password_reset_request(email=email)
    return _page(
        request,
        title=title,
        ok=True,
        message=_("If this address has an account, a link to choose a new password is on its way."),
    )


def legal(request: HttpRequest, document: str) -> HttpResponse:
    if document == "terms":
        title = _("Terms of use")
        version = settings.TERMS_VERSION
        body = _(
            "Voisinage is run by your neighbourhood's association. You lend and borrow between "
            "neighbours in good faith, return what you borrow in the state you received it, and "
            "respect the people you meet. The association may suspend an account that abuses "
            "the service. You can delete your account at any time from the app."
        )
    else:
        title = _("Privacy notice")
        version = settings.PRIVACY_VERSION
        body = _(
            "We keep what the service needs: your account, your home (never shown to anyone: "
            "others see a blurred place and a rough walking time), your items, loans, messages "
            "and parcels. Each kind of data is kept for a set time, written in the project's "
            "docs/security.md. You can download all your data (Profile > Export) and delete "
            "your account (Profile > Delete) at any time; write to your association for any "
            "other request."
        )
    return _page(request, title=f"{title} ({version})", body=body)
