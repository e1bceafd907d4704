"""Blocking a person: nothing passes between the two any more, either way."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from backend.errors import DomainError, ForbiddenError, NotFoundError
from sharing.models import PersonBlock
from sharing.selectors import blocked_between


class BlockedError(ForbiddenError):
    code = "blocked"
    default_message = _("One of you has blocked the other: nothing can pass between you.")


class MemberNotFoundError(NotFoundError):
    code = "member_not_found"
    default_message = _("No such member.")


def blocks_check(first: User | int, second: User | int) -> None:
    """Refuses (``BlockedError``) when either of the two has blocked the other."""
    a = first if isinstance(first, int) else first.pk
    b = second if isinstance(second, int) else second.pk
    if blocked_between(a, b):
        raise BlockedError()


def person_block(*, actor: User, member_id: int) -> tuple[PersonBlock, bool]:
    """``actor`` blocks ``member_id`` (again: nothing changes). Returns the block and whether it
    is new."""
    if member_id == actor.pk:
        raise DomainError(_("You cannot block yourself."), code="own_account")
    if not User.objects.filter(pk=member_id, is_active=True).exists():
        raise MemberNotFoundError()
    try:
        with transaction.atomic():
            return PersonBlock.objects.create(blocker=actor, blocked_id=member_id), True
    except IntegrityError:
        return PersonBlock.objects.get(blocker=actor, blocked_id=member_id), False


def person_unblock(*, actor: User, member_id: int) -> None:
    deleted, _count = PersonBlock.objects.filter(blocker=actor, blocked_id=member_id).delete()
    if not deleted:
        raise MemberNotFoundError()
