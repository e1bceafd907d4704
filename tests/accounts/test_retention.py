"""Retention in accounts: accounts never verified, used mail tokens and ended sessions go after
their time; what is recent, verified or relied upon stays; a second run changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AccountToken, AuthSession, Consent, User
from accounts.services.retention import (
    account_tokens_purge,
    auth_sessions_purge,
    unverified_accounts_purge,
)
from notifications.models import Device
from tests.accounts.factories import UserFactory
from tests.neighbourhoods.factories import MembershipFactory
from tests.pooling.factories import OrderFactory
from tests.sharing.factories import ItemFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def ago(delta: timedelta):
    return timezone.now() - delta


def unverified(**fields) -> User:
    return UserFactory(email_verified_at=None, date_joined=ago(40 * DAY), **fields)


def session(user: User, **fields) -> AuthSession:
    values = {"expires_at": ago(-30 * DAY), "last_used_at": ago(40 * DAY)} | fields
    return AuthSession.objects.create(
        user=user, refresh_jti=f"jti-{AuthSession.objects.count()}", **values
    )


def test_unverified_accounts_without_activity_nor_references_are_deleted(settings):
    settings.ACCOUNT_UNVERIFIED_DAYS = 30
    gone = unverified(last_login=ago(35 * DAY))
    Consent.objects.create(user=gone, document="terms", version="2026-12")
    Device.objects.create(user=gone, platform="android", token="gone-token", session=session(gone))
    gone_too = unverified()
    kept = {
        "verified": UserFactory(date_joined=ago(40 * DAY)),
        "recent sign-up": UserFactory(email_verified_at=None, date_joined=ago(10 * DAY)),
        "recent login": unverified(last_login=ago(2 * DAY)),
        "recent session": unverified(),
        "owns an item": unverified(with_home=True),
        "ordered": unverified(),
        "member": unverified(),
        "staff": unverified(is_staff=True),
        "deleted, kept for others": unverified(deleted_at=ago(40 * DAY)),
    }
    session(kept["recent session"], last_used_at=ago(1 * DAY))
    ItemFactory(owner=kept["owns an item"])
    OrderFactory(resident=kept["ordered"])
    MembershipFactory(user=kept["member"])

    assert unverified_accounts_purge() == 2

    assert not User.objects.filter(pk__in=[gone.pk, gone_too.pk]).exists()
    assert not Consent.objects.filter(user_id=gone.pk).exists()
    assert not Device.objects.filter(token="gone-token").exists()
    remaining = set(User.objects.values_list("pk", flat=True))
    assert {name for name, user in kept.items() if user.pk not in remaining} == set()
    assert unverified_accounts_purge() == 0
    assert set(User.objects.values_list("pk", flat=True)) == remaining


def test_used_and_expired_tokens_go_after_a_few_days(settings):
    settings.ACCOUNT_TOKENS_KEEP_DAYS = 7
    user = UserFactory()

    def token(name: str, **fields) -> AccountToken:
        values = {"expires_at": ago(-1 * DAY)} | fields
        return AccountToken.objects.create(
            user=user, purpose="verify_email", email=user.email, digest=name, **values
        )

    token("used long ago", used_at=ago(8 * DAY))
    token("expired long ago", expires_at=ago(8 * DAY))
    token("used yesterday", used_at=ago(1 * DAY))
    token("expired yesterday", expires_at=ago(1 * DAY))
    token("unused, valid")

    assert account_tokens_purge() == 2
    kept = {"used yesterday", "expired yesterday", "unused, valid"}
    assert set(AccountToken.objects.values_list("digest", flat=True)) == kept
    assert account_tokens_purge() == 0
    assert set(AccountToken.objects.values_list("digest", flat=True)) == kept


def test_ended_sessions_go_after_a_few_days(settings):
    settings.ACCOUNT_SESSIONS_KEEP_DAYS = 7
    user = UserFactory()
    old_revoked = session(user, revoked_at=ago(8 * DAY))
    old_expired = session(user, expires_at=ago(8 * DAY))
    kept = [
        session(user, revoked_at=ago(1 * DAY)),
        session(user, expires_at=ago(1 * DAY)),
        session(user),
    ]
    assert auth_sessions_purge() == 2
    assert not AuthSession.objects.filter(pk__in=[old_revoked.pk, old_expired.pk]).exists()
    assert set(AuthSession.objects.values_list("pk", flat=True)) == {s.pk for s in kept}
    assert auth_sessions_purge() == 0
    assert AuthSession.objects.count() == 3


def test_the_retention_task_runs_the_three_purges(eager_tasks):
    from accounts.tasks import retention_purge

    UserFactory()
    assert retention_purge.delay().get() == {"unverified_accounts": 0, "tokens": 0, "sessions": 0}
