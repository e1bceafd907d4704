from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import include, path
from django.views import View
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backend import health

handler404 = "backend.error_handlers.json_404"
handler500 = "backend.error_handlers.json_500"

api_v1 = [
    path("", include("accounts.urls")),
    path("geo/", include("geo.urls")),
    path("", include("neighbourhoods.urls")),
    path("", include("sharing.urls")),
    path("", include("notifications.urls")),
    path("", include("pooling.urls")),
    path("", include("opendata.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its set-up script as a file: the docs page needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include(api_v1)),
    # Outside the API: opened from a link in a mail, without signing in.
    path("email/", include("notifications.page_urls")),
    path("admin/", admin.site.urls),
    # Pages that mails link to (address verification, password reset, the documents).
    path("", include("accounts.page_urls")),
    # The page a QR code printed on paper opens (/i/<code>) when no app catches it.
    path("", include("sharing.page_urls")),
]


class MediaItemsView(View):
    """Items' photos (public to whoever has the link: random names), never the private files."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, path: str) -> HttpResponseBase:
        return serve(request, path, document_root=str(Path(settings.MEDIA_ROOT) / "items"))


if settings.SERVE_MEDIA:
    urlpatterns.append(
        path("media/items/<path:path>", MediaItemsView.as_view(), name="media-items")
    )
