"""What every ModelAdmin of the panel is made of: scoped rows (``panel.scoping``), status badges,
read-only pages whose buttons are the services' actions, and the project's own map widget."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from panel.map_widgets import LocalMapWidget
from panel.scoping import ScopedModelAdmin

STATUS_COLOURS = {
    "pending": "#b8860b",
    "active": "#2f6f4f",
    "suspended": "#c0392b",
    "refused": "#777",
    "open": "#c0392b",
    "actioned": "#2f6f4f",
    "dismissed": "#777",
    "disputed": "#c0392b",
}


def badge(value: str, label: Any) -> str:
    return format_html(
        '<span class="panel-badge" data-status="{}" style="color:{};font-weight:600">{}</span>',
        value,
        STATUS_COLOURS.get(value, "inherit"),
        label,
    )


class ScopedGISAdmin(ScopedModelAdmin, GISModelAdmin):
    """Geometries edited on the project's own map widget (no CDN; tiles from MAP_TILE_URL)."""

    gis_widget = LocalMapWidget  # type: ignore[assignment]  # a class, as Django expects


class ReadOnlyMixin(admin.ModelAdmin):
    """Volunteers read these rows; they change them only through the actions."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        model_fields = [f.name for f in self.model._meta.fields]
        return [*model_fields, *getattr(self, "extra_readonly", ())]


class ObjectActionsMixin(ReadOnlyMixin):
    """A read-only change page whose buttons are the list's actions for this one row
    (``object_actions``), shown to those who may change it; no save or delete button."""

    change_form_template = "admin/panel/change_form_actions.html"

    def object_actions(self, obj: Any) -> list[tuple[str, Any]]:
        return []

    def object_links(self, obj: Any) -> list[tuple[str, Any]]:
        """Links (address, label) beside the buttons, for whoever may see the row."""
        return []

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_change_permission(request):
            extra["panel_object_actions"] = self.object_actions(obj)
        if obj is not None:
            extra["panel_object_links"] = self.object_links(obj)
        return super().change_view(request, object_id, form_url, extra)


def change_link(obj: Any, label: Any = None) -> str:
    if obj is None:
        return "—"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else obj)


# --- associations and neighbourhoods -----------------------------------------------------------
