"""Accounts API: the RGPD's rights. Deleting the account (art. 17: ``DELETE /me``, in
``accounts.apis.auth.MeApi`` through :func:`me_delete`), exporting its data (art. 15 and 20)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import request_user
from accounts.serializers import ErrorSerializer
from accounts.serializers_rgpd import (
    AccountDeleteInputSerializer,
    DataExportSerializer,
    ExportDownloadQuerySerializer,
)
from accounts.services.deletion import login_is_fresh, user_delete
from accounts.services.export import export_for_download, export_of, export_request

PROFILE_TAG = "me"

me_delete_schema = extend_schema(
    operation_id="me_delete",
    tags=[PROFILE_TAG],
    summary="Delete my account",
    description=(
        "Erases the person: profile, home, sessions and devices, items' photos, preferences. "
        "What others need (loans, messages, ratings) stays, signed by a pseudonymous former "
        "member. Items are withdrawn, requests declined or cancelled, undelivered orders "
        "cancelled. Confirm with the password, or with a token from a recent login."
    ),
    request=AccountDeleteInputSerializer,
    responses={
        204: OpenApiResponse(description="Deleted: the tokens no longer authenticate."),
        400: ErrorSerializer,
        401: OpenApiResponse(
            ErrorSerializer, description="Not authenticated (or the account is already deleted)."
        ),
        403: OpenApiResponse(
            ErrorSerializer,
            description="wrong_password, or reauthentication_required: no password and the "
            "login is not recent.",
        ),
        409: OpenApiResponse(
            ErrorSerializer,
            description="active_loans: objects lent or borrowed (or a round under way) must be "
            "settled first; fields.blockers lists them (kind, id, label, role).",
        ),
    },
)


def _claims(request: Request) -> Any:
    """The access token's claims (simplejwt's token is a mapping); None without a token."""
    token = request.auth
    return token if hasattr(token, "get") else None


def me_delete(request: Request) -> Response:
    serializer = AccountDeleteInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user_delete(
        user=request_user(request),
        password=serializer.validated_data.get("password") or None,
        fresh_login=login_is_fresh(_claims(request)),
    )
    return Response(status=status.HTTP_204_NO_CONTENT)


class ExportApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_export_create",
        tags=[PROFILE_TAG],
        summary="Ask for a copy of my data",
        description=(
            "Starts a background job building a zip of JSON files and photos; follow it with "
            "GET /me/exports/{id}. A mail brings the download link when it is ready."
        ),
        request=None,
        responses={
            202: DataExportSerializer,
            401: ErrorSerializer,
            409: OpenApiResponse(
                ErrorSerializer, description="export_running: one is already being prepared."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data_export = export_request(user=request_user(request))
        return Response(DataExportSerializer(data_export).data, status=status.HTTP_202_ACCEPTED)


class ExportDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_export_retrieve",
        tags=[PROFILE_TAG],
        summary="Where my data export is",
        responses={
            200: DataExportSerializer,
            401: ErrorSerializer,
            404: OpenApiResponse(ErrorSerializer, description="Not one of your exports."),
        },
    )
    def get(self, request: Request, export_id: UUID) -> Response:
        data_export = export_of(user=request_user(request), export_id=export_id)
        return Response(DataExportSerializer(data_export).data)


class ExportDownloadApi(APIView):
    """The mailed link: the signed token is the authorization (it names this export)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="me_export_download",
        tags=[PROFILE_TAG],
        summary="Download my data export (the mailed link)",
        parameters=[ExportDownloadQuerySerializer],
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The zip of JSON files and photos."
            ),
            400: ErrorSerializer,
            403: OpenApiResponse(ErrorSerializer, description="export_link_invalid."),
            404: OpenApiResponse(ErrorSerializer, description="export_not_found."),
            409: OpenApiResponse(ErrorSerializer, description="export_not_ready."),
            410: OpenApiResponse(
                ErrorSerializer, description="export_expired: ask for a new export."
            ),
        },
        auth=[],
    )
    def get(self, request: Request, export_id: UUID) -> FileResponse:
        query = ExportDownloadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data_export, path = export_for_download(
            export_id=export_id, token=query.validated_data["token"]
        )
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=f"voisinage-data-{data_export.created_at:%Y-%m-%d}.zip",
            content_type="application/zip",
        )
