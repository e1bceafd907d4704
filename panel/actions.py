"""Admin actions that call a service per row and say what happened, in plain words."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.errors import DomainError

M = TypeVar("M", bound=Model)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (the member reads it)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def run_each(
    request: HttpRequest,
    rows: Iterable[M],
    service: Callable[[M], Any],
    done_message: str,
    describe: Callable[[M], str] = str,
) -> int:
    """Calls ``service`` on each row in its own transaction (the service opens it); a refusal
    is reported for that row and the others go on."""
    done = 0
    for row in rows:
        try:
            service(row)
        except DomainError as error:
            messages.error(request, f"{describe(row)} : {error.message}")
        else:
            done += 1
    if done:
        messages.success(request, done_message % {"count": done})
    return done


def with_reason(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[M],
    *,
    action: str,
    title: str,
    intro: str,
    apply: Callable[[M, str], Any],
    done_message: str,
    describe: Callable[[M], str] = str,
) -> HttpResponse | None:
    """An action that asks for a reason first (an intermediate page, as Django's delete does)."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        reason = form.cleaned_data["reason"]
        run_each(request, queryset, lambda row: apply(row, reason), done_message, describe)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "form": form,
        "rows": [describe(row) for row in queryset],
        "queryset": queryset,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
        "submit_label": _("Confirm"),
    }
    return TemplateResponse(request, "admin/panel/action_reason.html", context)
