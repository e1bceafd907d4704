"""Signed-in sessions: login, refresh with rotation, logout, revocation.

A session (``AuthSession``) is the chain of refresh tokens that one login started. Every token of
the chain carries the session's id (``sid``) and the time of the login (``auth_time``); access
tokens too, so that ending a session refuses its access tokens at once
(``accounts.authentication``). A refresh token is good once: refreshing answers a new pair and
the old refresh token is refused from then on. An app whose answer was lost may present the
previous token again within ``JWT_REFRESH_REUSE_GRACE_SECONDS``; after that, an old token coming
back means it was copied, and the whole session ends.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import AuthSession, User
from accounts.signals import sessions_ended
from backend.errors import DomainError, NotFoundError

SESSION_NAME_MAX = 120


class SessionEndedError(DomainError):
    status_code = 401
    code = "session_ended"
    default_message = _("This session has ended: log in again.")


class TokenInvalidError(DomainError):
    status_code = 401
    code = "token_not_valid"
    default_message = _("Token is invalid or expired.")


class TokenReusedError(DomainError):
    status_code = 401
    code = "token_reused"
    default_message = _(
        "This refresh token was already used: the session has ended for safety. Log in again."
    )


class SessionNotFoundError(NotFoundError):
    code = "session_not_found"
    default_message = _("No such session.")


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    session: AuthSession


def _mint(session: AuthSession, user: User, auth_time: int) -> tuple[RefreshToken, str]:
    refresh = RefreshToken.for_user(user)
    refresh["sid"] = str(session.pk)
    refresh["auth_time"] = auth_time
    return refresh, str(refresh.access_token)


def _expiry(refresh: RefreshToken) -> datetime:
    return datetime.fromtimestamp(int(refresh["exp"]), tz=UTC)


def session_start(*, user: User, name: str = "") -> TokenPair:
    """A new session for ``user`` (after checking their password, or registering): its first pair
    of tokens. ``name`` says which app or device (shown in the list of sessions)."""
    now = timezone.now()
    session = AuthSession(user=user, name=name[:SESSION_NAME_MAX], created_at=now, last_used_at=now)
    refresh, access = _mint(session, user, int(now.timestamp()))
    session.refresh_jti = str(refresh["jti"])
    session.expires_at = _expiry(refresh)
    session.save()
    return TokenPair(access=access, refresh=str(refresh), session=session)


def session_refresh(*, refresh: str) -> TokenPair:
    """A new pair for a refresh token, which is refused from then on (see the module)."""
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]
    except TokenError as error:
        raise TokenInvalidError() from error
    sid, jti = token.get("sid"), str(token.get("jti", ""))
    try:
        session_id = uuid.UUID(str(sid))
    except ValueError as error:
        raise TokenInvalidError() from error
    grace = timedelta(seconds=settings.JWT_REFRESH_REUSE_GRACE_SECONDS)
    with transaction.atomic():
        session = (
            AuthSession.objects.select_for_update()
            .select_related("user")
            .filter(pk=session_id)
            .first()
        )
        now = timezone.now()  # once the row is ours: after any rotation that came first
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            raise SessionEndedError()
        if not session.user.is_active:
            raise SessionEndedError()
        current = jti == session.refresh_jti
        retried = (
            jti == session.previous_jti
            and session.rotated_at is not None
            and now - session.rotated_at <= grace
        )
        if not (current or retried):
            # An old token came back: it was copied. The session ends (committed), then 401.
            _revoke(session, now)
            session.save(update_fields=["revoked_at"])
        else:
            new, access = _mint(session, session.user, int(token.get("auth_time", now.timestamp())))
            if current:
                session.previous_jti = jti
                session.rotated_at = now
            session.refresh_jti = str(new["jti"])
            session.last_used_at = now
            session.expires_at = _expiry(new)
            session.save(
                update_fields=[
                    "refresh_jti",
                    "previous_jti",
                    "rotated_at",
                    "last_used_at",
                    "expires_at",
                ]
            )
    if session.revoked_at is not None:
        raise TokenReusedError()
    return TokenPair(access=access, refresh=str(new), session=session)


def _revoke(session: AuthSession, now: datetime, *, tell: bool = True) -> None:
    session.revoked_at = now
    # Its devices stop receiving pushes (notifications.Device.session, by its reverse relation:
    # accounts does not import the apps built on it).
    session.devices.all().delete()
    if tell:
        sessions_ended_tell(user_id=session.user_id, session_ids=[str(session.pk)])


def sessions_ended_tell(*, user_id: int, session_ids: list[str]) -> None:
    """After the commit, the apps are told (``accounts.signals.sessions_ended``): the sockets
    these sessions opened close."""
    if not session_ids:
        return
    transaction.on_commit(
        partial(
            sessions_ended.send_robust,
            sender=AuthSession,
            user_id=user_id,
            session_ids=list(session_ids),
        ),
        robust=True,
    )


def session_end(*, user: User, session_id: uuid.UUID | str) -> None:
    """Ends one of ``user``'s sessions (logout, or revoking a device from the list)."""
    try:
        session_id = uuid.UUID(str(session_id))
    except ValueError as error:
        raise SessionNotFoundError() from error
    now = timezone.now()
    with transaction.atomic():
        session = (
            AuthSession.objects.select_for_update()
            .filter(pk=session_id, user=user, revoked_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if session is None:
            raise SessionNotFoundError()
        _revoke(session, now)
        session.save(update_fields=["revoked_at"])


def sessions_end_all(*, user: User, keep: uuid.UUID | str | None = None) -> int:
    """Ends every session of ``user`` but ``keep`` (a password change keeps the one it came
    from); the number ended."""
    now = timezone.now()
    with transaction.atomic():
        sessions = AuthSession.objects.select_for_update().filter(
            user=user, revoked_at__isnull=True
        )
        if keep is not None:
            sessions = sessions.exclude(pk=keep)
        ended: list[str] = []
        for session in sessions:
            _revoke(session, now, tell=False)
            session.save(update_fields=["revoked_at"])
            ended.append(str(session.pk))
        sessions_ended_tell(user_id=user.pk, session_ids=ended)
    return len(ended)
