"""The association's admin for its neighbourhoods: the associations and their volunteers,
neighbourhoods drawn on a map, members to approve, refuse or suspend.

Every row is scoped to the neighbourhoods the user runs (``panel.scoping``); every decision goes
through the services (``neighbourhoods.services``, and ``sharing.services.suspension`` for what a
suspension does to lending).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.selectors import request_user
from neighbourhoods.models import Association, Membership, Neighbourhood
from neighbourhoods.selectors import staff_associations
from neighbourhoods.services import (
    association_open_data_set,
    membership_approve,
    membership_refuse,
    staff_grant,
)
from panel.actions import run_each, with_reason
from panel.admin.mixins import ObjectActionsMixin, ScopedGISAdmin, badge, change_link
from panel.exports import export_csv_action
from panel.scoping import ScopedModelAdmin
from sharing.models import Loan, Report
from sharing.services.suspension import member_suspend


@admin.register(Association)
class AssociationAdmin(admin.ModelAdmin):
    """Associations: a superuser creates them and names their volunteers; the volunteers choose
    whether their association publishes its figures as open data, and under which licence
    (``association_open_data_set``; docs/opendata.md)."""

    list_display = ["name", "neighbourhood_count", "open_data", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["staff"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "staff"]}),
        (
            gettext_lazy("Open data"),
            {
                "fields": ["open_data_publish", "open_data_licence", "open_data_links"],
                "description": gettext_lazy(
                    "Each closed month, per neighbourhood: loans, objects shared, wanted "
                    "requests answered, parcels pooled, km and CO2 saved. Counts under 5 are "
                    "not published and the others are rounded down to a multiple of 5."
                ),
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Association]:
        return staff_associations(request.user).annotate(n=Count("neighbourhoods"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return ["open_data_links"]
        # Volunteers change their association's open data choice, nothing else.
        return ["name", "slug", "staff", "open_data_links"]

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {"slug": ("name",)} if request.user.is_superuser else {}

    @admin.display(description=gettext_lazy("neighbourhoods"), ordering="n")
    def neighbourhood_count(self, obj: Any) -> int:
        return obj.n

    @admin.display(description=gettext_lazy("open data"), ordering="open_data_publish")
    def open_data(self, obj: Association) -> str:
        if not obj.open_data_publish:
            return _("not published")
        return obj.get_open_data_licence_display()

    @admin.display(description=gettext_lazy("published at"))
    def open_data_links(self, obj: Association) -> str:
        if obj.pk is None or not obj.open_data_publish:
            return _("Nothing is published.")
        links = [
            (reverse("opendata-dataset", kwargs={"slug": obj.slug}), _("description (DCAT)")),
            (reverse("opendata-figures-csv", kwargs={"slug": obj.slug}), "CSV"),
            (reverse("opendata-figures-json", kwargs={"slug": obj.slug}), "JSON"),
        ]
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", '<li><a href="{}">{}</a></li>', links),
        )

    def _ours(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or staff_associations(request.user).filter(pk=obj.pk).exists()

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self._ours(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._ours(request, obj)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Another association's page does not exist for this volunteer.
        if not object_id.isdigit() or not self.get_queryset(request).filter(pk=object_id).exists():
            raise Http404("not one of this volunteer's associations")
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change and not request.user.is_superuser:
            association_open_data_set(
                staff=request_user(request),
                association_id=obj.pk,
                publish=form.cleaned_data["open_data_publish"],
                licence=form.cleaned_data["open_data_licence"],
            )
            return
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # The association's staff are let into the admin, with the volunteers' permissions.
        if request.user.is_superuser:
            for user in form.instance.staff.all():
                staff_grant(user=user)


@admin.register(Neighbourhood)
class NeighbourhoodAdmin(ScopedGISAdmin):
    scope_field = "pk"
    list_display = ["name", "association", "join_policy", "active_members", "pending_members"]
    list_filter = ["join_policy", ("association", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name"]
    fields = ["association", "name", "join_policy", "area"]
    actions = [export_csv_action(["id", "name", "association", "join_policy", "created_at"])]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Neighbourhood]:
        return (
            super()
            .get_queryset(request)
            .select_related("association")
            .annotate(
                active=Count("memberships", filter=Q(memberships__status="active")),
                pending=Count("memberships", filter=Q(memberships__status="pending")),
            )
        )

    @admin.display(description=gettext_lazy("active members"), ordering="active")
    def active_members(self, obj: Any) -> int:
        return obj.active

    @admin.display(description=gettext_lazy("waiting for approval"), ordering="pending")
    def pending_members(self, obj: Any) -> str:
        if not obj.pending:
            return "0"
        url = reverse("admin:neighbourhoods_membership_changelist")
        return format_html(
            '<a href="{}?status__exact=pending&neighbourhood__id__exact={}">{}</a>',
            url,
            obj.pk,
            obj.pending,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and staff_associations(request.user).exists()


# --- members -----------------------------------------------------------------------------------


@admin.register(Membership)
class MembershipAdmin(ObjectActionsMixin, ScopedModelAdmin):
    list_display = [
        "member",
        "email",
        "neighbourhood",
        "status_badge",
        "created_at",
        "decided_at",
        "reports_about",
    ]
    list_filter = ["status", ("neighbourhood", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__email", "user__display_name"]
    list_select_related = ["user", "neighbourhood"]
    date_hierarchy = "created_at"
    actions = [
        "approve",
        "refuse",
        "suspend",
        export_csv_action(
            [
                "id",
                "user__email",
                "user__display_name",
                "neighbourhood__name",
                "status",
                "suspended_reason",
                "created_at",
                "decided_at",
            ]
        ),
    ]
    extra_readonly = ["member_reports", "member_loans"]
    fieldsets = [
        (None, {"fields": ["user", "neighbourhood", "status", "suspended_reason", "ask_me_too"]}),
        (gettext_lazy("Decision"), {"fields": ["decided_by", "decided_at", "created_at"]}),
        (gettext_lazy("Reports about this member"), {"fields": ["member_reports"]}),
        (gettext_lazy("Loans of this member"), {"fields": ["member_loans"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            "user",
            "neighbourhood",
            "status",
            "suspended_reason",
            "ask_me_too",
            "decided_by",
            "decided_at",
            "created_at",
            *self.extra_readonly,
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_reports=Count(
                    "user__reports_about",
                    filter=Q(user__reports_about__status="open"),
                    distinct=True,
                )
            )
        )

    @admin.display(description=gettext_lazy("member"), ordering="user__display_name")
    def member(self, obj: Membership) -> str:
        return obj.user.public_name if not obj.user.display_name else obj.user.display_name

    @admin.display(description=gettext_lazy("email"), ordering="user__email")
    def email(self, obj: Membership) -> str:
        return obj.user.email or ""  # an assisted member has none

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, obj: Membership) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description=gettext_lazy("open reports"), ordering="open_reports")
    def reports_about(self, obj: Any) -> int:
        return obj.open_reports

    @admin.display(description=gettext_lazy("reports"))
    def member_reports(self, obj: Membership) -> str:
        reports = Report.objects.filter(
            Q(member=obj.user) | Q(item__owner=obj.user) | Q(message__sender=obj.user),
            neighbourhood=obj.neighbourhood,
        ).order_by("-created_at")[:20]
        if not reports:
            return _("None.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} — {} — {} ({})</li>",
                (
                    (
                        change_link(r, r.created_at.strftime("%d/%m/%Y")),
                        r.get_target_display(),
                        r.reason,
                        r.get_status_display(),
                    )
                    for r in reports
                ),
            ),
        )

    @admin.display(description=gettext_lazy("loans"))
    def member_loans(self, obj: Membership) -> str:
        loans = (
            Loan.objects.filter(Q(lender=obj.user) | Q(borrower=obj.user))
            .select_related("item", "lender", "borrower")
            .order_by("-created_at")[:20]
        )
        if not loans:
            return _("None.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} — {} → {} — {}</li>",
                (
                    (
                        change_link(loan, loan.item.title),
                        loan.lender.public_name,
                        loan.borrower.public_name,
                        loan.get_status_display(),
                    )
                    for loan in loans
                ),
            ),
        )

    def object_actions(self, obj: Membership) -> list[tuple[str, Any]]:
        return [("approve", _("Approve")), ("refuse", _("Refuse")), ("suspend", _("Suspend…"))]

    def object_links(self, obj: Membership) -> list[tuple[str, Any]]:
        if not obj.user.is_active:
            return []
        url = reverse("admin:panel_member_sheet", args=[obj.user_id])
        return [(url, _("Print the member's sheet (PDF)"))]

    def _describe(self, membership: Any) -> str:
        return f"{membership.user} ({membership.neighbourhood})"

    @admin.action(description=gettext_lazy("Approve the selected members"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        run_each(
            request,
            queryset.select_related("user", "neighbourhood"),
            lambda m: membership_approve(staff=request_user(request), membership_id=m.pk),
            _("%(count)d member(s) approved."),
            self._describe,
        )

    @admin.action(description=gettext_lazy("Refuse the selected requests"), permissions=["change"])
    def refuse(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        run_each(
            request,
            queryset.select_related("user", "neighbourhood"),
            lambda m: membership_refuse(staff=request_user(request), membership_id=m.pk),
            _("%(count)d request(s) refused."),
            self._describe,
        )

    @admin.action(description=gettext_lazy("Suspend the selected members…"), permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Membership]) -> HttpResponse | None:
        return with_reason(
            self,
            request,
            queryset.select_related("user", "neighbourhood"),
            action="suspend",
            title=_("Suspend members"),
            intro=_(
                "A suspended member can no longer lend or borrow: their items are hidden, their "
                "requests and loans that have not started are cancelled. They are told why."
            ),
            apply=lambda m, reason: member_suspend(
                staff=request_user(request),
                membership_id=m.pk,
                reason=reason,
            ),
            done_message=_("%(count)d member(s) suspended."),
            describe=self._describe,
        )


# --- moderation queue --------------------------------------------------------------------------
