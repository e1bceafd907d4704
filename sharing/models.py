"""Neighbour lending: items, loans, wanted requests, conversations and trust.

Invariants live here as database constraints: no
two accepted or active loans of one item overlap in time, buffer included (an exclusion
constraint); one rating per loan and rater; one reminder of each kind per loan.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.contrib.postgres.search import SearchVectorField
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geo.models import SnappedPlace
from neighbourhoods.models import Neighbourhood
from sharing.codes import ITEM_CODE_LENGTH, ITEM_CODE_PATTERN, new_item_code
from sharing.taxonomy import CATEGORY_CHOICES


class Item(SnappedPlace):
    class Condition(models.TextChoices):
        NEW = "new", _("new")
        GOOD = "good", _("good")
        FAIR = "fair", _("fair")
        WORN = "worn", _("worn")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        WITHDRAWN = "withdrawn", _("withdrawn")
        HIDDEN = "hidden", _("hidden by moderation")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="items",
        verbose_name=_("owner"),
    )
    title = models.CharField(_("title"), max_length=120)
    # Printed on the noticeboard's sheets, with a QR code of /i/<code> (sharing/codes.py).
    code = models.CharField(
        _("code"),
        max_length=ITEM_CODE_LENGTH,
        default=new_item_code,
        editable=False,
        help_text=_("Printed on paper sheets: the app or a volunteer finds the item by it."),
    )
    description = models.TextField(_("description"), blank=True, max_length=4000)
    category = models.CharField(_("category"), max_length=32, choices=CATEGORY_CHOICES)
    condition = models.CharField(
        max_length=16,
        choices=Condition.choices,
        default=Condition.GOOD,
        verbose_name=_("condition"),
    )
    deposit_cents = models.PositiveIntegerField(default=0, verbose_name=_("deposit (cents)"))
    max_loan_days = models.PositiveSmallIntegerField(
        default=7, verbose_name=_("longest loan (days)")
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status")
    )
    # The centre of the owner's blur cell (never the home): what others' searches and maps use.
    location = models.PointField(srid=settings.GEO_SRID, geography=True)
    title_norm = models.CharField(max_length=120, editable=False, default="")
    search = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("listed on"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated on"))

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        indexes = [
            GinIndex(fields=["search"], name="sharing_item_search_gin"),
            models.Index(fields=["owner", "status"], name="sharing_item_owner_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_loan_days__gte=1, max_loan_days__lte=90),
                name="sharing_item_max_loan_days_range",
            ),
            models.CheckConstraint(
                condition=Q(deposit_cents__lte=100_000), name="sharing_item_deposit_cap"
            ),
            models.UniqueConstraint(fields=["code"], name="sharing_item_code_unique"),
            models.CheckConstraint(
                condition=Q(code__regex=ITEM_CODE_PATTERN), name="sharing_item_code_shape"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TitleWord(models.Model):
    """Every word of every item title (normalized: lower case, no accents), for typo matching:
    a search word is first matched against this short list by trigram word similarity, then
    the close words join the full-text query, which the item indexes answer. Kept up to date by
    a database trigger on ``sharing_item`` (see migration 0003), so bulk writes are covered too.
    Words are never removed: a word no item holds any more only finds nothing."""

    word = models.TextField(primary_key=True)

    class Meta:
        indexes = [
            GinIndex(fields=["word"], name="sharing_titleword_trgm", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return self.word


class ItemPhoto(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="items/%Y/%m/")
    thumbnail = models.ImageField(upload_to="items/thumbs/%Y/%m/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)


class BlockedPeriod(models.Model):
    """A period when the owner keeps the item for themself."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="blocked_periods")
    period = DateTimeRangeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            ExclusionConstraint(
                name="sharing_blocked_no_overlap",
                expressions=[("item", RangeOperators.EQUAL), ("period", RangeOperators.OVERLAPS)],
            ),
        ]


