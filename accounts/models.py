"""The custom user: a resident, a courier or association staff.

The home location is private: it never leaves the server in any response about another person.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.gis.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geo.models import SnappedPlace
from geo.profiles import WALKING_PROFILES

FORMER_MEMBER = _("former member")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # Emails are unique case-insensitively (see the Lower("email") constraint): log in with any
        # case. Filtering on Lower("email") lets PostgreSQL use that constraint's index.
        return self.alias(email_lower=Lower("email")).get(
            email_lower=(username or "").strip().lower()
        )

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class WalkingProfile(models.TextChoices):
    """How a person gets about: the walking profiles of ``geo.profiles.WALKING_PROFILES``."""

    WALK = "walk", _("walking")
    SLOW = "slow", _("walking slowly")
    WHEELCHAIR = "wheelchair", _("wheelchair")


class User(SnappedPlace, AbstractBaseUser, PermissionsMixin):
    class Language(models.TextChoices):
        FRENCH = "fr", _("French")
        ENGLISH = "en", _("English")

    snapped_field = "home"  # where the home meets the street network (geo.snapping)

    # Everyone signs in with their address, but for an assisted member (``is_assisted``): a
    # resident without a smartphone whom a volunteer of the association registered and helps at
    # its permanence. They have no address (none is made up) and no usable password until they
    # take their account over (``accounts.services.assisted``); a check constraint holds it.
    email = models.EmailField(_("email"), unique=True, null=True, blank=True)
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.FRENCH
    )
    home = models.PointField(
        _("home"), srid=settings.GEO_SRID, geography=True, null=True, blank=True
    )
    home_address = models.CharField(_("home address"), max_length=300, blank=True)
    # How the association reaches an assisted member (never shown to other residents).
    phone = models.CharField(_("phone number"), max_length=32, blank=True)
    is_assisted = models.BooleanField(
        _("assisted member"),
        default=False,
        help_text=_(
            "Registered by a volunteer, who acts on their behalf at the association's permanence."
        ),
    )
    notification_preferences = models.JSONField(default=dict, blank=True)
    # How the person gets about on foot or wheels: the default profile wherever "near" is
    # computed for them (nearby items, their wanted requests, relay points); an explicit
    # ``profile`` in a request still wins.
    walking_profile = models.CharField(
        _("walking profile"),
        max_length=16,
        choices=WalkingProfile.choices,
        default=WalkingProfile.WALK,
    )
    # When the person proved they read mail at ``email`` (None: not yet). Anything that relies on
    # the address (matching a merchant's order, mail digests) waits for it.
    email_verified_at = models.DateTimeField(_("email verified at"), null=True, blank=True)
    # The versions of the terms and of the privacy notice this person last accepted (the history
    # is in Consent); settings.TERMS_VERSION / PRIVACY_VERSION moving on asks again.
    terms_version = models.CharField(_("terms version"), max_length=20, blank=True)
    privacy_version = models.CharField(_("privacy notice version"), max_length=20, blank=True)
    # The last mail digest of notifications (at most one per NOTIFICATIONS_EMAIL_DIGEST_MINUTES).
    email_digest_sent_at = models.DateTimeField(null=True, blank=True)
    # Set when the person deleted their account (RGPD art. 17): the row stays as a pseudonymous
    # "former member" for what others need (loans, messages, ratings), with nothing of the person.
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(
                condition=Q(language__in=["fr", "en"]), name="accounts_user_language_valid"
            ),
            models.CheckConstraint(
                condition=Q(walking_profile__in=list(WALKING_PROFILES)),
                name="accounts_user_walking_profile_valid",
            ),
            # An address for everyone but an assisted member, who has none (never a made-up one).
            models.CheckConstraint(
                condition=Q(is_assisted=False, email__isnull=False)
                | Q(is_assisted=True, email__isnull=True),
                name="accounts_user_email_unless_assisted",
            ),
            # Nobody logs in to an assisted account: its password is unusable (Django's "!...").
            models.CheckConstraint(
                condition=Q(is_assisted=False) | Q(password__startswith="!"),  # noqa: S106
                name="accounts_user_assisted_no_password",
            ),
        ]

    @property
    def public_name(self) -> str:
        """What other residents see of this person: the display name, else the email's local part
        (never the whole address); "former member" once the account is deleted."""
        if self.deleted_at is not None:
            return str(FORMER_MEMBER)
        return self.display_name or (self.email or "").split("@")[0]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def __str__(self) -> str:
        return self.display_name or self.email or f"#{self.pk}"


class Consent(models.Model):
    """One acceptance of a document's version: the history behind ``User.terms_version`` and
    ``User.privacy_version``."""

    class Document(models.TextChoices):
        TERMS = "terms", _("terms of use")
        PRIVACY = "privacy", _("privacy notice")

    class Method(models.TextChoices):
        """How the person consented: in the app themself, or to a volunteer of the association
        (an assisted member: aloud at the desk, or on a signed paper form)."""

        APP = "app", _("in the app, by the person")
        ORAL = "oral", _("aloud, to a volunteer at the association's desk")
        PAPER = "paper", _("on a paper form signed at the association's desk")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    document = models.CharField(max_length=8, choices=Document.choices)
    version = models.CharField(max_length=20)
    accepted_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.APP)
    # The volunteer who read the documents to the person and recorded their consent (oral or
    # paper); nobody for a consent given in the app.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Where the proof is kept (e.g. "paper form filed in the desk's binder, 2026").
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "document", "version"], name="accounts_consent_once_per_version"
            ),
            models.CheckConstraint(
                condition=Q(document__in=["terms", "privacy"]), name="accounts_consent_document"
            ),
            models.CheckConstraint(
                condition=Q(method__in=["app", "oral", "paper"]), name="accounts_consent_method"
            ),
            # A consent given in the app is the person's own: nobody recorded it for them.
            models.CheckConstraint(
                condition=~Q(method="app") | Q(recorded_by__isnull=True),
                name="accounts_consent_app_is_own",
            ),
        ]


class AuthSession(models.Model):
    """A signed-in app: the chain of refresh tokens from one login.

    Each refresh rotates the token: ``refresh_jti`` is the only one accepted (``previous_jti``
    within a short grace, for an app whose answer was lost). Every access token names its
    session (the ``sid`` claim), so revoking the session refuses its access tokens at once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_sessions"
    )
    name = models.CharField(max_length=120, blank=True)
    refresh_jti = models.CharField(max_length=64, unique=True)
    previous_jti = models.CharField(max_length=64, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"], name="accounts_session_user")]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class AccountToken(models.Model):
    """A single-use, expiring secret sent by mail (address verification, password reset).

    Only the SHA-256 of the secret is stored: a copy of the database opens no account.
    """

    class Purpose(models.TextChoices):
        VERIFY_EMAIL = "verify_email", _("address verification")
        PASSWORD_RESET = "password_reset", _("password reset")
        # An assisted member takes their account over: the address the link went to becomes
        # theirs, with the password they choose.
        TAKE_OVER = "take_over", _("taking over an assisted account")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_tokens"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    # The address the token proves (the new one, for a change of address).
    email = models.EmailField()
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=["verify_email", "password_reset", "take_over"]),
                name="accounts_token_purpose",
            )
        ]


class DataExport(models.Model):
    """A copy of a person's data (RGPD art. 15 and 20): a zip built by a Celery job."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.CharField(max_length=300, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            # One export at a time per person: a second request while one runs is refused.
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["pending", "running"]),
                name="accounts_export_one_running",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="accounts_export_progress_range"
            ),
        ]


class MailOutbox(models.Model):
    """A rendered mail waiting for the mail server. Written in the transaction that decided to
    send it, handed to Celery after the commit, deleted once the server took it: a mail server or
    a broker that is down delays a mail, never loses it (the sweep sends what is due)."""

    to = models.EmailField()
    subject = models.CharField(max_length=200)
    text = models.TextField()
    html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)


class IdempotencyRecord(models.Model):
    """The first answer to a person's POST with an ``Idempotency-Key`` (accounts/idempotency.py):
    the same key and body within ``IDEMPOTENCY_HOURS`` replays it without acting again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField(max_length=255)
    # What was asked: the method and path, and the SHA-256 of the body.
    request_digest = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField()
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="accounts_idempotency_key_once")
        ]
