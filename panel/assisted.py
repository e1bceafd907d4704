"""The permanence: a volunteer acts in the panel for the assisted members of their association
(residents without a smartphone, registered at the association's desk).

Three pages: the list of assisted members, registering one, and one member's permanence page,
whose forms list an item, search nearby items with the member's profile, ask to borrow, take
each step of a loan, declare a parcel and confirm it was received, record the consent again, and
send the link to take the account over. Every page asks ``assistance.selectors`` who may act for
whom (a 404 otherwise, for another association's volunteer too); every form calls one
``assistance.services`` function, which records the action with both names.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import DataExport, User
from accounts.permissions import consent_current
from accounts.selectors import request_user
from assistance import selectors, services
from assistance.errors import AssistedMemberNotFoundError
from backend.errors import DomainError
from panel.assisted_forms import (
    ConsentForm,
    DeleteForm,
    DetailsForm,
    ExportForm,
    ItemForm,
    ItemWithdrawForm,
    LoanActionForm,
    LoanRequestForm,
    OrderForm,
    OrderReceivedForm,
    RegisterForm,
    SearchForm,
    TakeOverForm,
)
from pooling.services.orders import ParcelIn
from sharing.models import Loan

SEARCH_PAGE = 20


def _context(request: HttpRequest, title: str) -> dict[str, Any]:
    from django.contrib import admin

    return {**admin.site.each_context(request), "title": title}


def _volunteer(request: HttpRequest) -> User:
    """The signed-in volunteer; 403 for staff who run no neighbourhood."""
    user = request_user(request)
    if not selectors.assistance_neighbourhoods(user).exists():
        raise PermissionDenied
    return user


def _member(request: HttpRequest, member_id: int) -> User:
    try:
        return selectors.assistance_require(request.user, member_id, consent=False)
    except AssistedMemberNotFoundError:
        raise Http404("no such assisted member") from None


def _errors_into(form: forms.Form, error: DomainError) -> None:
    """A service's refusal shown on the form: its field messages where the form has the field,
    the message otherwise."""
    placed = False
    for field, texts in error.fields.items():
        if field in form.fields and isinstance(texts, list):
            for text in texts:
                form.add_error(field, str(text))
            placed = True
    if not placed:
        form.add_error(None, str(error.message))


def assisted_list(request: HttpRequest) -> TemplateResponse:
    volunteer = _volunteer(request)
    members = list(selectors.assisted_members_for(volunteer).prefetch_related("memberships"))
    rows = [
        {
            "member": member,
            "consent_current": consent_current(member),
            "url": reverse("admin:panel_assisted_member", args=[member.pk]),
        }
        for member in members
    ]
    context = {**_context(request, _("Assisted members")), "rows": rows}
    return TemplateResponse(request, "admin/panel/assisted_list.html", context)


def assisted_register(request: HttpRequest) -> HttpResponse:
    volunteer = _volunteer(request)
    form = RegisterForm(
        request.POST or None, neighbourhoods=selectors.assistance_neighbourhoods(volunteer)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = services.assisted_member_register(
                volunteer=volunteer,
                neighbourhood_id=data["neighbourhood"].pk,
                display_name=data["display_name"],
                phone=data["phone"],
                home_address=data["home_address"],
                walking_profile=data["walking_profile"],
                language=data["language"],
                consent_given=data["consent_given"],
                consent_method=data["consent_method"],
                consent_note=data["consent_note"],
            )
        except DomainError as error:
            _errors_into(form, error)
        else:
            messages.success(
                request,
                _("%(name)s is registered: their permanence page is below.")
                % {"name": membership.user.display_name},
            )
            return redirect("admin:panel_assisted_member", member_id=membership.user_id)
    context = {**_context(request, _("Register an assisted member")), "form": form}
    return TemplateResponse(request, "admin/panel/assisted_register.html", context)


# --- one member's permanence ---------------------------------------------------------------------

# The page's forms, by the name their submit button posts as ``form``.
FORMS: dict[str, type[forms.Form]] = {
    "item": ItemForm,
    "item_withdraw": ItemWithdrawForm,
    "loan_request": LoanRequestForm,
    "loan_action": LoanActionForm,
    "order": OrderForm,
    "order_received": OrderReceivedForm,
    "consent": ConsentForm,
    "details": DetailsForm,
    "take_over": TakeOverForm,
    "delete": DeleteForm,
    "export": ExportForm,
}


def _act(name: str, volunteer: User, member: User, data: dict[str, Any]) -> str:
    """Runs the form ``name``'s service; returns the message to show."""
    member_id = member.pk
    if name == "item":
        item = services.assisted_item_create(volunteer=volunteer, member_id=member_id, **data)
        return _("“%(title)s” is listed for %(name)s.") % {
            "title": item.title,
            "name": member.display_name,
        }
    if name == "item_withdraw":
        item = services.assisted_item_withdraw(
            volunteer=volunteer, member_id=member_id, item_id=data["item"]
        )
        return _("“%(title)s” is withdrawn.") % {"title": item.title}
    if name == "loan_request":
        loan = services.assisted_loan_request(
            volunteer=volunteer,
            member_id=member_id,
            item_id=data["item"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            message=data["message"],
        )
        return _("The request for “%(title)s” is sent to its lender.") % {"title": loan.item.title}
    if name == "loan_action":
        loan = services.assisted_loan_act(
            volunteer=volunteer,
            member_id=member_id,
            loan_id=data["loan"],
            action=data["action"],
            code=data.get("code") or "",
            condition=data.get("condition") or "",
        )
        return _("Loan of “%(title)s”: %(status)s.") % {
            "title": loan.item.title,
            "status": loan.get_status_display(),
        }
    if name == "order":
        order = services.assisted_order_declare(
            volunteer=volunteer,
            member_id=member_id,
            merchant_name=data["merchant_name"],
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            expected_on=data["expected_on"],
            parcels=[ParcelIn(size=data["size"], weight=data["weight"])] * data["count"],
        )
        return _("The parcel from %(merchant)s is declared.") % {"merchant": order.merchant_name}
    if name == "order_received":
        order = services.assisted_order_received(
            volunteer=volunteer, member_id=member_id, order_id=data["order"]
        )
        return _("The parcel from %(merchant)s is received.") % {"merchant": order.merchant_name}
    if name == "consent":
        services.assisted_member_consent(
            volunteer=volunteer, member_id=member_id, method=data["method"], note=data["note"]
        )
        return _("The consent is recorded.")
    if name == "export":
        services.assisted_member_export(volunteer=volunteer, member_id=member_id)
        return _(
            "The copy of the member's data is being prepared: reload this page in a moment to "
            "download it."
        )
    if name == "details":
        services.assisted_member_details(
            volunteer=volunteer,
            member_id=member_id,
            phone=data["phone"],
            walking_profile=data["walking_profile"],
        )
        return _("The details are saved.")
    services.assisted_member_take_over(
        volunteer=volunteer, member_id=member_id, email=data["email"]
    )
    return _("A link is on its way to %(email)s: the member opens it to choose a password.") % {
        "email": data["email"]
    }


def _search(request: HttpRequest, member: User) -> dict[str, Any]:
    """The nearby search of the page (``?q=&category=&minutes=``), as the member's app would."""
    if "minutes" not in request.GET:
        return {"form": SearchForm(initial={"minutes": 15}), "results": None}
    form = SearchForm(request.GET)
    if not form.is_valid():
        return {"form": form, "results": None}
    try:
        search = selectors.assisted_items_nearby(
            member=member,
            minutes=form.cleaned_data["minutes"],
            q=form.cleaned_data["q"],
            category=form.cleaned_data["category"],
        )
        items = search.page(0, SEARCH_PAGE)
    except DomainError as error:
        _errors_into(form, error)
        return {"form": form, "results": None}
    # By default: from tomorrow 10:00, for up to three days.
    start = (timezone.localtime() + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    results = [
        {
            "item": item,
            "minutes": max(1, round(getattr(item, "travel_seconds", 0) / 60)),
            "form": LoanRequestForm(
                initial={
                    "item": item.pk,
                    "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                    "ends_at": (start + timedelta(days=min(item.max_loan_days, 3))).strftime(
                        "%Y-%m-%dT%H:%M"
                    ),
                },
                prefix=f"item{item.pk}",
            ),
        }
        for item in items
    ]
    return {"form": form, "results": results}


def _loan_steps(loan: Loan, member: User) -> list[tuple[str, str]]:
    """The steps of ``loan`` the member may take now, as (action, label)."""
    lender = loan.lender_id == member.pk
    status = loan.status
    steps: list[tuple[str, str]] = []
    if status == Loan.Status.REQUESTED:
        steps = (
            [("accept", _("Accept")), ("decline", _("Decline"))]
            if lender
            else [("cancel", _("Cancel the request"))]
        )
    elif status == Loan.Status.ACCEPTED:
        confirmed = loan.lender_handover_at if lender else loan.borrower_handover_at
        if not confirmed:
            steps.append(("handover", _("Confirm the handover")))
        if loan.period.lower > timezone.now():
            steps.append(("cancel", _("Cancel the loan")))
    elif status == Loan.Status.ACTIVE and not lender:
        steps = [("return", _("Give the item back"))]
    elif status == Loan.Status.RETURNED and lender:
        steps = [("confirm_return", _("Confirm the item came back"))]
    return steps


def assisted_member(request: HttpRequest, member_id: int) -> HttpResponse:
    volunteer = request_user(request)
    member = _member(request, member_id)
    bound: dict[str, forms.Form] = {}
    if request.method == "POST":
        name = request.POST.get("form", "")
        form_class = FORMS.get(name)
        if form_class is None:
            raise Http404("no such form")
        prefix = request.POST.get("prefix") or None
        form = form_class(request.POST, prefix=prefix)
        if (
            name == "delete"
            and form.is_valid()
            and form.cleaned_data["name"] != member.display_name
        ):
            form.add_error("name", _("This is not the member's name."))
        if name == "delete" and form.is_valid():
            try:
                services.assisted_member_delete(
                    volunteer=volunteer, member_id=member.pk, how=form.cleaned_data["how"]
                )
            except AssistedMemberNotFoundError:
                raise Http404("no such assisted member") from None
            except DomainError as error:
                _errors_into(form, error)
            else:
                messages.success(request, _("The member's account is deleted."))
                return redirect(reverse("admin:panel_assisted_list"))
        elif form.is_valid():
            try:
                message = _act(name, volunteer, member, form.cleaned_data)
            except AssistedMemberNotFoundError:
                raise Http404("no such assisted member") from None
            except DomainError as error:
                _errors_into(form, error)
            else:
                messages.success(request, message)
                if name == "take_over":
                    messages.info(
                        request,
                        _("Until the member opens it, you can still act for them."),
                    )
                return redirect(reverse("admin:panel_assisted_member", args=[member.pk]))
        messages.error(request, _("Nothing was done: see the form below."))
        bound[name if not prefix else f"{name}:{prefix}"] = form
    return _member_page(request, member, bound)


def _member_page(
    request: HttpRequest, member: User, bound: dict[str, forms.Form]
) -> TemplateResponse:
    def pick(name: str, make: Callable[[], forms.Form]) -> forms.Form:
        return bound.get(name) or make()

    search = _search(request, member)
    if search["results"] is not None:
        for row in search["results"]:
            key = f"loan_request:item{row['item'].pk}"
            if key in bound:
                row["form"] = bound[key]
    loans = [
        {
            "loan": loan,
            "role": "lender" if loan.lender_id == member.pk else "borrower",
            "other": loan.borrower if loan.lender_id == member.pk else loan.lender,
            "steps": _loan_steps(loan, member),
            "form": bound.get(f"loan_action:loan{loan.pk}")
            or LoanActionForm(initial={"loan": loan.pk}, prefix=f"loan{loan.pk}"),
        }
        for loan in selectors.member_loans(member)
    ]
    context = {
        **_context(request, _("Permanence: %(name)s") % {"name": member.display_name}),
        "member": member,
        "consent_current": consent_current(member),
        "terms_version": settings.TERMS_VERSION,
        "privacy_version": settings.PRIVACY_VERSION,
        "memberships": selectors.member_neighbourhoods(member),
        "items": selectors.member_items(member),
        "loans": loans,
        "orders": selectors.member_orders(member),
        "history": selectors.member_history(member),
        "exports": list(DataExport.objects.filter(user=member).order_by("-created_at")[:5]),
        "export_form": pick("export", ExportForm),
        "search": search,
        "item_form": pick("item", ItemForm),
        "order_form": pick(
            "order", lambda: OrderForm(initial={"expected_on": timezone.localdate()})
        ),
        "consent_form": pick("consent", ConsentForm),
        "details_form": pick(
            "details",
            lambda: DetailsForm(
                initial={"phone": member.phone, "walking_profile": member.walking_profile}
            ),
        ),
        "take_over_form": pick("take_over", TakeOverForm),
        "delete_form": pick("delete", DeleteForm),
    }
    return TemplateResponse(request, "admin/panel/assisted_member.html", context)


def assisted_export_download(request: HttpRequest, member_id: int, export_id: str) -> FileResponse:
    """A ready copy of the member's data, downloaded by the volunteer who hands it over."""
    volunteer = request_user(request)
    try:
        data_export, path = services.assisted_member_export_file(
            volunteer=volunteer, member_id=member_id, export_id=export_id
        )
    except AssistedMemberNotFoundError:
        raise Http404("no such assisted member") from None
    except DomainError as error:  # not ready, expired, another member's
        raise Http404(str(error.message)) from None
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"voisinage-{data_export.created_at:%Y-%m-%d}.zip",
        content_type="application/zip",
    )
