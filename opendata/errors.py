"""The refusals of the open data, each with its stable code (see ``backend.errors``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from backend.errors import ConflictError, NotFoundError


class OpenDataNotPublishedError(NotFoundError):
    """No such association, or one that does not publish: the same answer for both, and the
    same code as any other address that names nothing (``not_found``)."""

    code = "not_found"
    default_message = _("This association publishes no open data.")


class MonthNotClosedError(ConflictError):
    code = "month_not_closed"
    default_message = _("Only a month that is over can be computed.")
