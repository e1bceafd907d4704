"""The neighbourhoods app's part of the RGPD's rights (see accounts.rgpd)."""

from __future__ import annotations

from accounts.models import User
from accounts.rgpd import ExportWriter, RgpdHandler, rows
from neighbourhoods.models import Association, Membership
from neighbourhoods.services import member_forget


def _erase(user: User) -> list[str]:
    member_forget(user=user)
    return []


def _export(user: User, writer: ExportWriter) -> None:
    writer.json(
        "neighbourhoods/memberships.json",
        rows(
            Membership.objects.filter(user=user)
            .order_by("pk")
            .values(
                "id",
                "neighbourhood_id",
                "neighbourhood__name",
                "status",
                "ask_me_too",
                "suspended_reason",
                "created_at",
                "decided_at",
            )
        ),
    )
    writer.json(
        "neighbourhoods/staff_of.json",
        rows(Association.objects.filter(staff=user).order_by("pk").values("id", "name")),
    )


HANDLER = RgpdHandler(
    name="neighbourhoods",
    covers=(
        ("neighbourhoods.Membership", "user"),
        # Kept: the decision stands, taken by a former member.
        ("neighbourhoods.Membership", "decided_by"),
        ("neighbourhoods.Association", "staff"),
    ),
    erase=_erase,
    export=_export,
    order=80,
)
