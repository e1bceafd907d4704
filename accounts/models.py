"""The custom user: a resident, a courier or association staff.

The home location is private: it never leaves the server in any response about another person.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.gis.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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


class User(AbstractBaseUser, PermissionsMixin):
    class Language(models.TextChoices):
        FRENCH = "fr", _("French")
        ENGLISH = "en", _("English")

    email = models.EmailField(_("email"), unique=True)
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.FRENCH
    )
    home = models.PointField(
        _("home"), srid=settings.GEO_SRID, geography=True, null=True, blank=True
    )
    home_address = models.CharField(_("home address"), max_length=300, blank=True)
    notification_preferences = models.JSONField(default=dict, blank=True)
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
        ]

    @property
    def public_name(self) -> str:
        """What other residents see of this person: the display name, else the email's local part
        (never the whole address)."""
        return self.display_name or self.email.split("@")[0]

    def __str__(self) -> str:
        return self.display_name or self.email
