"""Deleting an account (RGPD art. 17): the person goes, what others need stays pseudonymous.

The ``User`` row is kept as a "former member" (loans, messages and ratings of others point to it)
with nothing of the person left in it; every app erases or closes its own rows through its
registered handler (``accounts.rgpd``), in one transaction; files in storage are deleted after
the commit. docs/security.md says what goes and what stays, and why.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import rgpd
from accounts.models import (
    AccountToken,
    AuthSession,
    Consent,
    DataExport,
    IdempotencyRecord,
    User,
    WalkingProfile,
)
from accounts.services.export import accounts_export, export_files_delete, export_path
from accounts.services.sessions import sessions_ended_tell
from backend.errors import ConflictError, ForbiddenError

logger = logging.getLogger(__name__)

# The placeholder address of a former member: unique, and no mail can ever reach it (.invalid is
# reserved, RFC 2606), so the person's own address is free to register again.
DELETED_EMAIL_DOMAIN = "deleted.invalid"


class ReauthenticationRequiredError(ForbiddenError):
    code = "reauthentication_required"
    default_message = _("Confirm with your password, or log in again, to delete your account.")


class WrongPasswordError(ForbiddenError):
    code = "wrong_password"
    default_message = _("The password is wrong.")


class ActiveLoansError(ConflictError):
    code = "active_loans"
    default_message = _(
        "Settle these first: objects you borrowed must be returned, and objects you lent must "
        "come back, before your account can be deleted."
    )


def login_is_fresh(claims: Mapping[str, Any] | None, *, now: float | None = None) -> bool:
    """Whether an access token's ``auth_time`` (the login, epoch seconds) is recent enough to
    stand for the password (``ACCOUNT_FRESH_LOGIN_MINUTES``)."""
    if not claims:
        return False
    auth_time = claims.get("auth_time")
    if isinstance(auth_time, bool) or not isinstance(auth_time, int | float):
        return False
    now = time.time() if now is None else now
    return 0 <= now - auth_time <= settings.ACCOUNT_FRESH_LOGIN_MINUTES * 60


def user_delete_check(*, user: User, password: str | None, fresh_login: bool) -> None:
    """The person proves it is them: their password, or a login within the last minutes."""
    if password:
        if not user.check_password(password):
            raise WrongPasswordError(fields={"password": [WrongPasswordError.default_message]})
        return
    if not fresh_login:
        raise ReauthenticationRequiredError()


def user_delete_blockers(user: User) -> list[rgpd.Blocker]:
    return [blocker for handler in rgpd.handlers() for blocker in handler.blockers(user)]


def _storage_delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("could not delete %s of a deleted account", name)


def user_delete(
    *, user: User, password: str | None = None, fresh_login: bool = False, checked: bool = False
) -> User:
    """Deletes ``user``'s account (``checked``: the caller already proved it is them). Idempotent:
    an account already deleted is left as it is. Refused (409 ``active_loans``) while an object is
    in the person's hands or lent out."""
    if not checked:
        user_delete_check(user=user, password=password, fresh_login=fresh_login)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.deleted_at is not None:
            return user
        blockers = user_delete_blockers(user)
        if blockers:
            raise ActiveLoansError(
                fields={
                    "blockers": [
                        {"kind": b.kind, "id": b.id, "label": b.label, "role": b.role}
                        for b in blockers
                    ]
                }
            )
        files: list[str] = []
        for handler in rgpd.handlers():
            files.extend(handler.erase(user))
        user.email = f"deleted-{uuid.uuid4().hex}@{DELETED_EMAIL_DOMAIN}"
        user.display_name = ""
        user.home = None
        user.home_address = ""
        user.phone = ""
        # A former member is nobody's assisted member any more (and has the placeholder address).
        user.is_assisted = False
        user.notification_preferences = {}
        # Wheelchair says something of the person's health: back to the default.
        user.walking_profile = WalkingProfile.WALK
        user.email_verified_at = None
        user.terms_version = ""
        user.privacy_version = ""
        user.email_digest_sent_at = None
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.set_unusable_password()
        user.deleted_at = timezone.now()
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        transaction.on_commit(partial(_storage_delete, sorted(set(filter(None, files)))))
    return user


def _accounts_erase(user: User) -> list[str]:
    """The person's consents, sessions (their push devices go with them), mailed tokens, kept
    answers to retried requests and data exports (their files after the commit) are deleted."""
    paths = [export_path(e) for e in DataExport.objects.filter(user=user).exclude(file="")]
    DataExport.objects.filter(user=user).delete()
    sessions_ended_tell(
        user_id=user.pk,
        session_ids=[
            str(pk) for pk in AuthSession.objects.filter(user=user).values_list("pk", flat=True)
        ],
    )
    AuthSession.objects.filter(user=user).delete()
    AccountToken.objects.filter(user=user).delete()
    Consent.objects.filter(user=user).delete()
    IdempotencyRecord.objects.filter(user=user).delete()
    transaction.on_commit(partial(export_files_delete, paths))
    return []


ACCOUNTS_HANDLER = rgpd.RgpdHandler(
    name="accounts",
    covers=(
        ("accounts.Consent", "user"),
        # Kept: a consent a volunteer recorded for an assisted member stays the member's proof,
        # recorded by a former member.
        ("accounts.Consent", "recorded_by"),
        ("accounts.AuthSession", "user"),
        ("accounts.AccountToken", "user"),
        ("accounts.DataExport", "user"),
        ("accounts.IdempotencyRecord", "user"),
        # Kept: the admin's audit log of what staff did, pointing to the former member.
        ("admin.LogEntry", "user"),
    ),
    erase=_accounts_erase,
    export=accounts_export,
    order=100,
)
