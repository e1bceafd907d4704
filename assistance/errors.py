"""The refusals of acting on an assisted member's behalf (see ``backend.errors``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from backend.errors import ForbiddenError, NotFoundError


class AssistedMemberNotFoundError(NotFoundError):
    """The one answer for "not an assisted member you may act for": another association's
    member, a member who took their account over, a deleted account, nobody."""

    code = "assisted_member_not_found"
    default_message = _("No such assisted member among your association's.")


class AssistedConsentRequiredError(ForbiddenError):
    """The documents moved on since the member's consent was recorded: read them the new ones
    and record it again before acting for them (as the app's consent gate asks everyone)."""

    code = "consent_required"
    default_message = _(
        "The terms of use or the privacy notice have changed: read the new versions to the "
        "member and record their consent again before acting for them."
    )


class AssistedLoanNotFoundError(NotFoundError):
    code = "loan_not_found"
    default_message = _("This loan is not one of the member's.")
