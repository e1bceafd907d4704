"""Associations, their neighbourhoods and who belongs to them.

A concept both domains share: sharing lends within a neighbourhood, pooling plans its deliveries,
the panel lets an association's volunteers run it. It knows neither domain.

The tables keep the names they had when these models lived in ``sharing`` (``db_table``): moving
the code moved no data. Invariants are database constraints: one membership per person and
neighbourhood, a suspension always has its reason, neighbourhood names unique per association.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Association(models.Model):
    class OpenDataLicence(models.TextChoices):
        """The open licences an association may publish its figures under (docs/opendata.md)."""

        ETALAB = "etalab-2.0", _("Licence Ouverte / Open Licence 2.0 (Etalab)")
        ODBL = "ODbL-1.0", _("Open Database License (ODbL) 1.0")

    name = models.CharField(_("name"), max_length=120, unique=True)
    # The association's name in the addresses of its open data (/api/v1/open-data/<slug>/).
    slug = models.SlugField(
        _("short name in addresses"),
        max_length=80,
        unique=True,
        help_text=_("Lower-case letters, digits and hyphens: the address of its open data."),
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="staff_of",
        blank=True,
        db_table="sharing_association_staff",
    )
    # Whether the association publishes its monthly figures as open data, and under which licence
    # (opendata/, docs/opendata.md): nothing is published until it says so.
    open_data_publish = models.BooleanField(
        _("publish its figures as open data"),
        default=False,
        help_text=_(
            "Monthly figures per neighbourhood, with small counts suppressed and the others "
            "rounded, public at an address with no login."
        ),
    )
    open_data_licence = models.CharField(
        _("licence of its open data"),
        max_length=16,
        choices=OpenDataLicence.choices,
        default=OpenDataLicence.ETALAB,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sharing_association"
        verbose_name = _("association")
        verbose_name_plural = _("associations")
        constraints = [
            models.CheckConstraint(
                condition=Q(open_data_licence__in=["etalab-2.0", "ODbL-1.0"]),
                name="neighbourhoods_association_open_licence",
            ),
            models.CheckConstraint(
                condition=Q(slug__regex=r"^[a-z0-9]+(-[a-z0-9]+)*$"),
                name="neighbourhoods_association_slug_form",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Neighbourhood(models.Model):
    class JoinPolicy(models.TextChoices):
        OPEN = "open", _("open")
        APPROVAL = "approval", _("approval by the association")

    association = models.ForeignKey(
        Association,
        on_delete=models.PROTECT,
        related_name="neighbourhoods",
        verbose_name=_("association"),
    )
    name = models.CharField(_("name"), max_length=120)
    area = models.MultiPolygonField(_("area"), srid=settings.GEO_SRID)
    join_policy = models.CharField(
        max_length=16,
        choices=JoinPolicy.choices,
        default=JoinPolicy.OPEN,
        verbose_name=_("who may join"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sharing_neighbourhood"
        verbose_name = _("neighbourhood")
        verbose_name_plural = _("neighbourhoods")
        constraints = [
            models.UniqueConstraint(
                fields=["association", "name"], name="sharing_neighbourhood_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        REFUSED = "refused", _("refused")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("person"),
    )
    neighbourhood = models.ForeignKey(
        Neighbourhood,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("neighbourhood"),
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    ask_me_too = models.BooleanField(
        default=False,
        help_text=_("Also ask me about wanted requests I have no listing for."),
        verbose_name=_("ask me too"),
    )
    suspended_reason = models.CharField(
        max_length=500, blank=True, verbose_name=_("reason of the suspension")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("asked on"))
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided on"))

    class Meta:
        db_table = "sharing_membership"
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "neighbourhood"], name="sharing_membership_unique"
            ),
            models.CheckConstraint(
                condition=~Q(status="suspended") | ~Q(suspended_reason=""),
                name="sharing_membership_suspension_has_reason",
            ),
        ]
