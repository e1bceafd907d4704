"""My impact: what the person's own lending and pooled parcels add up to."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.impact import impact_of, impact_sections
from accounts.selectors import request_user
from accounts.serializers import ErrorSerializer

PROFILE_TAG = "me"


class MeImpactSerializer(serializers.Serializer):
    """One object per registered section (sharing, pooling), each with its declared fields."""

    # Built from the registry, filled by the apps' AppConfig.ready(): a class attribute would be
    # read before the apps are ready.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {section.name: section.serializer(read_only=True) for section in impact_sections()}


class MeImpactApi(APIView):
    """The asking person's own figures, never anyone else's."""

    @extend_schema(
        operation_id="me_impact",
        tags=[PROFILE_TAG],
        summary="My impact: loans, objects not bought, km and CO2 saved by pooled parcels",
        description=(
            "Computed for the person asking, from their completed loans and their delivered "
            "pooled parcels; each section says how it counts."
        ),
        responses={200: MeImpactSerializer, 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        figures: dict[str, Any] = impact_of(request_user(request))
        return Response(MeImpactSerializer(figures).data)
