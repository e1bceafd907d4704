"""The admin site of the association: Django's, with the dashboard and the rounds' map."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language


class VoisinageAdminSite(admin.AdminSite):
    site_header = _("Voisinage — association panel")
    site_title = _("Voisinage")
    index_title = _("Run the neighbourhood")
    index_template = "admin/panel/index.html"

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from panel import assisted, rounds, sheets, views

        wrap = self.admin_view
        return [
            path("dashboard/", wrap(views.dashboard), name="panel_dashboard"),
            path(
                "dashboard/<slug:table>.csv", wrap(views.dashboard_csv), name="panel_dashboard_csv"
            ),
            path("rounds/<int:batch_id>/", wrap(rounds.batch_map), name="panel_batch_map"),
            path(
                "rounds/<int:batch_id>/sheets/",
                wrap(rounds.round_sheets),
                name="panel_round_sheets",
            ),
            path(
                "rounds/<int:batch_id>/sheets/<int:route_id>/",
                wrap(rounds.round_sheets),
                name="panel_round_sheet",
            ),
            path(
                "rounds/<int:batch_id>/progress.json",
                wrap(views.batch_progress),
                name="panel_batch_progress",
            ),
            path("rounds/plan/", wrap(views.batch_plan_now), name="panel_batch_plan"),
            # The permanence: volunteers act for the assisted members of their association.
            path("assisted/", wrap(assisted.assisted_list), name="panel_assisted_list"),
            path(
                "assisted/register/",
                wrap(assisted.assisted_register),
                name="panel_assisted_register",
            ),
            path(
                "assisted/<int:member_id>/",
                wrap(assisted.assisted_member),
                name="panel_assisted_member",
            ),
            path(
                "assisted/<int:member_id>/exports/<uuid:export_id>.zip",
                wrap(assisted.assisted_export_download),
                name="panel_assisted_export",
            ),
            # Paper: the noticeboard's sheet (a form, then its PDF) and a member's own sheet.
            path("paper/noticeboard/", wrap(sheets.noticeboard_form), name="panel_noticeboard"),
            path(
                "paper/noticeboard.pdf",
                wrap(sheets.noticeboard_download),
                name="panel_noticeboard_pdf",
            ),
            path(
                "paper/members/<int:user_id>.pdf",
                wrap(sheets.member_sheet_download),
                name="panel_member_sheet",
            ),
            # French by default, English available: the choice is kept in a cookie.
            path("language/", set_language, name="panel_language"),
            *super().get_urls(),
        ]

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["panel_dashboard_allowed"] = _dashboard_allowed(request)
        return context


def _dashboard_allowed(request: HttpRequest) -> bool:
    from neighbourhoods.selectors import staff_neighbourhood_ids

    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    scope = staff_neighbourhood_ids(user)
    return scope is None or bool(scope)
