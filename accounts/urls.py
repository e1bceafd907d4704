from django.urls import path

from accounts.apis import auth as apis
from accounts.apis import rgpd

urlpatterns = [
    path("auth/register", apis.RegisterApi.as_view(), name="auth-register"),
    path("auth/token", apis.TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/refresh", apis.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("me", apis.MeApi.as_view(), name="me"),
    path("me/export", rgpd.ExportApi.as_view(), name="me-export"),
    path("me/exports/<uuid:export_id>", rgpd.ExportDetailApi.as_view(), name="me-export-detail"),
    path(
        "me/exports/<uuid:export_id>/download",
        rgpd.ExportDownloadApi.as_view(),
        name="me-export-download",
    ),
]
