"""What volunteers did on behalf of assisted members: one row per action, with both names.

An assisted member (``accounts.User.is_assisted``) is a resident without a smartphone whom a
volunteer of the association registered; at the association's permanence the volunteer acts for
them in the panel, through the domains' own services with the member as the actor (neighbours see
the member, never the volunteer). Each such action is recorded here: who acted, for whom, what,
on which object, when. Kept ``ASSISTANCE_AUDIT_DAYS`` (docs/security.md).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ActionKind(models.TextChoices):
    """What a volunteer did for an assisted member."""

    REGISTER = "register", _("registered the member (consent recorded)")
    CONSENT = "consent", _("recorded the member's consent again")
    DETAILS = "details", _("updated the member's details")
    ITEM_CREATE = "item_create", _("listed an item")
    ITEM_WITHDRAW = "item_withdraw", _("withdrew an item")
    LOAN_REQUEST = "loan_request", _("asked to borrow an item")
    LOAN_ACCEPT = "loan_accept", _("accepted a loan request")
    LOAN_DECLINE = "loan_decline", _("declined a loan request")
    LOAN_CANCEL = "loan_cancel", _("cancelled a loan")
    LOAN_HANDOVER = "loan_handover", _("confirmed a loan's handover")
    LOAN_RETURN = "loan_return", _("gave a borrowed item back")
    LOAN_CONFIRM_RETURN = "loan_confirm_return", _("confirmed a lent item came back")
    ORDER_DECLARE = "order_declare", _("declared a parcel")
    ORDER_RECEIVED = "order_received", _("confirmed a parcel was received")
    TAKE_OVER_REQUEST = "take_over_request", _("sent a link to take the account over")
    DELETE = "delete", _("deleted the account at the member's request")
    EXPORT = "export", _("asked for a copy of the member's data")
    EXPORT_DOWNLOAD = "export_download", _("downloaded the copy of the member's data")


class AssistedAction(models.Model):
    Action = ActionKind

    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("volunteer"),
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assisted_actions",
        verbose_name=_("assisted member"),
    )
    action = models.CharField(_("action"), max_length=24, choices=Action.choices)
    # The object acted on (a membership, an item, a loan, an order), if any.
    target_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    # A few words for the history ("Perceuse", "Posti 12345"): erased with the member's account.
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("action on behalf of an assisted member")
        verbose_name_plural = _("actions on behalf of assisted members")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["member", "-at"], name="assistance_action_member"),
            models.Index(fields=["at"], name="assistance_action_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=ActionKind.values),
                name="assistance_action_valid",
            ),
            models.CheckConstraint(
                condition=Q(target_type__isnull=True, target_id__isnull=True)
                | Q(target_type__isnull=False, target_id__isnull=False),
                name="assistance_action_target_whole",
            ),
            # Nobody assists themself.
            models.CheckConstraint(
                condition=~Q(volunteer=models.F("member")), name="assistance_action_two_people"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} → {self.member}: {self.get_action_display()}"
