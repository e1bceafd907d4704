"""Registration, address verification, password reset and change, change of address.

None of these tells an outsider whether an address has an account: registering a taken address
answers as registering a new one (the owner gets a mail instead), and a reset is asked in the
background whatever the address. Every mail goes through ``accounts.mail`` (after the commit).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.mail import mail_to_user
from accounts.models import AccountToken, User
from accounts.services.sessions import sessions_end_all
from accounts.services.tokens import account_token_issue, account_token_redeem
from accounts.services.users import EmailTakenError, email_normalize, user_create
from backend.errors import DomainError

logger = logging.getLogger(__name__)

Purpose = AccountToken.Purpose


class WrongPasswordError(DomainError):
    code = "wrong_password"
    default_message = _("The password is not right.")


class ConsentOutdatedError(DomainError):
    code = "consent_required"
    default_message = _(
        "Accept the terms of use and the privacy notice in force (GET /api/v1/legal)."
    )


class SameEmailError(DomainError):
    code = "same_email"
    default_message = _("This is already your address.")


def page_url(path: str, secret: str) -> str:
    """A link of a mail: a page of this server (or the app, by universal links) with its token."""
    return f"{settings.PUBLIC_BASE_URL}/account/{path}?{urlencode({'token': secret})}"


def _user_by_email(email: str) -> User | None:
    return (
        User.objects.alias(email_lower=Lower("email"))
        .filter(email_lower=email, is_active=True, deleted_at__isnull=True)
        .first()
    )


def _password_check(password: str, user: User, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        raise DomainError(fields={field: list(error.messages)}) from error


def _verification_send(user: User, email: str, *, change: bool) -> None:
    hours = settings.ACCOUNT_VERIFY_EMAIL_HOURS
    secret = account_token_issue(
        user=user, purpose=Purpose.VERIFY_EMAIL, email=email, lifetime=timedelta(hours=hours)
    )
    mail_to_user(
        user,
        "verify_email",
        {"url": page_url("verify-email", secret), "hours": hours, "change": change},
        to=email,
    )


def _reset_send(user: User, template: str = "password_reset") -> None:
    if not user.email:
        return  # an assisted member: no address to send a link to (accounts.services.assisted)
    minutes = settings.ACCOUNT_PASSWORD_RESET_MINUTES
    secret = account_token_issue(
        user=user,
        purpose=Purpose.PASSWORD_RESET,
        email=user.email,
        lifetime=timedelta(minutes=minutes),
    )
    mail_to_user(user, template, {"url": page_url("reset-password", secret), "minutes": minutes})


def registration_request(
    *,
    email: str,
    password: str,
    display_name: str,
    language: str,
    terms_version: str,
    privacy_version: str,
) -> None:
    """Registers a new address (unverified, with a verification mail) or, for an address that
    has an account, mails its owner instead. The caller answers the same either way."""
    if terms_version != settings.TERMS_VERSION or privacy_version != settings.PRIVACY_VERSION:
        raise ConsentOutdatedError()
    email = email_normalize(email)
    with transaction.atomic():
        existing = _user_by_email(email)
        if existing is None:
            try:
                with transaction.atomic():
                    user = user_create(
                        email=email,
                        password=password,
                        display_name=display_name,
                        language=language,
                        documents_accepted=True,
                    )
            except (EmailTakenError, IntegrityError):
                existing = _user_by_email(email)
            else:
                _verification_send(user, email, change=False)
                return
        # The same work as a new account (hashing the password), then a mail to the owner.
        make_password(password)
        if existing is not None:
            _reset_send(existing, "account_exists")


def email_verification_resend(*, user: User) -> None:
    """Sends the verification mail again (for the current address, or a change waiting)."""
    pending = (
        AccountToken.objects.filter(user=user, purpose=Purpose.VERIFY_EMAIL, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    with transaction.atomic():
        if pending is not None and pending.email != user.email:
            _verification_send(user, pending.email, change=True)
        elif user.email_verified_at is None and user.email:
            _verification_send(user, user.email, change=False)


def email_verify(*, secret: str) -> User:
    """Redeems a verification link: the address is the person's (and becomes their address, for a
    change). A change to an address taken meanwhile is refused (``email_taken``)."""
    with transaction.atomic():
        token = account_token_redeem(secret=secret, purpose=Purpose.VERIFY_EMAIL)
        user = User.objects.select_for_update().get(pk=token.user_id)
        now = timezone.now()
        if token.email != user.email:
            taken = (
                User.objects.alias(email_lower=Lower("email"))
                .filter(email_lower=token.email)
                .exclude(pk=user.pk)
                .exists()
            )
            if taken:
                raise EmailTakenError()
            user.email = token.email
        user.email_verified_at = now
        user.save(update_fields=["email", "email_verified_at"])
    return user


def email_change_request(*, user: User, email: str, password: str) -> None:
    """Asks to move the account to ``email``: a verification link goes to the new address and a
    notice to the old one; the address changes only when the link is opened."""
    if not user.check_password(password):
        raise WrongPasswordError(fields={"password": [WrongPasswordError.default_message]})
    email = email_normalize(email)
    if email == user.email:
        raise SameEmailError(fields={"email": [SameEmailError.default_message]})
    with transaction.atomic():
        owner = _user_by_email(email)
        if owner is not None:
            # Never say that the address has an account: its owner is told instead.
            _reset_send(owner, "account_exists")
            return
        _verification_send(user, email, change=True)
        mail_to_user(
            user,
            "email_changing",
            {
                "new_email_masked": email_mask(email),
                "url": f"{settings.PUBLIC_BASE_URL}/account/forgot-password",
            },
        )


def email_mask(email: str) -> str:
    """``camille.martin@example.org`` -> ``ca***@example.org``."""
    local, _at, domain = email.partition("@")
    return f"{local[:2]}***@{domain}"


def password_reset_request(*, email: str) -> None:
    """Sends a reset link if ``email`` has an account, nothing otherwise; in the background, so
    the answer takes the same time either way."""
    from accounts.tasks import password_reset_send  # the task module calls this one

    email = email_normalize(email)

    def enqueue() -> None:
        try:
            password_reset_send.delay(email)
        except Exception:
            logger.warning("broker unavailable: password reset sent in the request")
            password_reset_send_now(email=email)

    transaction.on_commit(enqueue)


def password_reset_send_now(*, email: str) -> bool:
    with transaction.atomic():
        user = _user_by_email(email)
        if user is None:
            return False
        _reset_send(user)
    return True


def password_reset_confirm(*, secret: str, password: str) -> User:
    """Sets the password from a reset link; every session of the person ends, and the address is
    verified (the person read a mail sent to it)."""
    with transaction.atomic():
        token = account_token_redeem(secret=secret, purpose=Purpose.PASSWORD_RESET)
        user = User.objects.select_for_update().get(pk=token.user_id)
        if token.email != user.email:
            raise DomainError(code="token_invalid", message=_("This link is not valid."))
        _password_check(password, user)
        user.set_password(password)
        fields = ["password"]
        if user.email_verified_at is None:
            user.email_verified_at = timezone.now()
            fields.append("email_verified_at")
        user.save(update_fields=fields)
        sessions_end_all(user=user)
        mail_to_user(
            user,
            "password_changed",
            {"url": f"{settings.PUBLIC_BASE_URL}/account/forgot-password"},
        )
    return user


def password_change(
    *, user: User, current_password: str, new_password: str, keep_session: str | None
) -> User:
    """Changes the password; the person's other sessions end (``keep_session`` stays)."""
    if not user.check_password(current_password):
        raise WrongPasswordError(fields={"current_password": [WrongPasswordError.default_message]})
    _password_check(new_password, user, field="new_password")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.set_password(new_password)
        locked.save(update_fields=["password"])
        sessions_end_all(user=locked, keep=keep_session)
        mail_to_user(
            locked,
            "password_changed",
            {"url": f"{settings.PUBLIC_BASE_URL}/account/forgot-password"},
        )
    return locked
