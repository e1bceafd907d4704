"""Neighbourhoods API: which neighbourhoods cover a place, and joining one."""

from __future__ import annotations

from django.contrib.gis.geos import Point
from drf_spectacular.utils import extend_schema
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import request_user
from neighbourhoods import selectors
from neighbourhoods.models import Neighbourhood
from neighbourhoods.serializers import (
    JoinSerializer,
    MembershipSerializer,
    NeighbourhoodQuerySerializer,
    NeighbourhoodSerializer,
)
from neighbourhoods.services import membership_join


class NeighbourhoodListApi(APIView):
    @extend_schema(
        operation_id="neighbourhoods_near",
        parameters=[NeighbourhoodQuerySerializer],
        responses=NeighbourhoodSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = NeighbourhoodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        point = Point(query.validated_data["lon"], query.validated_data["lat"], srid=4326)
        rows = selectors.neighbourhoods_at(point)
        memberships = selectors.membership_statuses(request_user(request))
        return Response(
            NeighbourhoodSerializer(rows, many=True, context={"memberships": memberships}).data
        )


class NeighbourhoodJoinApi(APIView):
    @extend_schema(
        operation_id="neighbourhood_join",
        request=JoinSerializer,
        responses={201: MembershipSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = JoinSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        neighbourhood = get_object_or_404(Neighbourhood, pk=pk)
        membership = membership_join(
            user=request_user(request), neighbourhood=neighbourhood, **body.validated_data
        )
        return Response(MembershipSerializer(membership).data, status=201)
