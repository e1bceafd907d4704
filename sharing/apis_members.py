"""Members as neighbours see them (a public profile, without any place), and blocking."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import request_user
from sharing import selectors
from sharing.models import PersonBlock
from sharing.serializers import absolute_media_url
from sharing.services.blocks import MemberNotFoundError, person_block, person_unblock
from sharing.taxonomy import CATEGORIES

TAG = "members"


class MemberItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    category = serializers.CharField()
    category_label = serializers.CharField()
    thumbnail = serializers.URLField(allow_null=True)


class NeighbourhoodRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MemberProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    neighbourhoods = NeighbourhoodRefSerializer(
        many=True, help_text="The neighbourhoods you share with this member."
    )
    rating = serializers.FloatField(
        allow_null=True, help_text="Average rating, shown once three ratings exist."
    )
    ratings = serializers.IntegerField(help_text="How many ratings they received.")
    response_rate = serializers.FloatField(
        allow_null=True, help_text="Share of loan requests they answered."
    )
    loans_lent = serializers.IntegerField(help_text="Loans they made, returned or closed.")
    loans_borrowed = serializers.IntegerField(help_text="Loans they had, returned or closed.")
    items = MemberItemSerializer(many=True, help_text="What they list now (50 newest).")


class BlockSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="blocked_id")
    name = serializers.CharField(source="blocked.public_name")
    since = serializers.DateTimeField(source="created_at")


class MemberProfileApi(APIView):
    @extend_schema(
        operation_id="member_profile",
        tags=[TAG],
        summary="A neighbour's profile: name, neighbourhoods, ratings, loans, items; no place",
        responses={
            200: MemberProfileSerializer,
            404: OpenApiResponse(
                description="member_not_found: no such member, or none you share a "
                "neighbourhood with (or one of you blocked the other)."
            ),
        },
    )
    def get(self, request: Request, member_id: int) -> Response:
        profile = selectors.member_profile(request_user(request), member_id)
        if profile is None:
            raise MemberNotFoundError()
        rel = profile.reliability
        body: dict[str, Any] = {
            "id": profile.user.pk,
            "name": profile.user.public_name,
            "neighbourhoods": profile.neighbourhoods,
            "rating": rel.rating if rel else None,
            "ratings": rel.ratings if rel else 0,
            "response_rate": rel.response_rate if rel else None,
            "loans_lent": profile.lent,
            "loans_borrowed": profile.borrowed,
            "items": [
                {
                    "id": item.pk,
                    "title": item.title,
                    "category": item.category,
                    "category_label": str(CATEGORIES.get(item.category, item.category)),
                    "thumbnail": absolute_media_url(request, getattr(item, "thumbnail_name", None)),
                }
                for item in profile.items
            ],
        }
        return Response(MemberProfileSerializer(body).data)


class MemberBlockApi(APIView):
    @extend_schema(
        operation_id="member_block",
        tags=[TAG],
        summary="Block a member: no requests, messages or offers between you, either way",
        request=None,
        responses={201: BlockSerializer, 200: BlockSerializer},
    )
    def post(self, request: Request, member_id: int) -> Response:
        block, created = person_block(actor=request_user(request), member_id=member_id)
        return Response(BlockSerializer(block).data, status=201 if created else 200)

    @extend_schema(
        operation_id="member_unblock",
        tags=[TAG],
        summary="Unblock a member",
        responses={204: None},
    )
    def delete(self, request: Request, member_id: int) -> Response:
        person_unblock(actor=request_user(request), member_id=member_id)
        return Response(status=204)


class MyBlocksApi(APIView):
    pagination_class = None

    @extend_schema(
        operation_id="me_blocks",
        tags=[TAG],
        summary="The members I blocked",
        responses={200: BlockSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        blocks = (
            PersonBlock.objects.filter(blocker=request_user(request))
            .select_related("blocked")
            .order_by("-created_at")
        )
        return Response(BlockSerializer(blocks, many=True).data)
