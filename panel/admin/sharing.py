"""The association's admin for neighbour lending: the moderation queue, items, loans and
disputes.

Every row is scoped to the neighbourhoods the user runs (``panel.scoping``); every decision goes
through the services of ``sharing.services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.selectors import request_user
from panel.actions import run_each, with_reason
from panel.admin.mixins import ObjectActionsMixin, ReadOnlyMixin, badge, change_link
from panel.exports import export_csv_action
from panel.scoping import ScopedModelAdmin, members_of
from sharing.codes import item_code_read
from sharing.models import Item, Loan, Report
from sharing.services.loans import loan_dispute_settle
from sharing.services.trust import report_dismiss, report_hide, report_suspend


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
                '<span class="panel-queue-subject">{}</span>{}', change_link(obj.item), hidden
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
        return (obj.member.email or "") if obj.member else ""

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
            lambda r: report_hide(staff=request_user(request), report_id=r.pk),
            _("%(count)d report(s) handled: hidden."),
        )

    @admin.action(description=gettext_lazy("Dismiss the selected reports"), permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        run_each(
            request,
            queryset,
            lambda r: report_dismiss(staff=request_user(request), report_id=r.pk),
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
                staff=request_user(request),
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
        "code",
        "owner",
        "category",
        "condition",
        "status_label",
        "open_reports",
        "created_at",
    ]
    list_filter = ["status", "category", "condition"]
    # A code read from a sheet finds its item (exactly, in any case).
    search_fields = ["=code", "title", "description", "owner__email", "owner__display_name"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    exclude = ["location", "search", "title_norm"]
    actions = [
        export_csv_action(
            ["id", "code", "title", "category", "condition", "status", "owner__email", "created_at"]
        )
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            "owner",
            "title",
            "code",
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

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # A code as a volunteer may type it from paper ("abc-d2f") is searched as stored.
        return super().get_search_results(
            request, queryset, item_code_read(search_term) or search_term
        )

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
                staff=request_user(request),
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