class Loan(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        CANCELLED = "cancelled", _("cancelled")
        EXPIRED = "expired", _("expired")
        ACTIVE = "active", _("active (handed over)")
        RETURNED = "returned", _("returned, awaiting confirmation")
        CLOSED = "closed", _("closed")
        DISPUTED = "disputed", _("disputed")

    class ReturnCondition(models.TextChoices):
        FINE = "fine", _("fine")
        WORN = "worn", _("worn")
        DAMAGED = "damaged", _("damaged")

    # Statuses in which the loan holds the item (the exclusion constraint applies to them).
    HOLDING = ("accepted", "active", "returned", "disputed")

    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, related_name="loans", verbose_name=_("item")
    )
    borrower = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="borrowings",
        verbose_name=_("borrower"),
    )
    lender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="lendings",
        verbose_name=_("lender"),
    )
    period = DateTimeRangeField()
    # The period widened by the buffer between loans: what the exclusion constraint compares.
    hold = DateTimeRangeField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.REQUESTED, verbose_name=_("status")
    )
    message = models.CharField(max_length=500, blank=True, verbose_name=_("message"))
    # Where the two meet to hand the object over: a place the lender chose when accepting, else
    # (null) the lender's home. Shown to the borrower only once the loan is accepted.
    meeting_point = models.PointField(
        srid=settings.GEO_SRID,
        geography=True,
        null=True,
        blank=True,
        verbose_name=_("meeting point"),
    )
    meeting_note = models.CharField(max_length=200, blank=True, verbose_name=_("meeting note"))
    # A renewal the borrower asked for and the lender has not answered: the new end it would have.
    renewal_ends_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("renewal asked until")
    )
    handover_code = models.CharField(max_length=6, blank=True)
    borrower_handover_at = models.DateTimeField(null=True, blank=True)
    lender_handover_at = models.DateTimeField(null=True, blank=True)
    return_condition = models.CharField(
        max_length=16,
        choices=ReturnCondition.choices,
        blank=True,
        verbose_name=_("condition on return"),
    )
    return_photo = models.ImageField(upload_to="returns/%Y/%m/", blank=True)
    return_note = models.CharField(max_length=500, blank=True, verbose_name=_("note on return"))
    dispute_reason = models.CharField(
        max_length=1000, blank=True, verbose_name=_("reason of the dispute")
    )
    dispute_resolution = models.CharField(
        max_length=1000, blank=True, verbose_name=_("how the association settled the dispute")
    )
    dispute_resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("settled by"),
    )
    dispute_resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("settled on"))
    renewals = models.PositiveSmallIntegerField(default=0, verbose_name=_("renewals"))
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("asked on"))
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed on"))
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    offer = models.OneToOneField(
        "Offer", on_delete=models.SET_NULL, null=True, blank=True, related_name="loan"
    )

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        indexes = [
            models.Index(fields=["status", "expires_at"], name="sharing_loan_status_expiry"),
            GistIndex(fields=["period"], name="sharing_loan_period_gist"),
        ]
        constraints = [
            ExclusionConstraint(
                name="sharing_loan_no_overlap",
                expressions=[("item", RangeOperators.EQUAL), ("hold", RangeOperators.OVERLAPS)],
                condition=Q(status__in=["accepted", "active", "returned", "disputed"]),
            ),
            models.CheckConstraint(
                condition=~Q(borrower=F("lender")), name="sharing_loan_not_to_self"
            ),
            models.CheckConstraint(condition=Q(renewals__lte=5), name="sharing_loan_renewals_cap"),
        ]


class LoanReminder(models.Model):
    class Kind(models.TextChoices):
        STARTS_TOMORROW = "starts_tomorrow"
        DUE_TOMORROW = "due_tomorrow"
        OVERDUE = "overdue"

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "kind", "recipient"], name="sharing_reminder_once"
            ),
        ]


class WantedRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        FULFILLED = "fulfilled", _("fulfilled")
        CANCELLED = "cancelled", _("cancelled")
        EXPIRED = "expired", _("expired")

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wanted"
    )
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=2000)
    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES, blank=True)
    period = DateTimeRangeField()
    minutes = models.PositiveSmallIntegerField(default=15)
    profile = models.CharField(max_length=16, default="walk")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # The requester's blur-cell centre, as for items.
    location = models.PointField(srid=settings.GEO_SRID, geography=True)
    round = models.PositiveSmallIntegerField(default=0)
    next_widen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_widen_at"], name="sharing_wanted_widen")]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=1, minutes__lte=60), name="sharing_wanted_minutes_range"
            ),
        ]


class WantedNotice(models.Model):
    """A neighbour who was told about a wanted request, and in which round."""

    wanted = models.ForeignKey(WantedRequest, on_delete=models.CASCADE, related_name="notices")
    neighbour = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    round = models.PositiveSmallIntegerField()
    travel_seconds = models.FloatField(null=True)
    score = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["wanted", "neighbour"], name="sharing_notice_once"),
        ]


class Offer(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        WITHDRAWN = "withdrawn", _("withdrawn")

    wanted = models.ForeignKey(WantedRequest, on_delete=models.CASCADE, related_name="offers")
    lender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers"
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="offers")
    message = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wanted", "item"],
                condition=Q(status="pending"),
                name="sharing_offer_once_per_item",
            ),
        ]


class Conversation(models.Model):
    """Between the two parties of a loan or of an offer."""

    loan = models.OneToOneField(
        Loan, on_delete=models.CASCADE, null=True, blank=True, related_name="conversation"
    )
    offer = models.OneToOneField(
        Offer, on_delete=models.CASCADE, null=True, blank=True, related_name="conversation"
    )
    first = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(loan__isnull=False) & Q(offer__isnull=True))
                | (Q(loan__isnull=True) & Q(offer__isnull=False)),
                name="sharing_conversation_one_subject",
            ),
            models.CheckConstraint(
                condition=~Q(first=F("second")), name="sharing_conversation_two_people"
            ),
        ]


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField(max_length=2000)
    hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="sharing_message_conv_time")
        ]


class Rating(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="ratings")
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings_given"
    )
    ratee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings_received"
    )
    score = models.PositiveSmallIntegerField()
    comment = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["loan", "rater"], name="sharing_rating_once"),
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=5), name="sharing_rating_score_range"
            ),
            models.CheckConstraint(condition=~Q(rater=F("ratee")), name="sharing_rating_not_self"),
        ]


class Report(models.Model):
    class Target(models.TextChoices):
        ITEM = "item", _("item")
        MESSAGE = "message", _("message")
        MEMBER = "member", _("member")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ACTIONED = "actioned", _("actioned")
        DISMISSED = "dismissed", _("dismissed")

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reports_made",
        verbose_name=_("reported by"),
    )
    target = models.CharField(max_length=16, choices=Target.choices, verbose_name=_("what"))
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports_about",
    )
    neighbourhood = models.ForeignKey(
        Neighbourhood,
        on_delete=models.CASCADE,
        related_name="reports",
        verbose_name=_("neighbourhood"),
    )
    reason = models.CharField(max_length=1000, verbose_name=_("reason"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("handled on"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("reported on"))

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.CheckConstraint(
                condition=(Q(target="item") & Q(item__isnull=False))
                | (Q(target="message") & Q(message__isnull=False))
                | (Q(target="member") & Q(member__isnull=False)),
                name="sharing_report_target_set",
            ),
        ]


class PersonBlock(models.Model):
    """One person blocked another: between them, either way, no loan requests, messages or
    offers, and neither sees the other's items or wanted requests."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="sharing_block_once"),
            models.CheckConstraint(
                condition=~Q(blocker=F("blocked")), name="sharing_block_not_oneself"
            ),
        ]
