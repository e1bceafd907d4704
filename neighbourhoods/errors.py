"""The refusals of neighbourhood life, each with its stable code (see ``backend.errors``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from backend.errors import ForbiddenError


class NotStaffError(ForbiddenError):
    """The one refusal for "you do not run this neighbourhood", whatever the domain asking."""

    code = "not_association_staff"
    default_message = _("Only the association's staff can do this.")


class NotMemberError(ForbiddenError):
    code = "not_a_member"
    default_message = _("You must be an active member of this neighbourhood.")


class SuspendedError(ForbiddenError):
    code = "member_suspended"
    default_message = _("Your membership is suspended.")
