"""Accounts API: registration, tokens, the resident's own profile."""

from __future__ import annotations

from django.utils import translation
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts.apis import rgpd as rgpd_apis
from accounts.homes import profile_update
from accounts.models import User
from accounts.selectors import request_user
from accounts.serializers import (
    ErrorSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    RegisterInputSerializer,
    RegisterOutputSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    TokenRefreshInputSerializer,
    TokenRefreshOutputSerializer,
)
from accounts.services import user_create
from backend.throttling import (
    LoginAccountThrottle,
    LoginIPThrottle,
    RegisterThrottle,
    TokenRefreshThrottle,
)

AUTH_TAG = "auth"
PROFILE_TAG = "me"


def _request_language() -> str:
    language = translation.get_language() or ""
    return language if language in User.Language.values else User.Language.FRENCH


class RegisterApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        operation_id="auth_register",
        tags=[AUTH_TAG],
        summary="Create an account",
        request=RegisterInputSerializer,
        responses={
            201: RegisterOutputSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="Invalid input, weak password or email_taken."
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = user_create(
            email=data["email"],
            password=data["password"],
            display_name=data["display_name"],
            language=data.get("language") or _request_language(),
        )
        refresh = RefreshToken.for_user(user)
        body = {"user": user, "access": str(refresh.access_token), "refresh": str(refresh)}
        return Response(RegisterOutputSerializer(body).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_token_obtain",
        tags=[AUTH_TAG],
        summary="Log in: an access and a refresh token",
        request=TokenObtainSerializer,
        responses={
            200: TokenPairSerializer,
            400: ErrorSerializer,
            401: OpenApiResponse(ErrorSerializer, description="Wrong email or password."),
        },
        auth=[],
    )
)
class TokenObtainApi(TokenObtainPairView):
    serializer_class = TokenObtainSerializer
    throttle_classes = [LoginIPThrottle, LoginAccountThrottle]


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_token_refresh",
        tags=[AUTH_TAG],
        summary="A new access token from a refresh token",
        request=TokenRefreshInputSerializer,
        responses={
            200: TokenRefreshOutputSerializer,
            400: ErrorSerializer,
            401: OpenApiResponse(ErrorSerializer, description="Invalid or expired refresh token."),
        },
        auth=[],
    )
)
class TokenRefreshApi(TokenRefreshView):
    throttle_classes = [TokenRefreshThrottle]


class MeApi(APIView):
    """The asking resident's own profile: never anyone else's."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_retrieve",
        tags=[PROFILE_TAG],
        summary="My profile",
        responses={200: ProfileSerializer, 401: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(ProfileSerializer(request_user(request)).data)

    @extend_schema(
        operation_id="me_update",
        tags=[PROFILE_TAG],
        summary="Change my profile, home or notification preferences",
        request=ProfileUpdateSerializer,
        responses={
            200: ProfileSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="Invalid input, or address_not_found for home_address.",
            ),
            401: ErrorSerializer,
            503: OpenApiResponse(
                ErrorSerializer,
                description="geocoder_unavailable: the address service did not answer.",
            ),
        },
    )
    def patch(self, request: Request) -> Response:
        serializer = ProfileUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = profile_update(user=request_user(request), **serializer.validated_data)
        return Response(ProfileSerializer(user).data)

    @rgpd_apis.me_delete_schema
    def delete(self, request: Request) -> Response:
        return rgpd_apis.me_delete(request)
