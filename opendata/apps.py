from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

OPEN_DATA_PATH = "/api/v1/open-data/"


def cors_for_open_data(sender: Any = None, request: Any = None, **kwargs: Any) -> bool:
    """The open data may be read from a page of any origin (no credentials are ever allowed):
    django-cors-headers asks this for origins outside ``CORS_ALLOWED_ORIGINS``."""
    return request is not None and request.path.startswith(OPEN_DATA_PATH)


class OpenDataConfig(AppConfig):
    name = "opendata"
    verbose_name = _("Open data")

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        # django-cors-headers' own extension point (a request's CORS, not a domain flow).
        check_request_enabled.connect(cors_for_open_data, dispatch_uid="opendata.cors")
