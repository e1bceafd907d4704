"""Address verification, password reset and change, change of address, consent."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import request_session_id, request_user
from accounts.serializers import (
    ConsentInputSerializer,
    DetailSerializer,
    EmailChangeSerializer,
    EmailInputSerializer,
    ErrorSerializer,
    LegalSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    ProfileSerializer,
    TokenInputSerializer,
)
from accounts.services import consent_record
from accounts.services.credentials import (
    ConsentOutdatedError,
    email_change_request,
    email_verification_resend,
    email_verify,
    password_change,
    password_reset_confirm,
    password_reset_request,
)
from backend.throttling import (
    AccountLinkThrottle,
    AccountMailThrottle,
    PasswordChangeThrottle,
    PasswordResetEmailThrottle,
    PasswordResetIPThrottle,
)

AUTH_TAG = "auth"
ME_TAG = "me"
LINK_ERRORS = OpenApiResponse(
    ErrorSerializer,
    description="token_invalid (unknown or forged), token_expired or token_used; invalid input.",
)


def _detail(message: str, code: int = status.HTTP_200_OK) -> Response:
    return Response(DetailSerializer({"detail": message}).data, status=code)


class EmailVerifyApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AccountLinkThrottle]

    @extend_schema(
        operation_id="auth_email_verify",
        tags=[AUTH_TAG],
        summary="Verify an address with the token of the mailed link",
        request=TokenInputSerializer,
        responses={200: DetailSerializer, 400: LINK_ERRORS, 409: ErrorSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email_verify(secret=serializer.validated_data["token"])
        return _detail(_("Your address is confirmed."))


class EmailVerifyResendApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [AccountMailThrottle]

    @extend_schema(
        operation_id="me_email_verify_resend",
        tags=[ME_TAG],
        summary="Mail the verification link again",
        request=None,
        responses={202: DetailSerializer, 401: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        email_verification_resend(user=request_user(request))
        return _detail(
            _("If your address waits for a confirmation, a link is on its way."),
            status.HTTP_202_ACCEPTED,
        )


class EmailChangeApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [AccountMailThrottle]

    @extend_schema(
        operation_id="me_email_change",
        tags=[ME_TAG],
        summary="Move my account to another address (after its verification)",
        description=(
            "A link goes to the new address and a notice to the current one; the address changes "
            "when the link is opened. The answer is the same whether or not the new address "
            "has an account."
        ),
        request=EmailChangeSerializer,
        responses={
            202: DetailSerializer,
            400: OpenApiResponse(ErrorSerializer, description="wrong_password, same_email"),
            401: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = EmailChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email_change_request(user=request_user(request), **serializer.validated_data)
        return _detail(
            _("Check the new mailbox: a link there confirms the change."), status.HTTP_202_ACCEPTED
        )


class PasswordResetApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PasswordResetIPThrottle, PasswordResetEmailThrottle]

    @extend_schema(
        operation_id="auth_password_reset",
        tags=[AUTH_TAG],
        summary="Ask for a password reset link",
        description="Answers 202 whether or not the address has an account.",
        request=EmailInputSerializer,
        responses={202: DetailSerializer, 400: ErrorSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = EmailInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset_request(email=serializer.validated_data["email"])
        return _detail(
            _("If this address has an account, a link to choose a new password is on its way."),
            status.HTTP_202_ACCEPTED,
        )


class PasswordResetConfirmApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AccountLinkThrottle]

    @extend_schema(
        operation_id="auth_password_reset_confirm",
        tags=[AUTH_TAG],
        summary="Set a new password with the token of the mailed link",
        description="Every session of the account ends; log in again with the new password.",
        request=PasswordResetConfirmSerializer,
        responses={200: DetailSerializer, 400: LINK_ERRORS},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        password_reset_confirm(secret=data["token"], password=data["password"])
        return _detail(_("Your password has changed. Log in with it."))


class PasswordChangeApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [PasswordChangeThrottle]

    @extend_schema(
        operation_id="me_password_change",
        tags=[ME_TAG],
        summary="Change my password: my other sessions end",
        request=PasswordChangeSerializer,
        responses={
            200: DetailSerializer,
            400: OpenApiResponse(ErrorSerializer, description="wrong_password, weak password"),
            401: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_change(
            user=request_user(request),
            keep_session=request_session_id(request),
            **serializer.validated_data,
        )
        return _detail(_("Your password has changed; your other devices are logged out."))


class LegalApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="legal_retrieve",
        tags=[AUTH_TAG],
        summary="The terms of use and privacy notice in force, with their versions",
        responses={200: LegalSerializer},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        return Response(
            LegalSerializer(
                {
                    "terms_version": settings.TERMS_VERSION,
                    "terms_url": settings.TERMS_URL,
                    "privacy_version": settings.PRIVACY_VERSION,
                    "privacy_url": settings.PRIVACY_URL,
                }
            ).data
        )


class ConsentApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_consents_create",
        tags=[ME_TAG],
        summary="Accept the terms of use and privacy notice in force",
        request=ConsentInputSerializer,
        responses={
            200: ProfileSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="consent_required: not the versions in force."
            ),
            401: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = ConsentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if (data["terms_version"], data["privacy_version"]) != (
            settings.TERMS_VERSION,
            settings.PRIVACY_VERSION,
        ):
            raise ConsentOutdatedError()
        user = consent_record(user=request_user(request), **data)
        return Response(ProfileSerializer(user).data)
