"""Paper from the panel, as PDF downloads (panel/paper/): the noticeboard's sheet of a
neighbourhood (its form, then the PDF) and a member's own sheet.

Both read through the volunteer's scope (``staff_neighbourhood_ids``): a neighbourhood, a relay
point or a member outside it is a 404, a staff user of no association is refused (403).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.geocoding import geocode_address
from backend.errors import DomainError
from neighbourhoods.models import Neighbourhood
from neighbourhoods.selectors import Scope, staff_neighbourhood_ids
from panel.paper.member import member_sheet, member_sheet_pdf
from panel.paper.noticeboard import noticeboard_pdf, noticeboard_sheet
from panel.scoping import scoped_people
from panel.views import _admin_context
from pooling.models import RelayPoint, WalkProfile

MINUTES_MAX = 60


class RelayChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.neighbourhood.name})" if obj.neighbourhood else str(obj.name)


class NoticeboardForm(forms.Form):
    """Which items: a neighbourhood's, within some minutes of a place, for a way of walking. The
    place is one of its relay points (a shop, a locker, a post office: never a neighbour host's
    home), or a place named and its address, found by the geocoders."""

    neighbourhood = forms.ModelChoiceField(
        queryset=Neighbourhood.objects.none(), label=gettext_lazy("Neighbourhood")
    )
    relay_point = RelayChoiceField(
        queryset=RelayPoint.objects.none(),
        required=False,
        label=gettext_lazy("From a relay point"),
    )
    place_name = forms.CharField(
        max_length=120,
        required=False,
        label=gettext_lazy("Or from a place: its name"),
        help_text=gettext_lazy("The library, the town hall, the community centre…"),
    )
    address = forms.CharField(max_length=200, required=False, label=gettext_lazy("Its address"))
    minutes = forms.IntegerField(
        min_value=1,
        max_value=MINUTES_MAX,
        initial=10,
        label=gettext_lazy("Minutes of walking, at most"),
    )
    profile = forms.ChoiceField(
        choices=WalkProfile.choices, initial=WalkProfile.WALK, label=gettext_lazy("Walking")
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        neighbourhoods = Neighbourhood.objects.select_related("association").order_by("name")
        relays = (
            RelayPoint.objects.filter(is_active=True, neighbourhood__isnull=False)
            .exclude(kind=RelayPoint.Kind.NEIGHBOUR_HOST)
            .select_related("neighbourhood")
            .order_by("neighbourhood__name", "name")
        )
        if scope is not None:
            neighbourhoods = neighbourhoods.filter(pk__in=scope)
            relays = relays.filter(neighbourhood_id__in=scope)
        self.fields["neighbourhood"].queryset = neighbourhoods  # type: ignore[attr-defined]
        self.fields["relay_point"].queryset = relays  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        relay, address = data.get("relay_point"), (data.get("address") or "").strip()
        data["address"] = address
        if relay is None and not address:
            raise forms.ValidationError(_("Choose a relay point, or give a place and its address."))
        if relay is not None and address:
            raise forms.ValidationError(_("Choose a relay point or an address, not both."))
        neighbourhood = data.get("neighbourhood")
        if relay is not None and neighbourhood and relay.neighbourhood_id != neighbourhood.pk:
            self.add_error("relay_point", _("This relay point is in another neighbourhood."))
        return data


def _scope(request: HttpRequest, permission: str) -> Scope:
    if not request.user.has_perm(permission):
        raise PermissionDenied
    scope = staff_neighbourhood_ids(request.user)
    if scope is not None and not scope:
        raise PermissionDenied
    return scope


def _form_page(request: HttpRequest, form: NoticeboardForm, status: int = 200) -> TemplateResponse:
    context = {**_admin_context(request, _("A sheet for the noticeboard")), "form": form}
    return TemplateResponse(request, "admin/panel/noticeboard_form.html", context, status=status)


def noticeboard_form(request: HttpRequest) -> TemplateResponse:
    scope = _scope(request, "sharing.view_item")
    return _form_page(request, NoticeboardForm(scope=scope))


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _outside_scope_is_404(request: HttpRequest, scope: Scope) -> None:
    """A neighbourhood or a relay point of another association does not exist for this user."""
    if scope is None:
        return
    raw = request.GET.get("neighbourhood", "")
    if raw.isdigit() and int(raw) not in scope:
        raise Http404("no such neighbourhood")
    raw = request.GET.get("relay_point", "")
    if (
        raw.isdigit()
        and RelayPoint.objects.filter(pk=int(raw)).exclude(neighbourhood_id__in=scope).exists()
    ):
        raise Http404("no such relay point")


def noticeboard_download(request: HttpRequest) -> HttpResponse:
    """``GET /admin/paper/noticeboard.pdf?neighbourhood=&relay_point=|place_name=&address=
    &minutes=&profile=``: the sheet as a PDF; the form again with what is wrong (400)."""
    scope = _scope(request, "sharing.view_item")
    _outside_scope_is_404(request, scope)
    form = NoticeboardForm(request.GET, scope=scope)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    data = form.cleaned_data
    neighbourhood: Neighbourhood = data["neighbourhood"]
    relay: RelayPoint | None = data["relay_point"]
    if relay is not None:
        origin: Point = relay.public_location
        place_name, place_address = relay.name, relay.address_label
    else:
        try:
            found = geocode_address(data["address"])
        except DomainError as error:
            form.add_error("address", str(error.message))
            return _form_page(request, form, status=400)
        origin = found.point
        place_name = data["place_name"].strip() or found.label or data["address"]
        place_address = found.label or data["address"]
    try:
        sheet = noticeboard_sheet(
            neighbourhood=neighbourhood,
            origin=origin,
            place_name=place_name,
            place_address=place_address,
            minutes=data["minutes"],
            profile=data["profile"],
        )
    except DomainError as error:  # a place off the street graph
        form.add_error(None, str(error.message))
        return _form_page(request, form, status=400)
    name = f"voisinage-noticeboard-{slugify(neighbourhood.name) or neighbourhood.pk}"
    return _pdf(noticeboard_pdf(sheet), f"{name}-{timezone.localdate():%Y%m%d}.pdf")


def member_sheet_download(request: HttpRequest, user_id: int) -> HttpResponse:
    """``GET /admin/paper/members/<user id>.pdf``: a member's own sheet, for a member of the
    volunteer's neighbourhoods only (404 for anyone else)."""
    scope = _scope(request, "neighbourhoods.view_membership")
    member = scoped_people(scope).filter(pk=user_id, is_active=True).first()
    if member is None:
        raise Http404("not a member of this association's neighbourhoods")
    sheet = member_sheet(member=member, scope=scope)
    return _pdf(
        member_sheet_pdf(sheet), f"voisinage-member-{member.pk}-{timezone.localdate():%Y%m%d}.pdf"
    )
