from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssistanceConfig(AppConfig):
    name = "assistance"
    label = "assistance"
    verbose_name = _("Assisted members")

    def ready(self) -> None:
        from accounts import rgpd
        from assistance.rgpd import HANDLER

        rgpd.register(HANDLER)
