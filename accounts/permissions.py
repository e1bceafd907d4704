"""Consent to the documents in force, asked of everyone signed in (a default permission).

When ``settings.TERMS_VERSION`` or ``PRIVACY_VERSION`` moves on, a person who has not accepted
the new version gets 403 ``consent_required`` everywhere but on their own account (the profile,
consenting, sessions, export, deletion: those views name their permissions themselves), so the
app knows to show the new documents and ``POST /api/v1/me/consents``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from accounts.models import User


class ConsentRequired(PermissionDenied):
    default_code = "consent_required"
    default_detail = _(
        "The terms of use or the privacy notice have changed: accept the new versions "
        "(POST /api/v1/me/consents) to go on."
    )


def consent_current(user: User) -> bool:
    return (
        user.terms_version == settings.TERMS_VERSION
        and user.privacy_version == settings.PRIVACY_VERSION
    )


class ConsentCurrent(BasePermission):
    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if isinstance(user, User) and not consent_current(user):
            raise ConsentRequired()
        return True
