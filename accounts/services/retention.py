"""How long accounts keeps what it no longer needs: accounts never verified, used or expired mail
tokens, ended sessions. Each purge is a Celery beat job (``accounts/tasks.py``), each period a
setting (``backend/settings/accounts.py``), each written in docs/security.md. Every purge is
idempotent: a second run finds nothing left to do."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, ForeignObjectRel, OuterRef, Q, QuerySet
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from accounts.models import AccountToken, AuthSession, User

logger = logging.getLogger(__name__)

# Rows of these apps go with an account (its sessions, tokens, consents, devices, event log).
# A row of any other app that points to a person (an item, a loan, an order, a membership, a
# report, an admin log entry) keeps the account: it is someone's activity, or someone else's.
OWN_APPS = frozenset({"accounts", "auth", "contenttypes", "notifications"})
BATCH = 200


def _references() -> list[ForeignObjectRel]:
    """Every relation from a model outside ``OWN_APPS`` to the user model (hidden ones too)."""
    relations = []
    for field in User._meta.get_fields(include_hidden=True):
        if not isinstance(field, ForeignObjectRel):
            continue
        model = field.related_model
        if isinstance(model, type) and model._meta.app_label not in OWN_APPS:
            relations.append(field)
    return relations


def _unreferenced(users: QuerySet[User]) -> QuerySet[User]:
    for relation in _references():
        model = relation.related_model
        assert isinstance(model, type)
        name = relation.field.name
        users = users.exclude(Exists(model._default_manager.filter(**{name: OuterRef("pk")})))
    return users


def unverified_accounts_candidates(*, now: datetime | None = None) -> QuerySet[User]:
    """Accounts whose address was never verified, with no sign of life for
    ``ACCOUNT_UNVERIFIED_DAYS`` (signed up, last login and last use of a session all older) and
    that nothing outside accounts and notifications refers to."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ACCOUNT_UNVERIFIED_DAYS)
    recent_session = AuthSession.objects.filter(user=OuterRef("pk"), last_used_at__gte=cutoff)
    users = (
        User.objects.filter(
            email_verified_at__isnull=True,
            deleted_at__isnull=True,
            is_staff=False,
            is_superuser=False,
            # An assisted member has no address to verify: the association looks after them.
            is_assisted=False,
            date_joined__lt=cutoff,
        )
        .filter(Q(last_login__isnull=True) | Q(last_login__lt=cutoff))
        .exclude(Exists(recent_session))
    )
    return _unreferenced(users)


def unverified_accounts_purge(*, now: datetime | None = None) -> int:
    """Deletes the accounts of :func:`unverified_accounts_candidates`, each in a savepoint under
    a row lock, checked again (a person who verifies meanwhile keeps theirs); a reference that
    appeared meanwhile (the database's PROTECT or RESTRICT, a constraint) keeps it too. Returns how
    many accounts went."""
    now = now or timezone.now()
    total = 0
    skipped: set[int] = set()
    while True:
        ids = list(
            unverified_accounts_candidates(now=now)
            .exclude(pk__in=skipped)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            return total
        for user_id in ids:
            try:
                with transaction.atomic():
                    user = (
                        unverified_accounts_candidates(now=now)
                        .select_for_update(skip_locked=True, of=("self",))
                        .filter(pk=user_id)
                        .first()
                    )
                    if user is None:
                        skipped.add(user_id)
                        continue
                    user.delete()
                    total += 1
            except (ProtectedError, RestrictedError, IntegrityError) as error:
                logger.info("unverified account %s kept: %s", user_id, type(error).__name__)
                skipped.add(user_id)


def account_tokens_purge(*, now: datetime | None = None) -> int:
    """Deletes the mail tokens used or expired more than ``ACCOUNT_TOKENS_KEEP_DAYS`` ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ACCOUNT_TOKENS_KEEP_DAYS)
    deleted, _ = AccountToken.objects.filter(
        Q(used_at__lt=cutoff) | Q(expires_at__lt=cutoff)
    ).delete()
    return deleted


def auth_sessions_purge(*, now: datetime | None = None) -> int:
    """Deletes the sessions revoked or expired more than ``ACCOUNT_SESSIONS_KEEP_DAYS`` ago (their
    refresh tokens are refused either way; a device a session registered goes with it)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ACCOUNT_SESSIONS_KEEP_DAYS)
    ids = list(
        AuthSession.objects.filter(Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff)).values_list(
            "pk", flat=True
        )
    )
    if not ids:
        return 0
    AuthSession.objects.filter(pk__in=ids).delete()
    return len(ids)
