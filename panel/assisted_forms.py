"""The forms of the permanence: what a volunteer fills in for an assisted member. Each one's
cleaned data goes to one ``assistance.services`` call; the services decide, the forms only read
the input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Consent, User, WalkingProfile
from neighbourhoods.models import Neighbourhood
from pooling.models.choices import ParcelSize, ParcelWeight
from sharing.models import Item, Loan
from sharing.taxonomy import CATEGORY_CHOICES

CONSENT_METHODS = [
    (Consent.Method.ORAL.value, Consent.Method.ORAL.label),
    (Consent.Method.PAPER.value, Consent.Method.PAPER.label),
]


def _consent_label() -> str:
    return str(
        _(
            "I read the terms of use (version %(terms)s) and the privacy notice (version "
            "%(privacy)s) to the person, who consents to them."
        )
        % {"terms": settings.TERMS_VERSION, "privacy": settings.PRIVACY_VERSION}
    )


class RegisterForm(forms.Form):
    neighbourhood = forms.ModelChoiceField(
        queryset=Neighbourhood.objects.none(), label=_("Neighbourhood")
    )
    display_name = forms.CharField(
        max_length=80,
        label=_("Name"),
        help_text=_("What neighbours will see (e.g. first name and initial)."),
    )
    phone = forms.CharField(
        max_length=32,
        required=False,
        label=_("Phone number"),
        help_text=_("For the association only; leave empty if the person has none."),
    )
    home_address = forms.CharField(
        max_length=200,
        label=_("Postal address"),
        help_text=_("Geocoded like any home; never shown to anyone."),
    )
    walking_profile = forms.ChoiceField(
        choices=WalkingProfile.choices,
        initial=WalkingProfile.WALK,
        label=_("Walking profile"),
        help_text=_("How the person gets about: walking times are computed with it."),
    )
    language = forms.ChoiceField(
        choices=User.Language.choices, initial=User.Language.FRENCH, label=_("Language")
    )
    consent_method = forms.ChoiceField(
        choices=CONSENT_METHODS,
        initial=Consent.Method.ORAL,
        widget=forms.RadioSelect,
        label=_("How the person consented"),
    )
    consent_note = forms.CharField(
        max_length=200,
        required=False,
        label=_("Where the proof is kept"),
        help_text=_("For a paper form: where it is filed."),
    )
    consent_given = forms.BooleanField(required=True, label="")

    def __init__(self, *args: Any, neighbourhoods: QuerySet[Neighbourhood], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["neighbourhood"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = neighbourhoods
        if neighbourhoods.count() == 1:
            field.initial = neighbourhoods.first()
        self.fields["consent_given"].label = _consent_label()


class ConsentForm(forms.Form):
    method = forms.ChoiceField(
        choices=CONSENT_METHODS,
        initial=Consent.Method.ORAL,
        widget=forms.RadioSelect,
        label=_("How the person consented"),
    )
    note = forms.CharField(max_length=200, required=False, label=_("Where the proof is kept"))
    given = forms.BooleanField(required=True, label="")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["given"].label = _consent_label()


class DetailsForm(forms.Form):
    phone = forms.CharField(max_length=32, required=False, label=_("Phone number"))
    walking_profile = forms.ChoiceField(choices=WalkingProfile.choices, label=_("Walking profile"))


class ItemForm(forms.Form):
    title = forms.CharField(max_length=120, label=_("Title"))
    category = forms.ChoiceField(choices=CATEGORY_CHOICES, label=_("Category"))
    description = forms.CharField(
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Description"),
    )
    condition = forms.ChoiceField(
        choices=Item.Condition.choices, initial=Item.Condition.GOOD, label=_("Condition")
    )
    deposit_cents = forms.IntegerField(
        min_value=0, max_value=100_000, initial=0, label=_("Deposit (cents)")
    )
    max_loan_days = forms.IntegerField(
        min_value=1, max_value=90, initial=7, label=_("Longest loan (days)")
    )


class SearchForm(forms.Form):
    q = forms.CharField(max_length=100, required=False, label=_("Looking for"))
    category = forms.ChoiceField(
        choices=[("", _("Every category")), *CATEGORY_CHOICES], required=False, label=_("Category")
    )
    minutes = forms.IntegerField(
        min_value=1, max_value=60, initial=15, label=_("At most (minutes on foot)")
    )


class LoanRequestForm(forms.Form):
    item = forms.IntegerField(widget=forms.HiddenInput)
    starts_at = forms.DateTimeField(
        label=_("From"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label=_("Until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    message = forms.CharField(max_length=500, required=False, label=_("Message to the lender"))


LOAN_ACTION_CHOICES = [
    ("accept", _("Accept the request")),
    ("decline", _("Decline the request")),
    ("cancel", _("Cancel")),
    ("handover", _("Confirm the handover")),
    ("return", _("Give the item back")),
    ("confirm_return", _("Confirm the item came back")),
]


class LoanActionForm(forms.Form):
    loan = forms.IntegerField(widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=LOAN_ACTION_CHOICES, widget=forms.HiddenInput)
    code = forms.RegexField(
        regex=r"^\d{6}$",
        required=False,
        label=_("Code shown on the lender's phone"),
        help_text=_("With it, the handover is confirmed for both at once."),
    )
    condition = forms.ChoiceField(
        choices=[
            (Loan.ReturnCondition.FINE.value, Loan.ReturnCondition.FINE.label),
            (Loan.ReturnCondition.WORN.value, Loan.ReturnCondition.WORN.label),
        ],
        required=False,
        label=_("Condition on return"),
    )


class OrderForm(forms.Form):
    merchant_name = forms.CharField(max_length=120, required=False, label=_("Shop"))
    carrier = forms.CharField(max_length=60, label=_("Carrier"))
    tracking_number = forms.CharField(max_length=80, required=False, label=_("Tracking number"))
    expected_on = forms.DateField(
        label=_("Expected on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    size = forms.ChoiceField(choices=ParcelSize.choices, initial=ParcelSize.S, label=_("Size"))
    weight = forms.ChoiceField(
        choices=ParcelWeight.choices, initial=ParcelWeight.LIGHT, label=_("Weight")
    )
    count = forms.IntegerField(min_value=1, max_value=5, initial=1, label=_("Number of parcels"))

    def clean_expected_on(self) -> Any:
        expected = self.cleaned_data["expected_on"]
        if expected < timezone.localdate():
            raise forms.ValidationError(_("The day is in the past."))
        return expected


class OrderReceivedForm(forms.Form):
    order = forms.IntegerField(widget=forms.HiddenInput)


class ItemWithdrawForm(forms.Form):
    item = forms.IntegerField(widget=forms.HiddenInput)


class ExportForm(forms.Form):
    """The member's request for a copy of their data (no field: the button says it)."""


class DeleteForm(forms.Form):
    """The member's request to delete their account, and the volunteer's confirmation."""

    how = forms.ChoiceField(
        label=_("How the member asked"),
        choices=[
            ("at the desk", _("in person, at the desk")),
            ("in writing", _("in writing (letter or form, kept by the association)")),
        ],
        widget=forms.RadioSelect,
    )
    name = forms.CharField(
        max_length=80,
        label=_("The member's name, to confirm"),
        help_text=_(
            "Their items are withdrawn, their requests and parcels cancelled, their home and "
            "phone erased; their loans and messages stay, shown as a former member's. This "
            "cannot be undone."
        ),
    )


class TakeOverForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label=_("The member's e-mail address"),
        help_text=_(
            "A link goes there; once the member opens it and chooses a password, the account is "
            "theirs and volunteers can no longer act for them."
        ),
    )
