"""Input and output shapes of the sharing API (explicit fields only)."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import GeoJSONPointField
from backend.validation import plausible_datetime
from geo.privacy import coarse_minutes
from geo.profiles import WALKING_PROFILES
from geo.serializers import LatLonField
from sharing.models import Item, ItemPhoto, Loan
from sharing.selectors import item_thumbnail_name, loan_conversation_id
from sharing.taxonomy import CATEGORIES, CATEGORY_CHOICES


class PointSchema(serializers.Serializer):
    type = serializers.CharField(default="Point")
    coordinates = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


def point_json(point: Any) -> dict[str, Any] | None:
    if point is None:
        return None
    return {"type": "Point", "coordinates": [round(point.x, 6), round(point.y, 6)]}


class CategorySerializer(serializers.Serializer):
    key = serializers.CharField()
    # A field named like ``Field.label``: the stubs type that attribute as a string.
    label = serializers.CharField()  # type: ignore[assignment]


class PhotoSerializer(serializers.ModelSerializer):
    class Meta:
        model = ItemPhoto
        fields = ["id", "image", "thumbnail", "width", "height", "position"]


class ItemInSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120, min_length=2)
    description = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, default=""
    )
    category = serializers.ChoiceField(choices=CATEGORY_CHOICES)
    condition = serializers.ChoiceField(choices=Item.Condition.choices, default="good")
    deposit_cents = serializers.IntegerField(min_value=0, max_value=100_000, default=0)
    max_loan_days = serializers.IntegerField(min_value=1, max_value=90, default=7)


class ItemPatchSerializer(ItemInSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


_MISSING = object()


def absolute_media_url(request: Any, name: object) -> str | None:
    """The absolute URL of a stored file (every URL of every answer is absolute)."""
    if not name:
        return None
    url = default_storage.url(str(name))
    return request.build_absolute_uri(url) if request is not None else url


def view_field(value: str, help_text: str) -> serializers.Field:
    """A constant ``view`` field: which shape of an object an answer holds (the OpenAPI
    discriminator of answers that are one shape or another)."""

    @extend_schema_field({"type": "string", "enum": [value], "description": help_text})
    class ViewField(serializers.Field):
        def __init__(self) -> None:
            super().__init__(read_only=True, source="*")

        def to_representation(self, value_: Any) -> str:
            return value

    return ViewField()


class ItemSerializer(serializers.ModelSerializer):
    """An item as its owner sees it."""

    view = view_field("owner", "Your own item, in full.")
    photos = PhotoSerializer(many=True, read_only=True)
    category_label = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "view",
            "id",
            "title",
            "description",
            "category",
            "category_label",
            "condition",
            "deposit_cents",
            "max_loan_days",
            "status",
            "photos",
            "created_at",
            "updated_at",
        ]

    def get_category_label(self, obj: Item) -> str:
        return str(CATEGORIES.get(obj.category, obj.category))


class OwnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    response_rate = serializers.FloatField(allow_null=True)
    rating = serializers.FloatField(allow_null=True, help_text="Shown once three ratings exist.")


class NearbyItemSerializer(serializers.ModelSerializer):
    """An item as a neighbour sees it: a blurred place and a coarse travel time."""

    thumbnail = serializers.SerializerMethodField()
    category_label = serializers.SerializerMethodField()
    travel_minutes = serializers.SerializerMethodField()
    travel_label = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()

    class Meta:
        model = Item
        # A row of a list: one small photo and no description keep a page of 20 small.
        fields = [
            "id",
            "title",
            "category",
            "category_label",
            "condition",
            "deposit_cents",
            "max_loan_days",
            "thumbnail",
            "travel_minutes",
            "travel_label",
            "location",
            "owner",
        ]

    # The item's own columns, written as they are (as the model fields would render them).
    PLAIN = frozenset(
        ("id", "title", "description", "category", "condition", "deposit_cents", "max_loan_days")
    )

    def to_representation(self, instance: Item) -> dict[str, Any]:
        # Written by hand from Meta.fields: DRF builds a ModelSerializer's fields again for each
        # use (model introspection and deep copies), 3 to 4 ms of a 35 ms search. Every other
        # field is a ``get_<name>`` method.
        return {
            name: getattr(instance, name)
            if name in self.PLAIN
            else getattr(self, f"get_{name}")(instance)
            for name in self.Meta.fields
        }

    def get_category_label(self, obj: Item) -> str:
        return str(CATEGORIES.get(obj.category, obj.category))

    @extend_schema_field(serializers.IntegerField(help_text="Whole minutes, with a floor."))
    def get_travel_minutes(self, obj: Any) -> int:
        return coarse_minutes(obj.travel_seconds)[0]

    def get_travel_label(self, obj: Any) -> str:
        from django.utils.translation import gettext as _

        minutes, under = coarse_minutes(obj.travel_seconds)
        if under:
            return _("under %(minutes)s min") % {"minutes": minutes}
        return _("%(minutes)s min") % {"minutes": minutes}

    @extend_schema_field(PointSchema)
    def get_location(self, obj: Item) -> dict[str, Any] | None:
        return point_json(obj.location)  # the blur cell's centre, never the home

    @extend_schema_field(
        serializers.URLField(allow_null=True, help_text="The first photo, small (absolute).")
    )
    def get_thumbnail(self, obj: Item) -> str | None:
        name = getattr(obj, "thumbnail_name", _MISSING)
        if name is _MISSING:  # not read with the page (see selectors.page_extras)
            name = item_thumbnail_name(obj.pk)
        return absolute_media_url(self.context.get("request"), name)

    @extend_schema_field(OwnerSerializer)
    def get_owner(self, obj: Item) -> dict[str, Any]:
        rel = getattr(obj, "owner_reliability", None) or self.context.get("reliability", {}).get(
            obj.owner_id
        )
        return {
            "id": obj.owner_id,
            "name": obj.owner.public_name,
            "response_rate": rel.response_rate if rel else None,
            "rating": rel.rating if rel else None,
        }


class NeighbourItemSerializer(NearbyItemSerializer):
    """A neighbour's item read by its id: as in a search, without a travel time."""

    view = view_field("neighbour", "A neighbour's item: its description and all its photos.")
    photos = serializers.SerializerMethodField()
    travel_minutes = None  # type: ignore[assignment]
    travel_label = None  # type: ignore[assignment]
    thumbnail = None  # type: ignore[assignment]

    class Meta(NearbyItemSerializer.Meta):
        fields = [
            "view",
            "id",
            "title",
            "description",
            "category",
            "category_label",
            "condition",
            "deposit_cents",
            "max_loan_days",
            "photos",
            "location",
            "owner",
        ]

    def get_view(self, obj: Item) -> str:  # written by hand (NearbyItemSerializer)
        return "neighbour"

    @extend_schema_field(PhotoSerializer(many=True))
    def get_photos(self, obj: Item) -> list[dict[str, Any]]:
        return cast(
            list[dict[str, Any]],
            PhotoSerializer(
                obj.photos.order_by("position", "pk"), many=True, context=self.context
            ).data,
        )


