"""The person's sessions: list, end one, log out."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import AuthSession
from accounts.selectors import request_session_id, request_user
from accounts.serializers import ErrorSerializer, LogoutInputSerializer, SessionSerializer
from accounts.services.sessions import SessionNotFoundError, session_end

TAG = "me"


class LogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        tags=["auth"],
        summary="Log out: this session ends (its tokens and its push device with it)",
        request=LogoutInputSerializer,
        responses={204: None, 401: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        LogoutInputSerializer(data=request.data or {}).is_valid(raise_exception=True)
        session_id = request_session_id(request)
        if session_id is None:
            raise SessionNotFoundError()
        session_end(user=request_user(request), session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = None

    @extend_schema(
        operation_id="me_sessions_list",
        tags=[TAG],
        summary="My signed-in sessions (apps and devices)",
        responses={200: SessionSerializer(many=True), 401: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        current = request_session_id(request)
        sessions = AuthSession.objects.filter(
            user=request_user(request), revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).order_by("-last_used_at")
        rows = [
            {
                "id": s.pk,
                "name": s.name,
                "created_at": s.created_at,
                "last_used_at": s.last_used_at,
                "current": str(s.pk) == current,
            }
            for s in sessions
        ]
        return Response(SessionSerializer(rows, many=True).data)


class SessionDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_sessions_end",
        tags=[TAG],
        summary="End one of my sessions (a lost phone): its tokens stop working at once",
        responses={
            204: None,
            401: ErrorSerializer,
            404: OpenApiResponse(ErrorSerializer, description="session_not_found"),
        },
    )
    def delete(self, request: Request, session_id: str) -> Response:
        session_end(user=request_user(request), session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
