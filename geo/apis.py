"""Geo API: route, isochrone, matrix. Thin views: validate, call a selector, serialize."""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.throttling import GeoThrottle
from geo import selectors
from geo.serializers import (
    IsochroneQuerySerializer,
    IsochroneSerializer,
    MatrixRequestSerializer,
    MatrixSerializer,
    RouteQuerySerializer,
    RouteSerializer,
)

PROFILE_PARAM = OpenApiParameter(
    "profile", str, enum=["walk", "slow", "wheelchair", "bike"], required=False
)


class RouteApi(APIView):
    throttle_classes = [GeoThrottle]

    @extend_schema(
        operation_id="geo_route",
        parameters=[
            OpenApiParameter("from", str, required=True, description="latitude,longitude"),
            OpenApiParameter("to", str, required=True, description="latitude,longitude"),
            PROFILE_PARAM,
        ],
        responses=RouteSerializer,
    )
    def get(self, request: Request) -> Response:
        query = RouteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        result = selectors.route_between(
            start=data["from"], end=data["to"], profile=data["profile"]
        )
        return Response(RouteSerializer(result).data)


class IsochroneApi(APIView):
    throttle_classes = [GeoThrottle]

    @extend_schema(
        operation_id="geo_isochrone",
        parameters=[
            OpenApiParameter("at", str, required=True, description="latitude,longitude"),
            OpenApiParameter("minutes", float, required=True),
            PROFILE_PARAM,
        ],
        responses=IsochroneSerializer,
    )
    def get(self, request: Request) -> Response:
        query = IsochroneQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        area = selectors.isochrone(at=data["at"], minutes=data["minutes"], profile=data["profile"])
        body = {
            "profile": data["profile"],
            "minutes": data["minutes"],
            "geometry": json.loads(area.json),
        }
        return Response(IsochroneSerializer(body).data)


class MatrixApi(APIView):
    throttle_classes = [GeoThrottle]

    @extend_schema(
        operation_id="geo_matrix", request=MatrixRequestSerializer, responses=MatrixSerializer
    )
    def post(self, request: Request) -> Response:
        body = MatrixRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = selectors.travel_matrix(points=data["points"], profile=data["profile"])
        out = {
            "profile": data["profile"],
            "seconds": result.seconds,
            "meters": result.meters,
            "snapped": result.snapped,
        }
        return Response(MatrixSerializer(out).data)
