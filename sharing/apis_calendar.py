"""An item's calendar: when it is taken (for anyone who may borrow it), and the owner's blocked
periods (list, remove)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import request_user
from backend.errors import NotFoundError
from backend.validation import plausible_datetime
from sharing import selectors
from sharing.models import BlockedPeriod, Item
from sharing.services import items as item_services

TAG = "items"
MAX_WINDOW = timedelta(days=366)
DEFAULT_WINDOW = timedelta(days=90)


class AvailabilityQuerySerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(
        required=False, validators=[plausible_datetime], help_text="Default: now."
    )
    ends_at = serializers.DateTimeField(
        required=False,
        validators=[plausible_datetime],
        help_text="Default: 90 days after the start; at most 366 days after it.",
    )

    def validate(self, attrs: dict) -> dict:
        start = attrs.get("starts_at") or timezone.now()
        end = attrs.get("ends_at") or start + DEFAULT_WINDOW
        if end <= start:
            raise serializers.ValidationError(
                {"ends_at": [_("The end must come after the start.")]}
            )
        if end - start > MAX_WINDOW:
            raise serializers.ValidationError({"ends_at": [_("At most 366 days at a time.")]})
        return {"starts_at": start, "ends_at": end}


class TakenPeriodSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(
        choices=["loan", "blocked"],
        help_text="loan: promised or lent (with the buffer between loans); blocked: by its owner.",
    )


class AvailabilitySerializer(serializers.Serializer):
    item = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    taken = TakenPeriodSerializer(many=True)


class BlockedPeriodSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField(source="period.lower")
    ends_at = serializers.DateTimeField(source="period.upper")
    reason = serializers.CharField()


def item_for(request: Request, pk: int) -> Item:
    """The person's own item, or a neighbour's they may borrow; else 404."""
    user = request_user(request)
    item = Item.objects.filter(pk=pk, owner=user).first()
    if item is None:
        item = selectors.items_visible_to(user).filter(pk=pk).first()
    if item is None:
        raise NotFoundError()
    return item


class ItemAvailabilityApi(APIView):
    @extend_schema(
        operation_id="item_availability",
        tags=[TAG],
        summary="When the item is taken (loans and blocked periods, without who)",
        parameters=[AvailabilityQuerySerializer],
        responses={200: AvailabilitySerializer},
    )
    def get(self, request: Request, pk: int) -> Response:
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["starts_at"], query.validated_data["ends_at"]
        item = item_for(request, pk)
        body = {
            "item": item.pk,
            "starts_at": start,
            "ends_at": end,
            "taken": selectors.item_taken_periods(item, start, end),
        }
        return Response(AvailabilitySerializer(body).data)


class ItemBlockedPeriodsApi(APIView):
    @extend_schema(
        operation_id="item_blocked_periods",
        tags=[TAG],
        summary="My item's blocked periods, those not over yet",
        responses={
            200: BlockedPeriodSerializer(many=True),
            403: OpenApiResponse(description="not_owner"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        item = item_for(request, pk)
        if item.owner_id != request_user(request).pk:
            raise item_services.NotOwnerError()
        blocks = BlockedPeriod.objects.filter(item=item, period__endswith__gt=timezone.now())
        return Response(BlockedPeriodSerializer(blocks.order_by("period"), many=True).data)


class ItemBlockedPeriodApi(APIView):
    @extend_schema(
        operation_id="item_unblock",
        tags=[TAG],
        summary="Remove one of my item's blocked periods",
        responses={204: None, 403: OpenApiResponse(description="not_owner")},
    )
    def delete(self, request: Request, pk: int, block_id: int) -> Response:
        item_for(request, pk)
        item_services.item_unblock(actor=request_user(request), item_id=pk, block_id=block_id)
        return Response(status=204)
