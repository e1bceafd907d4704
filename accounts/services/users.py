"""Every write to accounts: registration, profile changes, the demo residents."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.contrib.auth.models import BaseUserManager
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, DEMO_RESIDENTS
from accounts.geocoding import GeocodedAddress, geocode_address
from accounts.models import Consent, User
from accounts.preferences import notification_preferences_merge
from backend.errors import DomainError


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET: Final = _Unset.UNSET
"""A keyword argument left out: "do not change this field" (``None`` may be a value)."""


class EmailTakenError(DomainError):
    code = "email_taken"
    default_message = _("An account with this email address already exists.")

    def __init__(self) -> None:
        super().__init__(fields={"email": [self.default_message]})


class HomeConflictError(DomainError):
    code = "home_conflict"
    default_message = _("Give either a home point or a home address to geocode, not both.")


def email_normalize(email: str) -> str:
    """Emails are stored lower-case and unique whatever their case."""
    return BaseUserManager.normalize_email(email.strip()).lower()


def _email_taken(email: str) -> bool:
    return User.objects.alias(email_lower=Lower("email")).filter(email_lower=email).exists()


def _user_lock(*, user_id: int) -> User:
    """The user's row, locked until the end of the transaction."""
    return User.objects.select_for_update().get(pk=user_id)


def user_create(
    *,
    email: str,
    password: str | None,
    display_name: str = "",
    language: str = User.Language.FRENCH,
    home: Point | None = None,
    home_address: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    email_verified: bool = False,
    documents_accepted: bool = False,
) -> User:
    """A new account. ``password`` is stored hashed (``None``: no password login).

    ``email_verified``: the address is known to be the person's (the demo, an association's
    command). ``documents_accepted``: the person accepted the terms and privacy notice in force
    (recorded in ``Consent``).

    Password strength is checked at the edge (the registration serializer), not here, so that
    commands can create accounts with known passwords.
    Raises :class:`EmailTakenError` when the email is in use, whatever its case.
    """
    email = email_normalize(email)
    if _email_taken(email):
        raise EmailTakenError()
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email,
                password=password,
                display_name=display_name,
                language=language,
                home=home,
                home_address=home_address,
                is_staff=is_staff,
                is_superuser=is_superuser,
                email_verified_at=timezone.now() if email_verified else None,
            )
            if documents_accepted:
                consent_record(user=user)
            return user
    except IntegrityError as error:
        # Another request registered the same email between the check and the insert.
        if _email_taken(email):
            raise EmailTakenError() from error
        raise


def user_update_profile(
    *,
    user: User,
    display_name: str | _Unset = UNSET,
    language: str | _Unset = UNSET,
    walking_profile: str | _Unset = UNSET,
    home: Point | _Unset | None = UNSET,
    home_address: str | _Unset = UNSET,
    notification_preferences: dict[str, Any] | _Unset = UNSET,
    home_moved: Callable[[User], object] | None = None,
) -> User:
    """Change what is given of a resident's own profile; returns the updated user.

    The home is either a point (``home``; ``None`` removes it, with its address) or an address to
    geocode (``home_address``), never both. Geocoding happens before the transaction, so no row
    lock is held while a remote service answers; when it fails, nothing changes.
    ``notification_preferences`` merges into the stored ones (see
    :func:`accounts.preferences.notification_preferences_merge`). When the home changes,
    ``home_moved`` runs in the same transaction (``accounts.homes`` passes what follows a home).
    """
    if not isinstance(home, _Unset) and not isinstance(home_address, _Unset):
        raise HomeConflictError(
            fields={
                "home": [HomeConflictError.default_message],
                "home_address": [HomeConflictError.default_message],
            }
        )
    geocoded: GeocodedAddress | None = None
    if not isinstance(home_address, _Unset):
        geocoded = geocode_address(home_address)

    with transaction.atomic():
        locked = _user_lock(user_id=user.pk)
        changed: list[str] = []
        if not isinstance(display_name, _Unset):
            locked.display_name = display_name
            changed.append("display_name")
        if not isinstance(language, _Unset):
            locked.language = language
            changed.append("language")
        if not isinstance(walking_profile, _Unset):
            locked.walking_profile = walking_profile
            changed.append("walking_profile")
        if geocoded is not None:
            locked.home = geocoded.point
            locked.home_address = geocoded.label or str(home_address)
            changed += ["home", "home_address"]
        elif not isinstance(home, _Unset):
            locked.home = home
            locked.home_address = ""
            changed += ["home", "home_address"]
        if not isinstance(notification_preferences, _Unset):
            locked.notification_preferences = notification_preferences_merge(
                locked.notification_preferences, notification_preferences
            )
            changed.append("notification_preferences")
        if changed:
            locked.save(update_fields=changed)
        if "home" in changed and home_moved is not None:
            home_moved(locked)
    return locked


def consent_record(
    *,
    user: User,
    terms_version: str | None = None,
    privacy_version: str | None = None,
    method: str = Consent.Method.APP,
    recorded_by: User | None = None,
    note: str = "",
) -> User:
    """The person accepts the terms and the privacy notice (the versions in force by default):
    one ``Consent`` row per document and version, the latest on the user.

    ``method``: in the app (the person themself), or aloud or on paper to ``recorded_by``, a
    volunteer of the association (an assisted member's consent), with ``note`` saying where the
    proof is kept."""
    terms_version = terms_version or settings.TERMS_VERSION
    privacy_version = privacy_version or settings.PRIVACY_VERSION
    if method == Consent.Method.APP:
        recorded_by, note = None, ""
    now = timezone.now()
    with transaction.atomic():
        for document, version in (
            (Consent.Document.TERMS, terms_version),
            (Consent.Document.PRIVACY, privacy_version),
        ):
            Consent.objects.get_or_create(
                user=user,
                document=document,
                version=version,
                defaults={
                    "accepted_at": now,
                    "method": method,
                    "recorded_by": recorded_by,
                    "note": note[:200],
                },
            )
        User.objects.filter(pk=user.pk).update(
            terms_version=terms_version, privacy_version=privacy_version
        )
        user.terms_version, user.privacy_version = terms_version, privacy_version
    return user


@dataclass(frozen=True)
class DemoSeedResult:
    created: list[str]
    existing: list[str]


@transaction.atomic
def demo_users_seed() -> DemoSeedResult:
    """The demo residents and the demo staff account; those that already exist are left as they
    are, so running it again changes nothing."""
    created: list[str] = []
    existing: list[str] = []
    for resident in DEMO_RESIDENTS:
        if _email_taken(resident.email):
            existing.append(resident.email)
            continue
        user_create(
            email=resident.email,
            password=DEMO_PASSWORD,
            display_name=resident.display_name,
            language=resident.language,
            home=Point(resident.lon, resident.lat, srid=settings.GEO_SRID),
            home_address=resident.home_address,
            email_verified=True,
            documents_accepted=True,
        )
        created.append(resident.email)
    if _email_taken(DEMO_ADMIN_EMAIL):
        existing.append(DEMO_ADMIN_EMAIL)
    else:
        user_create(
            email=DEMO_ADMIN_EMAIL,
            password=DEMO_PASSWORD,
            display_name="Admin Voisinage",
            is_staff=True,
            is_superuser=True,
            email_verified=True,
            documents_accepted=True,
        )
        created.append(DEMO_ADMIN_EMAIL)
    return DemoSeedResult(created=created, existing=existing)
