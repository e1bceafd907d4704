"""The assisted members' part of the RGPD's rights (see accounts.rgpd)."""

from __future__ import annotations

from accounts.models import User
from accounts.rgpd import ExportWriter, RgpdHandler, rows
from assistance.models import AssistedAction
from assistance.services import actions_of, assisted_actions_forget


def _erase(user: User) -> list[str]:
    assisted_actions_forget(member=user)
    return []


def _export(user: User, writer: ExportWriter) -> None:
    mine = actions_of(user)
    if mine:
        writer.json("assistance/actions_on_my_behalf.json", mine)
    done = rows(
        AssistedAction.objects.filter(volunteer=user)
        .order_by("at", "pk")
        .values("action", "at", "member_id", "target_type__model", "target_id")
    )
    if done:
        writer.json("assistance/actions_as_volunteer.json", done)


HANDLER = RgpdHandler(
    name="assistance",
    covers=(
        # Kept for ASSISTANCE_AUDIT_DAYS, pointing to the former member, details erased: what was
        # done in the member's name, and by whom (docs/security.md).
        ("assistance.AssistedAction", "member"),
        # Kept: the member's history names who acted for them (a former member, once deleted).
        ("assistance.AssistedAction", "volunteer"),
    ),
    erase=_erase,
    export=_export,
)
