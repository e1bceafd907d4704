"""Assisted members: residents without a smartphone whom a volunteer of the association registers
and helps at its permanence (a desk in a library, a "maison France services", a relay).

An assisted member is an ordinary ``User`` (every service, loan, order and notification works with
them as the actor), flagged ``is_assisted``, with no address and no usable password (two check
constraints). Their consent to the documents is recorded by the volunteer (``Consent.method``
oral or paper, ``recorded_by``). They can later take their account over: the volunteer gives an
address at the desk, a link goes there, the member chooses a password on the page it opens; the
address is then verified, the flag ends, and with it every volunteer's right to act for them.

Who may act for whom is ``assistance.selectors.assistance_require``: accounts knows no domain.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.mail import mail_to_user
from accounts.models import AccountToken, Consent, User
from accounts.services.credentials import (
    _password_check,
    _reset_send,
    _user_by_email,
    page_url,
)
from accounts.services.tokens import (
    TokenInvalidLinkError,
    account_token_issue,
    account_token_redeem,
)
from accounts.services.users import EmailTakenError, consent_record, email_normalize
from backend.errors import ConflictError, DomainError
from geo.profiles import WALKING_PROFILES

ASSISTED_CONSENT_METHODS = (Consent.Method.ORAL, Consent.Method.PAPER)


class NotAssistedError(ConflictError):
    code = "not_assisted"
    default_message = _("This account is not an assisted member's: its owner manages it.")


def _required(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise DomainError(code="invalid", fields={field: [_("This field is required.")]})
    return value


def assisted_user_create(
    *,
    display_name: str,
    phone: str = "",
    home: Point,
    home_address: str,
    walking_profile: str,
    language: str = User.Language.FRENCH,
    recorded_by: User,
    consent_method: str,
    consent_note: str = "",
) -> User:
    """A new assisted member's account, with the consent ``recorded_by`` took (aloud or on paper)
    to the documents in force. ``home`` is already geocoded (the caller geocodes before its
    transaction, as ``user_update_profile`` does). Call it inside the caller's transaction."""
    display_name = _required("display_name", display_name)[:80]
    if consent_method not in ASSISTED_CONSENT_METHODS:
        raise DomainError(
            code="invalid", fields={"consent_method": [_("Choose how the person consented.")]}
        )
    if walking_profile not in WALKING_PROFILES:
        raise DomainError(
            code="invalid", fields={"walking_profile": [_("Choose a walking profile.")]}
        )
    with transaction.atomic():
        user = User(
            email=None,
            display_name=display_name,
            phone=phone.strip()[:32],
            language=language,
            home=home,
            home_address=home_address[:300],
            walking_profile=walking_profile,
            is_assisted=True,
        )
        user.set_unusable_password()
        user.save()
        consent_record(user=user, method=consent_method, recorded_by=recorded_by, note=consent_note)
    return user


def assisted_consent_renew(*, member: User, recorded_by: User, method: str, note: str = "") -> User:
    """The volunteer reads the documents in force to the member again and records their consent
    (after ``TERMS_VERSION`` or ``PRIVACY_VERSION`` moved on)."""
    if not member.is_assisted:
        raise NotAssistedError()
    if method not in ASSISTED_CONSENT_METHODS:
        raise DomainError(
            code="invalid", fields={"method": [_("Choose how the person consented.")]}
        )
    return consent_record(user=member, method=method, recorded_by=recorded_by, note=note)


def assisted_details_update(
    *, member: User, phone: str | None = None, walking_profile: str | None = None
) -> User:
    """What the volunteer keeps up to date for the member: the phone number, the walking
    profile (the home moves through ``accounts.homes.profile_update``, which moves what follows
    it)."""
    if not member.is_assisted:
        raise NotAssistedError()
    fields = []
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=member.pk)
        if phone is not None:
            locked.phone = phone.strip()[:32]
            fields.append("phone")
        if walking_profile is not None:
            if walking_profile not in WALKING_PROFILES:
                raise DomainError(
                    code="invalid", fields={"walking_profile": [_("Choose a walking profile.")]}
                )
            locked.walking_profile = walking_profile
            fields.append("walking_profile")
        if fields:
            locked.save(update_fields=fields)
    return locked


def assisted_take_over_request(*, member: User, email: str) -> None:
    """The member gives an address to take their account over: a link goes to it (valid
    ``ACCOUNT_VERIFY_EMAIL_HOURS``), which opens the page where they choose a password. An
    address that already has an account gets the usual "an account exists" mail instead, and
    the answer is the same (nothing tells whether an address has an account)."""
    if not member.is_assisted:
        raise NotAssistedError()
    email = email_normalize(email)
    if "@" not in email or len(email) > 254:
        raise DomainError(code="invalid", fields={"email": [_("Enter a valid e-mail address.")]})
    with transaction.atomic():
        owner = _user_by_email(email)
        if owner is not None:
            _reset_send(owner, "account_exists")
            return
        hours = settings.ACCOUNT_VERIFY_EMAIL_HOURS
        secret = account_token_issue(
            user=member,
            purpose=AccountToken.Purpose.TAKE_OVER,
            email=email,
            lifetime=timedelta(hours=hours),
        )
        mail_to_user(
            member,
            "assisted_take_over",
            {"url": page_url("take-over", secret), "hours": hours, "email": email},
            to=email,
        )


def assisted_take_over(*, secret: str, password: str) -> User:
    """Redeems a take-over link: the address it went to becomes the member's (verified), with
    ``password``; the account is no longer assisted, and no volunteer may act for it any more.
    An address taken meanwhile is refused (``email_taken``), as is an account no longer assisted
    (``token_invalid``)."""
    with transaction.atomic():
        token = account_token_redeem(secret=secret, purpose=AccountToken.Purpose.TAKE_OVER)
        user = User.objects.select_for_update().get(pk=token.user_id)
        if not user.is_assisted or user.deleted_at is not None:
            raise TokenInvalidLinkError(fields={"token": [TokenInvalidLinkError.default_message]})
        taken = (
            User.objects.alias(email_lower=Lower("email"))
            .filter(email_lower=token.email)
            .exclude(pk=user.pk)
            .exists()
        )
        if taken:
            raise EmailTakenError()
        _password_check(password, user)
        user.email = token.email
        user.email_verified_at = timezone.now()
        user.is_assisted = False
        user.set_password(password)
        user.save(update_fields=["email", "email_verified_at", "is_assisted", "password"])
        mail_to_user(
            user,
            "password_changed",
            {"url": f"{settings.PUBLIC_BASE_URL}/account/forgot-password"},
        )
    return user
