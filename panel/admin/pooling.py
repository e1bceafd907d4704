"""The association's admin for order pooling: hubs and relay points on the map, couriers,
orders, and the delivery days (batches) with their rounds on a map and their impact.

Rows are scoped to the user's neighbourhoods (``panel.scoping``); planning goes through
``pooling.services.batches.batch_request``, the same service as ``POST /api/v1/pooling/batches``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from panel.actions import run_each
from panel.admin.mixins import ReadOnlyMixin, ScopedGISAdmin, badge
from panel.exports import export_csv_action
from panel.scoping import ScopedModelAdmin
from pooling.models import Batch, Courier, Hub, Merchant, Order, RelayPoint
from pooling.services.batches import batch_replan_request
from pooling.services.places import relay_point_create, relay_point_update


@admin.register(Hub)
class HubAdmin(ScopedGISAdmin):
    list_display = ["name", "neighbourhood", "address_label", "cutoff_time", "is_active"]
    list_filter = ["is_active", ("neighbourhood", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "address_label"]
    fields = [
        "name",
        "neighbourhood",
        "address_label",
        "location",
        "cutoff_time",
        "loading_seconds",
        "is_active",
    ]
    actions = [
        export_csv_action(["id", "name", "neighbourhood__name", "address_label", "is_active"])
    ]


class RelayPointForm(forms.ModelForm):
    class Meta:
        model = RelayPoint
        fields = [
            "kind",
            "name",
            "address_label",
            "location",
            "neighbourhood",
            "operator",
            "capacity_per_day",
            "opens_at",
            "closes_at",
            "is_active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "location" in self.fields:  # a neighbour host's place is their home, not drawn here
            self.fields["location"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        operator = data.get("operator")
        if data.get("kind") == RelayPoint.Kind.NEIGHBOUR_HOST:
            if not operator:
                self.add_error("operator", _("A neighbour host is a resident: choose who."))
            elif operator.home is None:
                self.add_error("operator", _("This resident has not set their home."))
            else:
                data["location"] = operator.home
        elif not data.get("location"):
            self.add_error("location", _("This field is required."))
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("Closing time must be after opening time."))
        return data


@admin.register(RelayPoint)
class RelayPointAdmin(ScopedGISAdmin):
    form = RelayPointForm
    list_display = [
        "name",
        "kind",
        "neighbourhood",
        "operator",
        "capacity_per_day",
        "opens_at",
        "closes_at",
        "is_active",
    ]
    list_filter = ["kind", "is_active", ("neighbourhood", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "address_label"]
    list_select_related = ["neighbourhood", "operator"]
    actions = [
        export_csv_action(
            [
                "id",
                "name",
                "kind",
                "neighbourhood__name",
                "address_label",
                "capacity_per_day",
                "opens_at",
                "closes_at",
                "is_active",
            ]
        )
    ]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.kind == RelayPoint.Kind.NEIGHBOUR_HOST:
            # A host's place is their home: staff never see it, it follows the home.
            fields.remove("location")
        return fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            relay_point_update(relay=obj)
            return
        data = form.cleaned_data
        created = relay_point_create(
            kind=data["kind"],
            name=data["name"],
            lon=data["location"].x,
            lat=data["location"].y,
            neighbourhood=data.get("neighbourhood"),
            operator=data.get("operator"),
            capacity_per_day=data["capacity_per_day"],
            opens_at=data["opens_at"],
            closes_at=data["closes_at"],
            address_label=data.get("address_label", ""),
        )
        if not data.get("is_active", True):
            RelayPoint.objects.filter(pk=created.pk).update(is_active=False)
        obj.pk = created.pk
        obj.handover_code = created.handover_code


@admin.register(Courier)
class CourierAdmin(ReadOnlyMixin, ScopedModelAdmin):
    scope_field = "hub__neighbourhood_id"
    list_display = [
        "user",
        "hub",
        "vehicle",
        "capacity_units",
        "capacity_kg",
        "shift_start",
        "shift_end",
        "is_active",
        "on_duty",
        "on_duty_since",
    ]
    list_filter = ["vehicle", "is_active", "on_duty"]
    search_fields = ["user__email", "user__display_name"]
    list_select_related = ["user", "hub"]


@admin.register(Order)
class OrderAdmin(ReadOnlyMixin, ScopedModelAdmin):
    list_display = [
        "id",
        "resident",
        "merchant_name",
        "carrier",
        "expected_on",
        "receive_mode",
        "status_label",
        "neighbourhood",
    ]
    list_filter = [
        "status",
        "receive_mode",
        "carrier",
        ("neighbourhood", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["merchant_name", "tracking_number", "merchant_reference", "resident__email"]
    list_select_related = ["resident", "neighbourhood"]
    date_hierarchy = "expected_on"
    exclude = ["delivery_code", "body_sha256", "idempotency_key"]
    actions = [
        export_csv_action(
            [
                "id",
                "merchant_name",
                "carrier",
                "tracking_number",
                "expected_on",
                "status",
                "receive_mode",
                "neighbourhood__name",
                "created_at",
            ]
        )
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        hidden = set(self.exclude or ())
        return [f.name for f in Order._meta.fields if f.name not in hidden]

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, obj: Order) -> str:
        return badge(obj.status, obj.get_status_display())


@admin.register(Batch)
class BatchAdmin(ReadOnlyMixin, ScopedModelAdmin):
    list_display = [
        "day",
        "neighbourhood",
        "status_label",
        "progress",
        "rounds",
        "km",
        "co2_saved",
        "map_link",
    ]
    list_filter = ["status", ("neighbourhood", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "day"
    ordering = ["-day", "-pk"]
    list_select_related = ["neighbourhood", "impact"]
    change_list_template = "admin/panel/batch_change_list.html"
    actions = [
        "plan_again",
        export_csv_action(
            [
                "id",
                "day",
                "neighbourhood__name",
                "status",
                "impact__orders",
                "impact__rounds",
                "impact__vehicle_meters",
                "impact__per_carrier_meters",
                "impact__co2_grams",
                "impact__per_carrier_co2_grams",
            ]
        ),
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("pooling.add_batch")

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:panel_batch_plan"))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._require_object(request, object_id)
        return HttpResponseRedirect(reverse("admin:panel_batch_map", args=[int(object_id)]))

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, obj: Batch) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj: Batch) -> str:
        return f"{obj.progress_percent} %"

    def _impact(self, obj: Batch) -> Any:
        return (
            getattr(obj, "impact", None)
            if obj.status in ("planned", "dispatched", "completed")
            else None
        )

    @admin.display(description=gettext_lazy("rounds"))
    def rounds(self, obj: Batch) -> Any:
        impact = self._impact(obj)
        return impact.rounds if impact else "—"

    @admin.display(description=gettext_lazy("km (each carrier alone)"))
    def km(self, obj: Batch) -> Any:
        impact = self._impact(obj)
        if not impact:
            return "—"
        return f"{impact.vehicle_meters / 1000:.1f} ({impact.per_carrier_meters / 1000:.1f})"

    @admin.display(description=gettext_lazy("kg CO2e saved"))
    def co2_saved(self, obj: Batch) -> Any:
        impact = self._impact(obj)
        if not impact:
            return "—"
        return f"{(impact.per_carrier_co2_grams - impact.co2_grams) / 1000:.1f}"

    @admin.display(description=gettext_lazy("map"))
    def map_link(self, obj: Batch) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:panel_batch_map", args=[obj.pk]), _("Rounds")
        )

    @admin.action(description=gettext_lazy("Plan the selected days again"), permissions=["add"])
    def plan_again(self, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
        def replan(batch: Any) -> None:
            if not batch_replan_request(batch_id=batch.pk):
                from pooling.errors import BatchDispatchedError

                raise BatchDispatchedError()

        run_each(request, queryset, replan, _("%(count)d day(s) being planned again."))


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    """Merchants are set up by the platform's operators (superusers), not by associations."""

    list_display = ["name", "default_carrier", "api_key_prefix", "is_active", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["api_key_prefix", "api_key_hash", "signing_secret", "created_at"]
