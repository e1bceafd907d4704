from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = _("Lending and borrowing")

    def ready(self) -> None:
        from accounts import rgpd
        from sharing.rgpd import HANDLER

        rgpd.register(HANDLER)
