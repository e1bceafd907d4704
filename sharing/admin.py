"""The association's admin for neighbour lending: neighbourhoods drawn on a map, members to
approve or suspend, the moderation queue, items, loans and disputes.

Every row is scoped to the neighbourhoods of the associations the user is staff of
(``backend.panel.scoping``); every decision goes through the services of ``sharing.services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.map_widgets import LocalMapWidget
from backend.panel.actions import run_each, with_reason
from backend.panel.exports import export_csv_action
from backend.panel.scoping import (
    ScopedModelAdmin,
    association_scope,
    members_of,
)
from backend.panel.staff import staff_grant
from sharing.models import Association, Item, Loan, Membership, Neighbourhood, Report
from sharing.services.loans import loan_dispute_settle
from sharing.services.trust import (
    member_approve,
    member_refuse,
    member_suspend,
    report_dismiss,
    report_hide,
    report_suspend,
)

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


class ReadOnlyMixin:
    """Volunteers read these rows; they change them only through the actions."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        model_fields = [f.name for f in self.model._meta.fields]  # type: ignore[attr-defined]
        return [*model_fields, *getattr(self, "extra_readonly", ())]


class ObjectActionsMixin(ReadOnlyMixin):
    """A read-only change page whose buttons are the list's actions for this one row
    (``object_actions``), shown to those who may change it; no save or delete button."""

    change_form_template = "admin/panel/change_form_actions.html"

    def object_actions(self, obj: Any) -> list[tuple[str, Any]]:
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
        obj = self.get_object(request, object_id)  # type: ignore[attr-defined]
        if obj is not None and self.has_change_permission(request):  # type: ignore[attr-defined]
            extra["panel_object_actions"] = self.object_actions(obj)
        return super().change_view(request, object_id, form_url, extra)  # type: ignore[misc]


def _change_link(obj: Any, label: Any = None) -> str:
    if obj is None:
        return "—"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else obj)


# --- associations and neighbourhoods -----------------------------------------------------------


