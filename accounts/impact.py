"""A person's own impact (``GET /api/v1/me/impact``): one section per app that has figures.

Each app registers its section from its ``AppConfig.ready()``: a name, how to compute it for a
person and the serializer that shapes it (the OpenAPI schema declares every section's fields).
accounts knows no domain, and a new section needs no change here.

The figures tolerate a second of lag: they are read from the read replica when there is one fit
for it (``backend.replicas``; each section reads from the alias it is given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rest_framework import serializers

from accounts.models import User
from backend.replicas import on_replica


class ImpactCompute(Protocol):
    def __call__(self, user: User, *, using: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class ImpactSection:
    name: str
    # The person's figures, in the units of the section's serializer; a few queries, never one
    # per row of the person's history; read from the database alias ``using``.
    compute: ImpactCompute
    serializer: type[serializers.Serializer]


_SECTIONS: dict[str, ImpactSection] = {}


def impact_register(
    name: str,
    compute: ImpactCompute,
    serializer: type[serializers.Serializer],
) -> None:
    _SECTIONS[name] = ImpactSection(name=name, compute=compute, serializer=serializer)


def impact_sections() -> list[ImpactSection]:
    """The registered sections, by name."""
    return [_SECTIONS[name] for name in sorted(_SECTIONS)]


def impact_of(user: User) -> dict[str, Mapping[str, Any]]:
    """Every section's figures for ``user`` (theirs only: each section filters on the person)."""
    return on_replica(
        lambda using: {
            section.name: section.compute(user, using=using) for section in impact_sections()
        }
    )
