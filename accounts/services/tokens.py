"""Single-use, expiring secrets sent by mail: address verification and password reset.

The secret is 32 random bytes (URL-safe); only its SHA-256 is stored. Redeeming marks it used in
the same statement that checks it is not (an ``UPDATE ... WHERE used_at IS NULL``), so two
requests with one token never both succeed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import AccountToken, User
from backend.errors import DomainError

TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


class TokenInvalidLinkError(DomainError):
    code = "token_invalid"
    default_message = _("This link is not valid. Ask for a new one.")


class TokenExpiredError(DomainError):
    code = "token_expired"
    default_message = _("This link has expired. Ask for a new one.")


class TokenUsedError(DomainError):
    code = "token_used"
    default_message = _("This link was already used. Ask for a new one if you need to.")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def account_token_issue(
    *, user: User, purpose: str, email: str, lifetime: timedelta, now: datetime | None = None
) -> str:
    """A new secret for ``purpose``; the person's earlier unused ones of that purpose stop
    working (only the latest mail counts)."""
    now = now or timezone.now()
    secret = secrets.token_urlsafe(32)
    with transaction.atomic(savepoint=False):
        AccountToken.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(
            used_at=now
        )
        AccountToken.objects.create(
            user=user,
            purpose=purpose,
            email=email,
            digest=_digest(secret),
            created_at=now,
            expires_at=now + lifetime,
        )
    return secret


def account_token_redeem(*, secret: str, purpose: str) -> AccountToken:
    """The token behind ``secret``, now used. Raises ``TokenInvalidLinkError`` (unknown, forged,
    another purpose, an inactive account), ``TokenExpiredError`` or ``TokenUsedError``. Call it
    inside the transaction that acts on it: a rollback makes the token usable again."""
    if not isinstance(secret, str) or not TOKEN_SHAPE.match(secret):
        raise TokenInvalidLinkError(fields={"token": [TokenInvalidLinkError.default_message]})
    now = timezone.now()
    token = (
        AccountToken.objects.select_for_update()
        .select_related("user")
        .filter(digest=_digest(secret), purpose=purpose)
        .first()
    )
    if token is None or not token.user.is_active:
        raise TokenInvalidLinkError(fields={"token": [TokenInvalidLinkError.default_message]})
    if token.used_at is not None:
        raise TokenUsedError(fields={"token": [TokenUsedError.default_message]})
    if token.expires_at <= now:
        raise TokenExpiredError(fields={"token": [TokenExpiredError.default_message]})
    updated = AccountToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=now)
    if updated != 1:
        raise TokenUsedError(fields={"token": [TokenUsedError.default_message]})
    token.used_at = now
    return token
