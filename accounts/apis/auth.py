"""Accounts API: registration, tokens, the resident's own profile."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

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
from accounts.services import email_normalize
from accounts.services.credentials import registration_request
from accounts.services.sessions import session_refresh, session_start
from backend.compression import uncompressed
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
        summary="Create an account: a verification mail goes to the address",
        description=(
            "Answers 202 whether or not the address already has an account (its owner gets a "
            "mail instead): registration never tells who is registered. Then log in with "
            "POST /api/v1/auth/token; the link in the mail verifies the address."
        ),
        request=RegisterInputSerializer,
        responses={
            202: RegisterOutputSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="Invalid input, weak password, or consent_required (old versions).",
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        registration_request(
            email=data["email"],
            password=data["password"],
            display_name=data["display_name"],
            language=data.get("language") or _request_language(),
            terms_version=data["terms_version"],
            privacy_version=data["privacy_version"],
        )
        body = {
            "detail": _("Check your mailbox: a link there confirms your address."),
            "email": email_normalize(data["email"]),
        }
        return Response(RegisterOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def _device_name(request: Request, given: str | None) -> str:
    return (given or request.META.get("HTTP_USER_AGENT") or "")[:120]


@uncompressed  # tokens: never compressed (backend/compression.py)
class TokenObtainApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginIPThrottle, LoginAccountThrottle]

    def get_authenticate_header(self, request: Request) -> str:
        # Wrong credentials are a 401 (DRF answers 403 where no authenticator names a scheme).
        return 'Bearer realm="api"'

    @extend_schema(
        operation_id="auth_token_obtain",
        tags=[AUTH_TAG],
        summary="Log in: an access and a refresh token (a new session)",
        request=TokenObtainSerializer,
        responses={
            200: TokenPairSerializer,
            400: ErrorSerializer,
            401: OpenApiResponse(ErrorSerializer, description="Wrong email or password."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = authenticate(request, email=data["email"], password=data["password"])
        if not isinstance(user, User) or not user.is_active:
            raise AuthenticationFailed(
                _("No active account matches this email and password."), code="no_active_account"
            )
        pair = session_start(user=user, name=_device_name(request, data.get("device_name")))
        return Response(TokenPairSerializer(pair).data)


@uncompressed
class TokenRefreshApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenRefreshThrottle]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

    @extend_schema(
        operation_id="auth_token_refresh",
        tags=[AUTH_TAG],
        summary="A new pair of tokens from a refresh token, which is refused from then on",
        description=(
            "Refresh tokens rotate: keep the new one. Sending the previous one again within "
            "JWT_REFRESH_REUSE_GRACE_SECONDS (an answer lost on a weak network) gives a new pair; "
            "later, it ends the session (401 token_reused)."
        ),
        request=TokenRefreshInputSerializer,
        responses={
            200: TokenRefreshOutputSerializer,
            400: ErrorSerializer,
            401: OpenApiResponse(
                ErrorSerializer,
                description="token_not_valid, session_ended or token_reused: log in again.",
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = session_refresh(refresh=serializer.validated_data["refresh"])
        return Response(TokenRefreshOutputSerializer(pair).data)


class MeApi(APIView):
    """The asking resident's own profile: never anyone else's."""

    # Reachable before consenting to new documents: the profile says what to accept.
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
