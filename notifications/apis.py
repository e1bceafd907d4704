"""Notifications API: websocket tickets and push devices. Thin views."""

from __future__ import annotations

import redis
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import request_session_id, request_user
from accounts.serializers import ErrorSerializer
from backend.errors import UnavailableError
from notifications import selectors
from notifications.serializers import DeviceInputSerializer, DeviceSerializer, TicketSerializer
from notifications.services import device_delete, device_register
from notifications.tickets import ticket_issue

REALTIME_TAG = "realtime"
DEVICES_TAG = "devices"


def _user_id(request: Request) -> int:
    """The authenticated resident's id (the views require authentication)."""
    return request_user(request).pk


class RealtimeUnavailableError(UnavailableError):
    code = "realtime_unavailable"
    default_message = _("Live updates are unavailable for a moment; try again later.")


class RealtimeTicketApi(APIView):
    @extend_schema(
        operation_id="realtime_ticket",
        tags=[REALTIME_TAG],
        summary="A single-use ticket to open the events websocket",
        description="The ticket opens one socket at /ws/v1/events within `expires_in` seconds. "
        "Events are JSON envelopes {id, type, at, data}; see docs/events.md.",
        request=None,
        responses={
            201: TicketSerializer,
            401: ErrorSerializer,
            503: OpenApiResponse(ErrorSerializer, description="realtime_unavailable"),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            ticket = ticket_issue(user_id=_user_id(request), session_id=request_session_id(request))
        except redis.RedisError as error:
            raise RealtimeUnavailableError() from error
        body = {
            "ticket": ticket.token,
            "expires_in": ticket.expires_in,
            "last_id": selectors.stream_last_seq(user_id=_user_id(request)),
            "path": "/ws/v1/events",
        }
        return Response(TicketSerializer(body).data, status=status.HTTP_201_CREATED)


class DeviceCreateApi(APIView):
    @extend_schema(
        operation_id="devices_register",
        tags=[DEVICES_TAG],
        summary="Register this device's push token",
        description="201 for a new token, 200 when the token was known (it now belongs to you).",
        request=DeviceInputSerializer,
        responses={
            200: DeviceSerializer,
            201: DeviceSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = DeviceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = device_register(
            user_id=_user_id(request),
            session_id=request_session_id(request),
            **serializer.validated_data,
        )
        return Response(
            DeviceSerializer(registration.device).data,
            status=status.HTTP_201_CREATED if registration.created else status.HTTP_200_OK,
        )


class DeviceDeleteApi(APIView):
    @extend_schema(
        operation_id="devices_delete",
        tags=[DEVICES_TAG],
        summary="Forget one of my devices",
        responses={
            204: None,
            401: ErrorSerializer,
            404: OpenApiResponse(ErrorSerializer, description="device_not_found (or not yours)"),
        },
    )
    def delete(self, request: Request, device_id: int) -> Response:
        device_delete(user_id=_user_id(request), device_id=device_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