class NearbyQuerySerializer(serializers.Serializer):
    minutes = serializers.IntegerField(
        min_value=1, max_value=settings.SHARING_NEARBY_MAX_MINUTES, default=15
    )
    profile = serializers.ChoiceField(
        choices=WALKING_PROFILES,
        required=False,
        help_text="Defaults to your walking profile (walking_profile of GET /api/v1/me).",
    )
    at = LatLonField(
        required=False,
        help_text="Search from this point instead of your home (latitude,longitude).",
    )
    q = serializers.CharField(required=False, max_length=100, allow_blank=True)
    category = serializers.ChoiceField(choices=CATEGORY_CHOICES, required=False)
    available_from = serializers.DateTimeField(required=False)
    available_until = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    offset = serializers.IntegerField(min_value=0, max_value=10_000, default=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("available_from"), attrs.get("available_until")
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"available_until": "Give both available_from and available_until."}
            )
        if start and end and end <= start:
            raise serializers.ValidationError(
                {"available_until": "The end must come after the start."}
            )
        return attrs


class BlockSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(validators=[plausible_datetime])
    ends_at = serializers.DateTimeField(validators=[plausible_datetime])
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PhotoUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG or WebP; metadata is removed.")


class LoanRequestSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class LoanActionSerializer(serializers.Serializer):
    code = serializers.RegexField(
        r"^\d{6}$", required=False, help_text="handover: the code on the lender's phone"
    )
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    condition = serializers.ChoiceField(choices=Loan.ReturnCondition.choices, required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    photo = serializers.FileField(
        required=False, help_text="confirm-return: a photo of a damage (multipart only)"
    )
    ends_at = serializers.DateTimeField(
        required=False, help_text="renew: the new end asked (the lender accepts or declines)"
    )
    meeting_point = GeoJSONPointField(
        required=False,
        help_text="accept: where to meet (a GeoJSON Point within 3 km of the object); "
        "default: the lender's home.",
    )
    meeting_note = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="accept: how to find each other there.",
    )


class LoanActionJSONSerializer(LoanActionSerializer):
    """A loan action's JSON body: every field but the photo (which travels in multipart). One
    schema per media type, so that a generated client picks the right encoding."""

    photo = None  # type: ignore[assignment]


class PartySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class LoanSerializer(serializers.ModelSerializer):
    item = serializers.SerializerMethodField()
    borrower = serializers.SerializerMethodField()
    lender = serializers.SerializerMethodField()
    starts_at = serializers.SerializerMethodField()
    ends_at = serializers.SerializerMethodField()
    handover_code = serializers.SerializerMethodField()
    meeting_point = serializers.SerializerMethodField()
    meeting_note = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField()
    conversation = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()
    renewal_requested_until = serializers.DateTimeField(
        source="renewal_ends_at",
        read_only=True,
        allow_null=True,
        help_text="A renewal the borrower asked for, waiting for the lender's answer.",
    )

    class Meta:
        model = Loan
        fields = [
            "id",
            "item",
            "thumbnail",
            "conversation",
            "borrower",
            "lender",
            "role",
            "status",
            "starts_at",
            "ends_at",
            "message",
            "handover_code",
            "meeting_point",
            "meeting_note",
            "return_condition",
            "renewals",
            "renewal_requested_until",
            "expires_at",
            "created_at",
        ]

    def _viewer(self) -> Any:
        return self.context["request"].user

    @extend_schema_field(PartySerializer)
    def get_item(self, obj: Loan) -> dict[str, Any]:
        return {"id": obj.item_id, "name": obj.item.title}

    @extend_schema_field(PartySerializer)
    def get_borrower(self, obj: Loan) -> dict[str, Any]:
        return {
            "id": obj.borrower_id,
            "name": obj.borrower.public_name,
        }

    @extend_schema_field(PartySerializer)
    def get_lender(self, obj: Loan) -> dict[str, Any]:
        return {
            "id": obj.lender_id,
            "name": obj.lender.public_name,
        }

    def get_starts_at(self, obj: Loan) -> str:
        return serializers.DateTimeField().to_representation(obj.period.lower)

    def get_ends_at(self, obj: Loan) -> str:
        return serializers.DateTimeField().to_representation(obj.period.upper)

    def get_role(self, obj: Loan) -> str:
        return "lender" if self._viewer().pk == obj.lender_id else "borrower"

    @extend_schema_field(
        serializers.IntegerField(
            allow_null=True,
            help_text="The loan's conversation (GET /api/v1/conversations/{id}/messages).",
        )
    )
    def get_conversation(self, obj: Loan) -> int | None:
        annotated = getattr(obj, "conversation_pk", _MISSING)
        if annotated is not _MISSING:
            return cast("int | None", annotated)
        return loan_conversation_id(obj)

    @extend_schema_field(
        serializers.URLField(allow_null=True, help_text="The item's first photo, small.")
    )
    def get_thumbnail(self, obj: Loan) -> str | None:
        name = getattr(obj, "thumbnail_name", _MISSING)
        if name is _MISSING:
            name = item_thumbnail_name(obj.item_id)
        return absolute_media_url(self.context.get("request"), name)

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="Only the lender sees it.")
    )
    def get_handover_code(self, obj: Loan) -> str | None:
        if self._viewer().pk == obj.lender_id and obj.status == Loan.Status.ACCEPTED:
            return obj.handover_code
        return None

    @extend_schema_field(PointSchema(allow_null=True))
    def get_meeting_point(self, obj: Loan) -> dict[str, Any] | None:
        """The exact place to meet (the one the lender chose, else their home), only to the two
        parties of an accepted or running loan."""
        if obj.status in (Loan.Status.ACCEPTED, Loan.Status.ACTIVE, Loan.Status.RETURNED):
            return point_json(obj.meeting_point or obj.lender.home)
        return None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_meeting_note(self, obj: Loan) -> str | None:
        if obj.status in (Loan.Status.ACCEPTED, Loan.Status.ACTIVE, Loan.Status.RETURNED):
            return obj.meeting_note
        return None


class SharingImpactSerializer(serializers.Serializer):
    """What the person's lending and borrowing add up to (``GET /api/v1/me/impact``)."""

    loans_as_borrower = serializers.IntegerField(
        help_text="Loans you borrowed that completed: returned, or closed once both agreed."
    )
    loans_as_lender = serializers.IntegerField(
        help_text="Loans of your items that completed: returned, or closed once both agreed."
    )
    objects_not_bought = serializers.IntegerField(
        help_text=(
            "One per completed borrowing: each time you borrowed rather than bought. The same "
            "item borrowed twice counts twice; a loan declined, cancelled, expired, still "
            "running or disputed does not count."
        )
    )
    items_shared = serializers.IntegerField(
        help_text="Your items listed for lending now (not withdrawn nor hidden)."
    )
