"""The panel's own pages inside the admin: the dashboard (SVG charts, CSV tables) and planning a
day's deliveries (its map and round sheets are in panel/rounds.py). Every page reads through the
user's scope."""

from __future__ import annotations

import csv
import json
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.selectors import request_user
from backend.errors import DomainError
from backend.replicas import on_replica
from neighbourhoods.models import Neighbourhood
from neighbourhoods.selectors import Scope, staff_neighbourhood_ids
from panel import charts, stats
from panel.charts import Series
from pooling import co2
from pooling.models import Batch

ROUND_COLOURS = ("#d7263d", "#1b998b", "#3b6ea8", "#f49d37", "#7d4e9f", "#2e4052", "#c2185b")


def _admin_context(request: HttpRequest, title: str) -> dict[str, Any]:
    from django.contrib import admin

    return {**admin.site.each_context(request), "title": title}


def _scope_for(request: HttpRequest) -> tuple[Scope, Neighbourhood | None]:
    """The user's scope, narrowed to one neighbourhood by ``?neighbourhood=``; 403 for a staff
    user of no association, 404 for a neighbourhood outside the scope."""
    scope = staff_neighbourhood_ids(request.user)
    if scope is not None and not scope:
        raise PermissionDenied
    raw = request.GET.get("neighbourhood", "")
    if not raw:
        return scope, None
    if not raw.isdigit() or (scope is not None and int(raw) not in scope):
        raise Http404("no such neighbourhood")
    neighbourhood = Neighbourhood.objects.filter(pk=int(raw)).first()
    if neighbourhood is None:
        raise Http404("no such neighbourhood")
    return [neighbourhood.pk], neighbourhood


def _short(day_iso: str) -> str:
    day = date.fromisoformat(day_iso)
    return formats.date_format(day, "d/m")


def _month(month: str) -> str:
    year, number = month.split("-")
    return formats.date_format(date(int(year), int(number), 1), "M Y")


def dashboard(request: HttpRequest) -> TemplateResponse:
    scope, neighbourhood = _scope_for(request)
    # The figures from the read replica when there is one fit for it (docs/scaling.md).
    tables, totals = on_replica(
        lambda using: (stats.dashboard_tables(scope, using=using), stats.totals(scope, using=using))
    )
    loans, items, wanted, impact = (tables[k] for k in ("loans", "items", "wanted", "impact"))
    weeks = [_short(w) for w in loans.values("week")]
    months = [_month(m) for m in impact.values("month")]
    sections: list[dict[str, Any]] = [
        {
            "table": loans,
            "charts": [
                charts.chart(
                    chart_id="chart-loans",
                    title=_("Loans per week"),
                    labels=weeks,
                    series=[Series("loans", _("Loans handed over"), loans.values("loans"))],
                    y_label=_("loans"),
                ),
                charts.chart(
                    chart_id="chart-people",
                    title=_("Active lenders and borrowers per week"),
                    labels=weeks,
                    series=[
                        Series("lenders", _("Lenders"), loans.values("lenders")),
                        Series("borrowers", _("Borrowers"), loans.values("borrowers")),
                    ],
                    y_label=_("people"),
                    kind="line",
                ),
            ],
        },
        {
            "table": items,
            "charts": [
                charts.hbar_chart(
                    chart_id="chart-items",
                    title=_("Items available by category"),
                    labels=items.values("label"),
                    series=Series("items", _("Items"), items.values("items")),
                )
            ],
        },
        {
            "table": wanted,
            "charts": [
                charts.chart(
                    chart_id="chart-wanted",
                    title=_("Wanted requests and those answered, per week"),
                    labels=[_short(w) for w in wanted.values("week")],
                    series=[
                        Series("requests", _("Requests posted"), wanted.values("requests")),
                        Series("answered", _("Answered by an offer"), wanted.values("answered")),
                    ],
                    y_label=_("requests"),
                )
            ],
        },
        {
            "table": impact,
            "charts": [
                charts.chart(
                    chart_id="chart-orders",
                    title=_("Orders pooled and rounds per month"),
                    labels=months,
                    series=[
                        Series("orders", _("Orders pooled"), impact.values("orders")),
                        Series("rounds", _("Rounds"), impact.values("rounds")),
                    ],
                ),
                charts.chart(
                    chart_id="chart-km",
                    title=_("Vehicle-km per month against the baselines"),
                    labels=months,
                    series=[
                        Series("km", _("Pooled rounds"), impact.values("km")),
                        Series(
                            "per_carrier_km",
                            _("Each carrier alone"),
                            impact.values("per_carrier_km"),
                        ),
                        Series(
                            "per_parcel_km",
                            _("One trip per parcel"),
                            impact.values("per_parcel_km"),
                        ),
                    ],
                    y_label="km",
                ),
                charts.chart(
                    chart_id="chart-co2",
                    title=_("CO2 per month against the baselines"),
                    labels=months,
                    series=[
                        Series(
                            "co2_kg",
                            _("Pooled rounds"),
                            impact.values("co2_kg"),
                            low=impact.values("co2_kg_low"),
                            high=impact.values("co2_kg_high"),
                        ),
                        Series(
                            "per_carrier_co2_kg",
                            _("Each carrier alone"),
                            impact.values("per_carrier_co2_kg"),
                            low=impact.values("per_carrier_co2_kg_low"),
                            high=impact.values("per_carrier_co2_kg_high"),
                        ),
                        Series(
                            "co2_saved_kg",
                            _("Saved"),
                            impact.values("co2_saved_kg"),
                            low=impact.values("co2_saved_kg_low"),
                            high=impact.values("co2_saved_kg_high"),
                        ),
                    ],
                    y_label=_("kg CO2e"),
                ),
            ],
        },
    ]
    choices = Neighbourhood.objects.order_by("name")
    full_scope = staff_neighbourhood_ids(request.user)
    if full_scope is not None:
        choices = choices.filter(pk__in=full_scope)
    query = f"?neighbourhood={neighbourhood.pk}" if neighbourhood else ""
    for section in sections:
        table = section["table"]
        section["cells"] = [
            [(key, row[key]) for key, _label in table.columns] for row in table.rows
        ]
        section["csv_url"] = (
            reverse("admin:panel_dashboard_csv", args=[section["table"].slug]) + query
        )
    context = {
        **_admin_context(request, _("Dashboard")),
        "sections": sections,
        "totals": totals,
        "neighbourhood": neighbourhood,
        "neighbourhoods": choices,
        "emission_factors": settings.POOLING_EMISSION_FACTORS,
        "co2_factors": [
            {
                **f,
                "bounds": [("central", f["central"])]
                + [(b, f[b]) for b in ("low", "high") if f[b] != f["central"]],
            }
            for f in co2.factors_public()
        ],
    }
    return TemplateResponse(request, "admin/panel/dashboard.html", context)


