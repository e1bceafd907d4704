"""Input and output shapes of the community API: wanted requests and offers, conversations,
ratings, reports and moderation (explicit fields only)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from geo.privacy import coarse_minutes
from neighbourhoods.models import Membership
from sharing.models import Conversation, Message, Offer, Rating, Report, WantedRequest
from sharing.serializers import NearbyItemSerializer, PartySerializer, view_field
from sharing.taxonomy import CATEGORIES, CATEGORY_CHOICES


def _party(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "name": user.public_name}


def _when(value: Any) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value is not None else None


def _travel(seconds: float | None) -> tuple[int | None, str | None]:
    from django.utils.translation import gettext as _

    if seconds is None:
        return None, None
    minutes, under = coarse_minutes(seconds)
    if under:
        return minutes, _("under %(minutes)s min") % {"minutes": minutes}
    return minutes, _("%(minutes)s min") % {"minutes": minutes}


# --- wanted requests and offers -----------------------------------------------------------------


class WantedInSerializer(serializers.Serializer):
    title = serializers.CharField(min_length=2, max_length=120)
    description = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    category = serializers.ChoiceField(
        choices=CATEGORY_CHOICES, required=False, allow_blank=True, default=""
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    minutes = serializers.IntegerField(
        min_value=1, max_value=60, default=15, help_text="Walking budget from your home."
    )
    profile = serializers.ChoiceField(
        choices=["walk", "slow", "wheelchair"],
        required=False,
        help_text="Defaults to your walking profile (walking_profile of GET /api/v1/me).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": "The end must come after the start."})
        if attrs["starts_at"] <= timezone.now():
            raise serializers.ValidationError({"starts_at": "The start is in the past."})
        return attrs


class OfferInSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, help_text="One of your listed items.")
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OfferSerializer(serializers.ModelSerializer):
    wanted = serializers.IntegerField(source="wanted_id")
    item = serializers.SerializerMethodField()
    lender = serializers.SerializerMethodField()
    conversation = serializers.SerializerMethodField()
    loan = serializers.SerializerMethodField()

    class Meta:
        model = Offer
        fields = [
            "id",
            "wanted",
            "item",
            "lender",
            "message",
            "status",
            "conversation",
            "loan",
            "created_at",
        ]

    @extend_schema_field(PartySerializer)
    def get_item(self, obj: Offer) -> dict[str, Any]:
        return {"id": obj.item_id, "name": obj.item.title}

    @extend_schema_field(PartySerializer)
    def get_lender(self, obj: Offer) -> dict[str, Any]:
        return _party(obj.lender)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_conversation(self, obj: Offer) -> int | None:
        conversation = getattr(obj, "conversation", None)
        return conversation.pk if conversation is not None else None

    @extend_schema_field(
        serializers.IntegerField(allow_null=True, help_text="The loan request, once accepted.")
    )
    def get_loan(self, obj: Offer) -> int | None:
        loan = getattr(obj, "loan", None)
        return loan.pk if loan is not None else None


class MyOfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class _WantedBase(serializers.ModelSerializer):
    category_label = serializers.SerializerMethodField()
    starts_at = serializers.SerializerMethodField()
    ends_at = serializers.SerializerMethodField()

    def get_category_label(self, obj: WantedRequest) -> str | None:
        return str(CATEGORIES[obj.category]) if obj.category else None

    def get_starts_at(self, obj: WantedRequest) -> str | None:
        return _when(obj.period.lower)

    def get_ends_at(self, obj: WantedRequest) -> str | None:
        return _when(obj.period.upper)


class WantedSerializer(_WantedBase):
    """A wanted request as its author sees it, with the offers it received."""

    view = view_field("author", "Your own wanted request, with its offers.")
    offers = OfferSerializer(many=True, read_only=True)
    notified = serializers.SerializerMethodField()

    class Meta:
        model = WantedRequest
        fields = [
            "view",
            "id",
            "title",
            "description",
            "category",
            "category_label",
            "starts_at",
            "ends_at",
            "minutes",
            "profile",
            "status",
            "round",
            "next_widen_at",
            "notified",
            "offers",
            "created_at",
        ]

    @extend_schema_field(serializers.IntegerField(help_text="Neighbours told so far."))
    def get_notified(self, obj: WantedRequest) -> int:
        count = getattr(obj, "notified_count", None)
        return count if count is not None else obj.notices.count()


class WantedNeighbourSerializer(_WantedBase):
    """A wanted request as a neighbour sees it: who asks, how far (coarse, from blurred places),
    the item of theirs it matched, and the offers they made."""

    view = view_field("neighbour", "A neighbour's wanted request.")
    requester = serializers.SerializerMethodField()
    travel_minutes = serializers.SerializerMethodField()
    travel_label = serializers.SerializerMethodField()
    matched_item = serializers.SerializerMethodField()
    my_offers = serializers.SerializerMethodField()

    class Meta:
        model = WantedRequest
        fields = [
            "view",
            "id",
            "title",
            "description",
            "category",
            "category_label",
            "starts_at",
            "ends_at",
            "status",
            "requester",
            "travel_minutes",
            "travel_label",
            "matched_item",
            "my_offers",
            "created_at",
        ]

    @extend_schema_field(PartySerializer)
    def get_requester(self, obj: WantedRequest) -> dict[str, Any]:
        return _party(obj.requester)

    @extend_schema_field(
        serializers.IntegerField(allow_null=True, help_text="Whole minutes, with a floor.")
    )
    def get_travel_minutes(self, obj: Any) -> int | None:
        return _travel(getattr(obj, "notice_seconds", None))[0]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_travel_label(self, obj: Any) -> str | None:
        return _travel(getattr(obj, "notice_seconds", None))[1]

    @extend_schema_field(
        serializers.IntegerField(allow_null=True, help_text="Your item that matched, if any.")
    )
    def get_matched_item(self, obj: Any) -> int | None:
        return getattr(obj, "notice_item_id", None)

    @extend_schema_field(MyOfferSerializer(many=True))
    def get_my_offers(self, obj: Any) -> list[dict[str, Any]]:
        return [
            {
                "id": o.pk,
                "item": o.item_id,
                "status": o.status,
                "created_at": _when(o.created_at),
            }
            for o in getattr(obj, "my_offers", [])
        ]


class MatchSerializer(NearbyItemSerializer):
    """A matching item, as the nearby list shows it, with its score."""

    score = serializers.SerializerMethodField()

    class Meta(NearbyItemSerializer.Meta):
        fields = [*NearbyItemSerializer.Meta.fields, "score"]

    @extend_schema_field(
        serializers.FloatField(help_text="Walking time, relevance and reliability, in [0, 1].")
    )
    def get_score(self, obj: Any) -> float:
        return round(float(self.context["scores"][obj.pk]), 3)


# --- conversations ---------------------------------------------------------------------------------


class SubjectSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["loan", "offer"])
    id = serializers.IntegerField()
    item = PartySerializer()


class LastMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sender = serializers.IntegerField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class ConversationSerializer(serializers.ModelSerializer):
    subject = serializers.SerializerMethodField()
    other = serializers.SerializerMethodField()
    last_message = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = ["id", "subject", "other", "last_message", "created_at", "last_message_at"]

    @extend_schema_field(SubjectSerializer)
    def get_subject(self, obj: Conversation) -> dict[str, Any]:
        if obj.loan_id is not None:
            item = obj.loan.item  # type: ignore[union-attr]
            return {"kind": "loan", "id": obj.loan_id, "item": {"id": item.pk, "name": item.title}}
        item = obj.offer.item  # type: ignore[union-attr]
        return {"kind": "offer", "id": obj.offer_id, "item": {"id": item.pk, "name": item.title}}

    @extend_schema_field(PartySerializer)
    def get_other(self, obj: Conversation) -> dict[str, Any]:
        viewer = self.context["request"].user
        return _party(obj.second if viewer.pk == obj.first_id else obj.first)

    @extend_schema_field(LastMessageSerializer(allow_null=True))
    def get_last_message(self, obj: Any) -> dict[str, Any] | None:
        if getattr(obj, "last_id", None) is None:
            return None
        return {
            "id": obj.last_id,
            "sender": obj.last_sender_id,
            "body": obj.last_body,
            "created_at": _when(obj.last_at),
        }


class MessageInSerializer(serializers.Serializer):
    body = serializers.CharField(min_length=1, max_length=2000)


class MessageSerializer(serializers.ModelSerializer):
    sender = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "conversation", "sender", "body", "created_at"]

    @extend_schema_field(PartySerializer)
    def get_sender(self, obj: Message) -> dict[str, Any]:
        return _party(obj.sender)


# --- ratings and reports -------------------------------------------------------------------------


class RatingInSerializer(serializers.Serializer):
    loan = serializers.IntegerField(min_value=1)
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RatingSerializer(serializers.ModelSerializer):
    rater = serializers.SerializerMethodField()
    ratee = serializers.SerializerMethodField()
    item_title = serializers.CharField(source="loan.item.title", read_only=True)

    class Meta:
        model = Rating
        fields = ["id", "loan", "item_title", "rater", "ratee", "score", "comment", "created_at"]

    @extend_schema_field(PartySerializer)
    def get_rater(self, obj: Rating) -> dict[str, Any]:
        return _party(obj.rater)

    @extend_schema_field(PartySerializer)
    def get_ratee(self, obj: Rating) -> dict[str, Any]:
        return _party(obj.ratee)


class RatingListQuerySerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["received", "given"], default="received")


class ReportInSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=Report.Target.choices)
    item = serializers.IntegerField(min_value=1, required=False)
    message = serializers.IntegerField(min_value=1, required=False)
    member = serializers.IntegerField(min_value=1, required=False)
    reason = serializers.CharField(min_length=1, max_length=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        target = attrs["target"]
        if attrs.get(target) is None:
            raise serializers.ValidationError({target: f"Say which {target} you report."})
        others = [k for k in ("item", "message", "member") if k != target and k in attrs]
        if others:
            raise serializers.ValidationError({others[0]: f"Only the {target} is reported."})
        return attrs


class ReportSerializer(serializers.ModelSerializer):
    """A report as its author sees it."""

    class Meta:
        model = Report
        fields = ["id", "target", "item", "message", "member", "reason", "status", "created_at"]


class ModerationTargetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField(help_text="The item's title, the message's body, the name.")
    owner = PartySerializer()
    hidden = serializers.BooleanField()


class ModerationReportSerializer(serializers.ModelSerializer):
    """A report as the association's staff see it."""

    reporter = serializers.SerializerMethodField()
    neighbourhood = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "target",
            "subject",
            "reason",
            "status",
            "reporter",
            "neighbourhood",
            "created_at",
            "handled_at",
        ]

    @extend_schema_field(PartySerializer)
    def get_reporter(self, obj: Report) -> dict[str, Any]:
        return _party(obj.reporter)

    @extend_schema_field(PartySerializer)
    def get_neighbourhood(self, obj: Report) -> dict[str, Any]:
        return {"id": obj.neighbourhood_id, "name": obj.neighbourhood.name}

    @extend_schema_field(ModerationTargetSerializer)
    def get_subject(self, obj: Report) -> dict[str, Any]:
        if obj.item is not None:
            return {
                "id": obj.item.pk,
                "text": obj.item.title,
                "owner": _party(obj.item.owner),
                "hidden": obj.item.status == "hidden",
            }
        if obj.message is not None:
            return {
                "id": obj.message.pk,
                "text": obj.message.body,
                "owner": _party(obj.message.sender),
                "hidden": obj.message.hidden,
            }
        member = obj.member
        assert member is not None
        return {
            "id": member.pk,
            "text": _party(member)["name"],
            "owner": _party(member),
            "hidden": False,
        }


class ModerationActionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="suspend: why (the member reads it).",
    )


class MembershipAdminSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()
    neighbourhood = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = [
            "id",
            "user",
            "neighbourhood",
            "status",
            "ask_me_too",
            "suspended_reason",
            "created_at",
            "decided_at",
        ]

    @extend_schema_field(PartySerializer)
    def get_user(self, obj: Membership) -> dict[str, Any]:
        return _party(obj.user)

    @extend_schema_field(PartySerializer)
    def get_neighbourhood(self, obj: Membership) -> dict[str, Any]:
        return {"id": obj.neighbourhood_id, "name": obj.neighbourhood.name}
