"""What a person is in Voisinage (resident, courier, association staff), for ``GET /me``.

Each app that gives a role registers how to tell it, from its ``AppConfig.ready()``: accounts
knows no domain, and a new role needs no change here.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.models import User

_ROLES: dict[str, Callable[[User], bool]] = {}


def role_register(name: str, holds: Callable[[User], bool]) -> None:
    _ROLES[name] = holds


def roles_of(user: User) -> list[str]:
    """The names of the roles ``user`` holds, in a stable order."""
    return sorted(name for name, holds in _ROLES.items() if holds(user))


def role_names() -> list[str]:
    return sorted(_ROLES)
