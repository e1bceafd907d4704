"""Notifications API: websocket tickets, push devices and the inbox. Thin views."""

from __future__ import annotations

import redis
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from accounts.selectors import request_session_id, request_user
from accounts.serializers import ErrorSerializer
from backend.compression import uncompressed
from backend.errors import UnavailableError
from notifications import selectors
from notifications.serializers import (
    DeviceInputSerializer,
    DeviceSerializer,
    InboxQuerySerializer,
    NotificationPageSerializer,
    ReadAllInputSerializer,
    ReadAllSerializer,
    TicketSerializer,
    UnreadSerializer,
)
from notifications.services import (
    device_delete,
    device_register,
    event_mark_read,
    events_mark_all_read,
)
from notifications.tickets import ticket_issue

REALTIME_TAG = "realtime"
DEVICES_TAG = "devices"
NOTIFICATIONS_TAG = "notifications"


def _user_id(request: Request) -> int:
    """The authenticated resident's id (the views require authentication)."""
    return request_user(request).pk


class RealtimeUnavailableError(UnavailableError):
    code = "realtime_unavailable"
    default_message = _("Live updates are unavailable for a moment; try again later.")


@uncompressed  # a credential: never compressed (backend/compression.py)
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


# --- the inbox ------------------------------------------------------------------------------------


class NotificationListApi(APIView):
    @extend_schema(
        operation_id="notifications_list",
        tags=[NOTIFICATIONS_TAG],
        summary="My notifications, newest first",
        description="Your events from the event log (kept NOTIFICATIONS_EVENT_RETENTION_DAYS), "
        "newest first, a page at a time: follow `next` for older ones. Unknown query "
        "parameters are ignored.",
        parameters=[InboxQuerySerializer],
        responses={
            200: NotificationPageSerializer,
            400: OpenApiResponse(ErrorSerializer, description="invalid before, limit or unread"),
            401: ErrorSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        query = InboxQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page = selectors.inbox_page(
            user_id=_user_id(request),
            language=request_user(request).language,
            before=params.get("before"),
            limit=params["limit"],
            unread_only=params["unread"],
        )
        next_url = None
        if page.next_before is not None:
            next_url = replace_query_param(
                request.build_absolute_uri(), "before", str(page.next_before)
            )
        return Response(NotificationPageSerializer({"next": next_url, "results": page.items}).data)


class NotificationUnreadCountApi(APIView):
    @extend_schema(
        operation_id="notifications_unread_count",
        tags=[NOTIFICATIONS_TAG],
        summary="How many of my notifications are unread",
        responses={200: UnreadSerializer, 401: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        unread = selectors.inbox_unread(user_id=_user_id(request))
        return Response(UnreadSerializer(unread).data)


class NotificationReadApi(APIView):
    @extend_schema(
        operation_id="notifications_read",
        tags=[NOTIFICATIONS_TAG],
        summary="Mark one of my notifications read",
        description="Idempotent. Your other open sockets receive "
        '`{"type": "notifications.read", "ids": [id], ...}` (docs/events.md).',
        request=None,
        responses={
            200: UnreadSerializer,
            401: ErrorSerializer,
            404: OpenApiResponse(
                ErrorSerializer, description="notification_not_found (or not yours)"
            ),
        },
    )
    def post(self, request: Request, notification_id: int) -> Response:
        unread = event_mark_read(user_id=_user_id(request), seq=notification_id)
        return Response(UnreadSerializer(unread).data)


class NotificationReadAllApi(APIView):
    @extend_schema(
        operation_id="notifications_read_all",
        tags=[NOTIFICATIONS_TAG],
        summary="Mark my notifications read, up to an id",
        description="Marks your events up to `up_to` (default: your latest) read; a newer one "
        "stays unread. Your other open sockets receive "
        '`{"type": "notifications.read", "up_to": n, ...}` (docs/events.md).',
        request=ReadAllInputSerializer,
        responses={
            200: ReadAllSerializer,
            400: OpenApiResponse(ErrorSerializer, description="invalid up_to"),
            401: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = ReadAllInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        up_to, unread = events_mark_all_read(
            user_id=_user_id(request), up_to=serializer.validated_data.get("up_to")
        )
        body = {"up_to": up_to, "unread": unread.unread, "last_id": unread.last_id}
        return Response(ReadAllSerializer(body).data)
