"""What volunteers did on behalf of assisted members: a read-only log, scoped like every list of
the panel (the members of the neighbourhoods the user runs). The actions themselves are taken on
the permanence pages (panel/assisted.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from assistance.models import AssistedAction
from panel.admin.mixins import ReadOnlyMixin
from panel.exports import export_csv_action
from panel.scoping import ScopedModelAdmin, members_of


@admin.register(AssistedAction)
class AssistedActionAdmin(ReadOnlyMixin, ScopedModelAdmin):
    list_display = ["at", "volunteer_name", "member_link", "action", "detail"]
    list_filter = ["action"]
    search_fields = ["member__display_name", "volunteer__display_name", "detail"]
    list_select_related = ["volunteer", "member"]
    date_hierarchy = "at"
    ordering = ["-at", "-pk"]
    fields = ["at", "volunteer", "member", "action", "target_type", "target_id", "detail"]
    actions = [export_csv_action(["id", "at", "volunteer_id", "member_id", "action", "target_id"])]

    def scope_queryset(self, queryset: QuerySet[Any], scope: list[int]) -> QuerySet[Any]:
        return queryset.filter(members_of(scope, user_field="member_id"))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("volunteer"), ordering="volunteer__display_name")
    def volunteer_name(self, obj: AssistedAction) -> str:
        return obj.volunteer.public_name

    @admin.display(description=gettext_lazy("assisted member"), ordering="member__display_name")
    def member_link(self, obj: AssistedAction) -> str:
        if not obj.member.is_assisted:
            return obj.member.public_name
        url = reverse("admin:panel_assisted_member", args=[obj.member_id])
        return format_html('<a href="{}">{}</a>', url, obj.member.public_name)
