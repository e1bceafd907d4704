from django.urls import path

from accounts.apis import auth, credentials, impact, rgpd, sessions

urlpatterns = [
    path("auth/register", auth.RegisterApi.as_view(), name="auth-register"),
    path("auth/token", auth.TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/refresh", auth.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout", sessions.LogoutApi.as_view(), name="auth-logout"),
    path("auth/email/verify", credentials.EmailVerifyApi.as_view(), name="auth-email-verify"),
    path("auth/password/reset", credentials.PasswordResetApi.as_view(), name="auth-password-reset"),
    path(
        "auth/password/reset/confirm",
        credentials.PasswordResetConfirmApi.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("legal", credentials.LegalApi.as_view(), name="legal"),
    path("me", auth.MeApi.as_view(), name="me"),
    path("me/password", credentials.PasswordChangeApi.as_view(), name="me-password"),
    path("me/email", credentials.EmailChangeApi.as_view(), name="me-email"),
    path(
        "me/email/verify/resend",
        credentials.EmailVerifyResendApi.as_view(),
        name="me-email-verify-resend",
    ),
    path("me/export", rgpd.ExportApi.as_view(), name="me-export"),
    path("me/exports/<uuid:export_id>", rgpd.ExportDetailApi.as_view(), name="me-export-detail"),
    path(
        "me/exports/<uuid:export_id>/download",
        rgpd.ExportDownloadApi.as_view(),
        name="me-export-download",
    ),
    path("me/impact", impact.MeImpactApi.as_view(), name="me-impact"),
    path("me/consents", credentials.ConsentApi.as_view(), name="me-consents"),
    path("me/sessions", sessions.SessionListApi.as_view(), name="me-sessions"),
    path(
        "me/sessions/<uuid:session_id>",
        sessions.SessionDetailApi.as_view(),
        name="me-session-detail",
    ),
]
