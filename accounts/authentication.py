"""Bearer tokens that belong to a live session.

simplejwt checks a token's signature and expiry; this also checks that the session it names
(the ``sid`` claim) has not ended and that its person is still active, so logout, revoking a
device, a password change and account deletion refuse access tokens at once, not 15 minutes
later. One query per request (the session with its user), on the session's primary key.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.models import AuthSession


class SessionJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Any) -> Any:
        try:
            session_id = uuid.UUID(str(validated_token.get("sid")))
        except ValueError as error:
            raise InvalidToken(str(_("Token is invalid or expired."))) from error
        session = (
            AuthSession.objects.select_related("user")
            .filter(pk=session_id, revoked_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if session is None or str(session.user_id) != str(validated_token.get("user_id")):
            raise AuthenticationFailed(
                _("This session has ended: log in again."), code="session_ended"
            )
        user = session.user
        if not user.is_active:
            raise AuthenticationFailed(_("User is inactive."), code="user_inactive")
        return user


class SessionJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme: a bearer JWT, as simplejwt's (same name, ``jwtAuth``)."""

    target_class = "accounts.authentication.SessionJWTAuthentication"
