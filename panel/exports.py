"""CSV exports of admin lists. The action receives the list's own queryset, which the scoped
ModelAdmin already narrowed to the user's neighbourhoods: an export never holds another
association's rows."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy


def _label(model: Any, path: str) -> str:
    opts = model._meta
    parts = path.split("__")
    for part in parts[:-1]:
        opts = opts.get_field(part).related_model._meta
    return str(opts.get_field(parts[-1]).verbose_name)


def export_csv_action(fields: Sequence[str]) -> Callable[..., HttpResponse]:
    @admin.action(description=gettext_lazy("Export the selection as CSV"), permissions=["view"])
    def export_csv(
        modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]
    ) -> HttpResponse:
        model = modeladmin.model
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"voisinage-{model._meta.model_name}-{timezone.localdate():%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        writer = csv.writer(response)
        writer.writerow([_label(model, f) for f in fields])
        for row in queryset.order_by("pk").values_list(*fields):
            writer.writerow(
                [
                    timezone.localtime(v).isoformat() if hasattr(v, "tzinfo") and v.tzinfo else v
                    for v in row
                ]
            )
        return response

    return export_csv