@admin.register(Association)
class AssociationAdmin(admin.ModelAdmin):
    list_display = ["name", "neighbourhood_count", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["staff"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Association]:
        return association_scope(request.user).annotate(n=Count("neighbourhoods"))

    @admin.display(description=gettext_lazy("neighbourhoods"), ordering="n")
    def neighbourhood_count(self, obj: Any) -> int:
        return obj.n

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_view_permission(request, obj)
        return allowed and (
            obj is None or association_scope(request.user).filter(pk=obj.pk).exists()
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # The association's staff are let into the admin, with the volunteers' permissions.
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
        url = reverse("admin:sharing_membership_changelist")
        return format_html(
            '<a href="{}?status__exact=pending&neighbourhood__id__exact={}">{}</a>',
            url,
            obj.pk,
            obj.pending,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and association_scope(request.user).exists()


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
        return obj.user.email

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
                        _change_link(r, r.created_at.strftime("%d/%m/%Y")),
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
                        _change_link(loan, loan.item.title),
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

    def _describe(self, membership: Any) -> str:
        return f"{membership.user} ({membership.neighbourhood})"

    @admin.action(description=gettext_lazy("Approve the selected members"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        run_each(
            request,
            queryset.select_related("user", "neighbourhood"),
            lambda m: member_approve(staff=request.user, membership_id=m.pk),  # type: ignore[arg-type]
            _("%(count)d member(s) approved."),
            self._describe,
        )

    @admin.action(description=gettext_lazy("Refuse the selected requests"), permissions=["change"])
    def refuse(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        run_each(
            request,
            queryset.select_related("user", "neighbourhood"),
            lambda m: member_refuse(staff=request.user, membership_id=m.pk),  # type: ignore[arg-type]
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
                staff=request.user,  # type: ignore[arg-type]
                membership_id=m.pk,
                reason=reason,
            ),
            done_message=_("%(count)d member(s) suspended."),
            describe=self._describe,
        )


# --- moderation queue --------------------------------------------------------------------------


@admin.register(Report)
class ReportAdmin(ObjectActionsMixin, ScopedModelAdmin):
    list_display = [
        "created_at",
        "target_badge",
        "subject",
        "subject_person",
        "reason_text",
        "reporter_name",
        "neighbourhood",
        "status_badge",
    ]
    list_filter = ["status", "target", ("neighbourhood", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["reason", "item__title", "message__body", "member__email", "reporter__email"]
    list_select_related = ["reporter", "item__owner", "message__sender", "member", "neighbourhood"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    actions = [
        "hide",
        "dismiss",
        "suspend_person",
        export_csv_action(
            [
                "id",
                "created_at",
                "target",
                "reason",
                "status",
                "reporter__email",
                "neighbourhood__name",
                "handled_at",
            ]
        ),
    ]
    extra_readonly = ["subject", "subject_person", "subject_detail"]
    fields = [
        "status",
        "target",
        "subject",
        "subject_person",
        "subject_detail",
        "reason",
        "reporter",
        "neighbourhood",
        "created_at",
        "handled_by",
        "handled_at",
    ]

    @admin.display(description=gettext_lazy("what"), ordering="target")
    def target_badge(self, obj: Report) -> str:
        return obj.get_target_display()

    @admin.display(description=gettext_lazy("reported"))
    def subject(self, obj: Report) -> str:
        if obj.item is not None:
            hidden = _(" (hidden)") if obj.item.status == Item.Status.HIDDEN else ""
            return format_html(
                '<span class="panel-queue-subject">{}</span>{}', _change_link(obj.item), hidden
            )
        if obj.message is not None:
            text = obj.message.body if len(obj.message.body) < 120 else obj.message.body[:117] + "…"
            hidden = _(" (hidden)") if obj.message.hidden else ""
            return format_html('<span class="panel-queue-subject">« {} »</span>{}', text, hidden)
        return format_html('<span class="panel-queue-subject">{}</span>', obj.member)

    @admin.display(description=gettext_lazy("by / about"))
    def subject_person(self, obj: Report) -> str:
        person = (
            obj.item.owner
            if obj.item is not None
            else obj.message.sender
            if obj.message is not None
            else obj.member
        )
        return str(person)

    @admin.display(description=gettext_lazy("details"))
    def subject_detail(self, obj: Report) -> str:
        if obj.item is not None:
            return format_html("{}<br>{}", obj.item.title, obj.item.description)
        if obj.message is not None:
            return obj.message.body
        return obj.member.email if obj.member else ""

    @admin.display(description=gettext_lazy("reason"))
    def reason_text(self, obj: Report) -> str:
        return format_html('<span class="panel-queue-reason">{}</span>', obj.reason)

    @admin.display(description=gettext_lazy("reported by"), ordering="reporter__email")
    def reporter_name(self, obj: Report) -> str:
        return str(obj.reporter)

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, obj: Report) -> str:
        return badge(obj.status, obj.get_status_display())

    def object_actions(self, obj: Report) -> list[tuple[str, Any]]:
        if obj.status != Report.Status.OPEN:
            return []
        return [
            *([] if obj.target == Report.Target.MEMBER else [("hide", _("Hide"))]),
            ("dismiss", _("Dismiss")),
            ("suspend_person", _("Suspend the person…")),
        ]

    @admin.action(
        description=gettext_lazy("Hide the reported item or message"), permissions=["change"]
    )
    def hide(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        run_each(
            request,
            queryset,
            lambda r: report_hide(staff=request.user, report_id=r.pk),  # type: ignore[arg-type]
            _("%(count)d report(s) handled: hidden."),
        )

    @admin.action(description=gettext_lazy("Dismiss the selected reports"), permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        run_each(
            request,
            queryset,
            lambda r: report_dismiss(staff=request.user, report_id=r.pk),  # type: ignore[arg-type]
            _("%(count)d report(s) dismissed."),
        )

    @admin.action(description=gettext_lazy("Suspend the person reported…"), permissions=["change"])
    def suspend_person(
        self, request: HttpRequest, queryset: QuerySet[Report]
    ) -> HttpResponse | None:
        return with_reason(
            self,
            request,
            queryset,
            action="suspend_person",
            title=_("Suspend the people reported"),
            intro=_(
                "The owner of the item, the sender of the message or the member reported is "
                "suspended in the report's neighbourhood, and told why."
            ),
            apply=lambda r, reason: report_suspend(
                staff=request.user,  # type: ignore[arg-type]
                report_id=r.pk,
                reason=reason,
            ),
            done_message=_("%(count)d report(s) handled: suspended."),
        )


# --- items and loans ---------------------------------------------------------------------------


@admin.register(Item)
class ItemAdmin(ReadOnlyMixin, ScopedModelAdmin):
    list_display = [
        "title",
        "owner",
        "category",
        "condition",
        "status_label",
        "open_reports",
        "created_at",
    ]
    list_filter = ["status", "category", "condition"]
    search_fields = ["title", "description", "owner__email", "owner__display_name"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    exclude = ["location", "search", "title_norm"]
    actions = [
        export_csv_action(
            ["id", "title", "category", "condition", "status", "owner__email", "created_at"]
        )
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            "owner",
            "title",
            "description",
            "category",
            "condition",
            "deposit_cents",
            "max_loan_days",
            "status",
            "created_at",
            "updated_at",
        ]

    def scope_queryset(self, queryset: QuerySet[Any], scope: list[int]) -> QuerySet[Any]:
        return queryset.filter(members_of(scope, user_field="owner_id"))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Item]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_reports=Count("reports", filter=Q(reports__status="open")))
        )

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, obj: Item) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description=gettext_lazy("open reports"), ordering="n_reports")
    def open_reports(self, obj: Any) -> int:
        return obj.n_reports


class DisputeFilter(admin.SimpleListFilter):
    title = gettext_lazy("follow-up")
    parameter_name = "follow"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("disputed", gettext_lazy("In dispute")),
            ("overdue", gettext_lazy("Overdue")),
            ("damaged", gettext_lazy("Returned damaged")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Loan]) -> QuerySet[Loan] | None:
        if self.value() == "disputed":
            return queryset.filter(status=Loan.Status.DISPUTED)
        if self.value() == "overdue":
            return queryset.filter(status=Loan.Status.ACTIVE, period__endswith__lt=timezone.now())
        if self.value() == "damaged":
            return queryset.filter(return_condition=Loan.ReturnCondition.DAMAGED)
        return None


@admin.register(Loan)
class LoanAdmin(ObjectActionsMixin, ScopedModelAdmin):
    list_display = ["item", "lender", "borrower", "starts", "ends", "status_label", "created_at"]
    list_filter = [DisputeFilter, "status", "return_condition"]
    search_fields = ["item__title", "lender__email", "borrower__email", "dispute_reason"]
    list_select_related = ["item", "lender", "borrower"]
    date_hierarchy = "created_at"
    actions = [
        "settle_dispute",
        export_csv_action(
            [
                "id",
                "item__title",
                "lender__email",
                "borrower__email",
                "status",
                "created_at",
                "return_condition",
                "dispute_reason",
                "dispute_resolution",
            ]
        ),
    ]
    extra_readonly = ["starts", "ends", "conversation_messages"]
    fields = [
        "item",
        "lender",
        "borrower",
        "status",
        "starts",
        "ends",
        "message",
        "return_condition",
        "return_note",
        "dispute_reason",
        "dispute_resolution",
        "dispute_resolved_by",
        "dispute_resolved_at",
        "renewals",
        "created_at",
        "closed_at",
        "conversation_messages",
    ]

    def object_actions(self, obj: Loan) -> list[tuple[str, Any]]:
        if obj.status != Loan.Status.DISPUTED:
            return []
        return [("settle_dispute", _("Settle the dispute…"))]

    @admin.action(description=gettext_lazy("Settle the selected disputes…"), permissions=["change"])
    def settle_dispute(self, request: HttpRequest, queryset: QuerySet[Loan]) -> HttpResponse | None:
        return with_reason(
            self,
            request,
            queryset.select_related("item", "lender", "borrower"),
            action="settle_dispute",
            title=_("Settle disputes"),
            intro=_(
                "Write what the association decided (the item was returned, the deposit is "
                "kept, …). The loan is closed and both neighbours receive this text."
            ),
            apply=lambda loan, text: loan_dispute_settle(
                staff=request.user,  # type: ignore[arg-type]
                loan_id=loan.pk,
                resolution=text,
            ),
            done_message=_("%(count)d dispute(s) settled."),
            describe=lambda loan: f"{loan.item} — {loan.lender} / {loan.borrower}",
        )

    def scope_queryset(self, queryset: QuerySet[Any], scope: list[int]) -> QuerySet[Any]:
        return queryset.filter(members_of(scope, user_field="lender_id"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields

    @admin.display(description=gettext_lazy("from"))
    def starts(self, obj: Loan) -> Any:
        return obj.period.lower if obj.period else None

    @admin.display(description=gettext_lazy("to"))
    def ends(self, obj: Loan) -> Any:
        return obj.period.upper if obj.period else None

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, obj: Loan) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description=gettext_lazy("conversation"))
    def conversation_messages(self, obj: Loan) -> str:
        conversation = getattr(obj, "conversation", None)
        if conversation is None:
            return _("No message.")
        rows = conversation.messages.select_related("sender").order_by("created_at")[:50]
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong> ({}) : {}</li>",
                (
                    (
                        m.sender.public_name,
                        timezone.localtime(m.created_at).strftime("%d/%m %H:%M"),
                        _("[hidden by moderation]") if m.hidden else m.body,
                    )
                    for m in rows
                ),
            ),
        )
