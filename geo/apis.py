"""Geo API: route, isochrone, matrix, street tiles. Thin views: validate, call a selector,
serialize."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.negotiation import AnyAccept
from backend.throttling import GeoThrottle, TileThrottle
from geo import selectors, tiles
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


def _accepts_gzip(header: str) -> bool:
    for part in header.lower().split(","):
        name, _, params = part.partition(";")
        if name.strip() not in ("gzip", "*"):
            continue
        q = params.strip().removeprefix("q=").strip() if "q=" in params else "1"
        try:
            return float(q) > 0
        except ValueError:
            return False
    return False


class StreetTileApi(APIView):
    """The street graph as Mapbox Vector Tiles: public (OpenStreetMap's data, ODbL)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TileThrottle]
    # A tile is bytes whatever the client accepts; an error is JSON.
    content_negotiation_class = AnyAccept

    @extend_schema(
        operation_id="geo_street_tile",
        summary="A vector tile of the street graph",
        description=(
            "One layer, `streets`: the ways of the active street graph, each with `kind` "
            "(main, street, pedestrian, path, cycleway, steps), `highway` (the OSM tag), `steps` "
            "and `area`. Main streets only below zoom 14; footpaths and steps from zoom 15. An "
            "empty body is an empty tile. Cached by `Cache-Control` and `ETag` (the graph's id: "
            "a new import changes it); gzipped when `Accept-Encoding` allows. Draw it with "
            "'© OpenStreetMap contributors'."
        ),
        responses={
            (200, tiles.CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="The tile (empty body: no way in it)."
            ),
            304: OpenApiResponse(description="Not modified: If-None-Match names the tile's ETag."),
            400: OpenApiResponse(description="invalid_tile: x or y is outside the zoom's grid."),
            404: OpenApiResponse(description="tile_not_served: a zoom outside the served range."),
        },
        auth=[],
    )
    def get(self, request: Request, z: int, x: int, y: int) -> HttpResponse:
        accepts_gzip = _accepts_gzip(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        tile = tiles.street_tile(
            z=z,
            x=x,
            y=y,
            accepts_gzip=accepts_gzip,
            if_none_match=request.META.get("HTTP_IF_NONE_MATCH", ""),
        )
        if tile.body is None:  # the client's copy is current
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(tile.body, content_type=tiles.CONTENT_TYPE)
            if tile.gzipped:
                response["Content-Encoding"] = "gzip"
        response["ETag"] = tile.etag
        response["Cache-Control"] = f"public, max-age={int(settings.GEO_TILE_MAX_AGE)}"
        patch_vary_headers(response, ["Accept-Encoding"])
        return response
