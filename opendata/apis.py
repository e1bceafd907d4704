"""The open data, public: no login, no session, any origin (CORS), cacheable (``Cache-Control``
and an ``ETag`` that ``ConditionalGetMiddleware`` answers with 304), limited per address
(``THROTTLE_OPENDATA``). Thin views: a selector, then a document of ``opendata.documents``. An
association that does not publish has nothing here (404 ``not_found``, as an association that does not exist).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from backend.negotiation import AnyAccept
from backend.throttling import OpenDataThrottle
from opendata import documents, schemas, selectors

JSON = "application/json"
JSON_LD = "application/ld+json"
CSV = "text/csv"
NOT_PUBLISHED = OpenApiResponse(
    description="not_found: no such association, or it publishes no open data."
)


def links_for(request: Request, slug: str) -> documents.Links:
    def url(name: str, **kwargs: Any) -> str:
        return request.build_absolute_uri(reverse(name, kwargs=kwargs or None))

    return documents.Links(
        catalogue=url("opendata-catalogue"),
        dataset=url("opendata-dataset", slug=slug),
        figures_csv=url("opendata-figures-csv", slug=slug),
        figures_json=url("opendata-figures-json", slug=slug),
        json_schema=url("opendata-json-schema"),
        table_schema=url("opendata-table-schema"),
    )


def _answer(body: Any, content_type: str) -> HttpResponse:
    if not isinstance(body, bytes):
        body = json.dumps(body, ensure_ascii=False, indent=1).encode()
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={int(settings.OPENDATA_MAX_AGE)}"
    return response


class _Public(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [OpenDataThrottle]
    # The body is built by the view whatever the client accepts; an error is JSON.
    content_negotiation_class = AnyAccept


class CatalogueApi(_Public):
    @extend_schema(
        operation_id="opendata_catalogue",
        summary="The catalogue of the associations' open data (DCAT-AP, JSON-LD)",
        description=(
            "A `dcat:Catalog` of every association that publishes its monthly figures: each "
            "`dcat:Dataset` with its licence, publisher, period and its CSV and JSON "
            "distributions (`dcat:mediaType`, `dct:conformsTo` their schemas). Titles and "
            "descriptions in French and English (language maps). Public, cacheable."
        ),
        responses={(200, JSON_LD): OpenApiResponse(OpenApiTypes.OBJECT)},
        auth=[],
    )
    def get(self, request: Request) -> HttpResponse:
        datasets = [
            documents.dataset_node(
                entry.association,
                links_for(request, entry.association.slug),
                first_month=entry.first_month,
                last_month=entry.last_month,
                modified=entry.modified,
                factor_tables=entry.factor_tables,
            )
            for entry in selectors.catalogue()
        ]
        url = request.build_absolute_uri(reverse("opendata-catalogue"))
        return _answer(documents.catalogue_document(url=url, datasets=datasets), JSON_LD)


class DatasetApi(_Public):
    @extend_schema(
        operation_id="opendata_dataset",
        summary="An association's open data: its description (DCAT-AP, JSON-LD)",
        responses={(200, JSON_LD): OpenApiResponse(OpenApiTypes.OBJECT), 404: NOT_PUBLISHED},
        auth=[],
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        dataset = selectors.dataset_of(slug)
        return _answer(documents.dataset_document(dataset, links_for(request, slug)), JSON_LD)


class FiguresJsonApi(_Public):
    @extend_schema(
        operation_id="opendata_figures_json",
        summary="An association's monthly figures per neighbourhood (JSON)",
        description=(
            "Valid against `/api/v1/open-data/schemas/figures.schema.json`. Counts under 5 are "
            "null, the others rounded down to a multiple of 5 (docs/opendata.md)."
        ),
        responses={(200, JSON): OpenApiResponse(OpenApiTypes.OBJECT), 404: NOT_PUBLISHED},
        auth=[],
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        dataset = selectors.dataset_of(slug)
        return _answer(documents.figures_json(dataset, links_for(request, slug)), JSON)


class FiguresCsvApi(_Public):
    @extend_schema(
        operation_id="opendata_figures_csv",
        summary="An association's monthly figures per neighbourhood (CSV)",
        description=(
            "UTF-8, comma-separated, a header line; valid against the Table Schema "
            "`/api/v1/open-data/schemas/figures.tableschema.json`. An empty cell is a count "
            "under 5, not published."
        ),
        responses={
            (200, CSV): OpenApiResponse(OpenApiTypes.STR, description="The figures."),
            404: NOT_PUBLISHED,
        },
        auth=[],
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        dataset = selectors.dataset_of(slug)
        response = _answer(documents.figures_csv(dataset), CSV)
        response["Content-Disposition"] = f'inline; filename="{slug}-figures.csv"'
        return response


class JsonSchemaApi(_Public):
    @extend_schema(
        operation_id="opendata_json_schema",
        summary="The JSON Schema of figures.json",
        responses={(200, JSON): OpenApiResponse(OpenApiTypes.OBJECT)},
        auth=[],
    )
    def get(self, request: Request) -> HttpResponse:
        url = request.build_absolute_uri(reverse("opendata-json-schema"))
        return _answer(schemas.json_schema(schema_url=url), JSON)


class TableSchemaApi(_Public):
    @extend_schema(
        operation_id="opendata_table_schema",
        summary="The Table Schema (frictionless) of figures.csv",
        responses={(200, JSON): OpenApiResponse(OpenApiTypes.OBJECT)},
        auth=[],
    )
    def get(self, request: Request) -> HttpResponse:
        return _answer(schemas.table_schema(), JSON)
