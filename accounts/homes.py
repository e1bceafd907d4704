"""A resident's profile change, with what sits at their home following it.

Items are placed at their owner's home (at its blur cell) and a neighbour host's relay point is
their home: when the home moves, they move in the same transaction, and a host without a home
stops hosting. Called explicitly, never through a signal. This is the one module of ``accounts``
that reaches into the domains, and only the API imports it (an import-linter contract), so the
domains can keep using ``accounts`` without depending on each other through it.
"""

from __future__ import annotations

from typing import Any

from accounts.models import User
from accounts.services import user_update_profile
from pooling.services.places import relays_follow_home
from sharing.services.items import items_follow_home


def home_followers_move(user: User) -> None:
    items_follow_home(owner=user)
    relays_follow_home(operator=user)


def profile_update(*, user: User, **changes: Any) -> User:
    """``user_update_profile``, with the items and the hosted relay point following the home."""
    return user_update_profile(user=user, home_moved=home_followers_move, **changes)