def dashboard_csv(request: HttpRequest, table: str) -> HttpResponse:
    scope, neighbourhood = _scope_for(request)
    tables = on_replica(lambda using: stats.dashboard_tables(scope, using=using))
    if table not in tables:
        raise Http404("no such table")
    chosen = tables[table]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    suffix = f"-{neighbourhood.pk}" if neighbourhood else ""
    filename = f"voisinage-{chosen.slug}{suffix}-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([str(label) for _key, label in chosen.columns])
    for row in chosen.rows:
        writer.writerow([row[key] for key, _label in chosen.columns])
    return response


# --- planning and the rounds' map ------------------------------------------------------------------


class PlanForm(forms.Form):
    neighbourhood = forms.ModelChoiceField(
        queryset=Neighbourhood.objects.none(), label=gettext_lazy("Neighbourhood")
    )
    day = forms.DateField(label=gettext_lazy("Day"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        queryset = Neighbourhood.objects.filter(pooling_hub__is_active=True).order_by("name")
        if scope is not None:
            queryset = queryset.filter(pk__in=scope)
        self.fields["neighbourhood"].queryset = queryset  # type: ignore[attr-defined]


def batch_plan_now(request: HttpRequest) -> HttpResponse:
    """Plan a neighbourhood's deliveries for a day: the same service as the API's
    ``POST /api/v1/pooling/batches``; planning runs on the Celery worker and the map shows it."""
    if not request.user.has_perm("pooling.add_batch"):
        raise PermissionDenied
    scope = staff_neighbourhood_ids(request.user)
    if scope is not None and not scope:
        raise PermissionDenied
    from pooling.services.batches import batch_request

    form = PlanForm(
        request.POST or None, scope=scope, initial={"day": timezone.localdate().isoformat()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            batch, created = batch_request(
                actor=request_user(request),
                neighbourhood_id=form.cleaned_data["neighbourhood"].pk,
                day=form.cleaned_data["day"],
            )
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            if created:
                messages.success(request, _("Planning started: the rounds appear below."))
            else:
                messages.info(request, _("This day was already open: it is being planned again."))
            return redirect("admin:panel_batch_map", batch_id=batch.pk)
    context = {**_admin_context(request, _("Plan a day's deliveries")), "form": form}
    return TemplateResponse(request, "admin/panel/batch_plan.html", context)


def _batch_in_scope(request: HttpRequest, batch_id: int) -> Batch:
    if not request.user.has_perm("pooling.view_batch"):
        raise PermissionDenied
    batches = Batch.objects.select_related("neighbourhood", "hub")
    scope = staff_neighbourhood_ids(request.user)
    if scope is not None:
        batches = batches.filter(neighbourhood_id__in=scope)
    batch = batches.filter(pk=batch_id).first()
    if batch is None:
        raise Http404("no such batch")
    return batch


def batch_progress(request: HttpRequest, batch_id: int) -> JsonResponse:
    batch = _batch_in_scope(request, batch_id)
    return JsonResponse(
        {
            "id": batch.pk,
            "status": batch.status,
            "status_label": str(batch.get_status_display()),
            "percent": batch.progress_percent,
            "stage": batch.progress_stage,
            "error_code": batch.error_code,
            "rounds": batch.routes.count(),
        }
    )


def as_json(value: Any) -> str:
    return json.dumps(value, default=str)
