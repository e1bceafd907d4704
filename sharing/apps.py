from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = _("Lending and borrowing")

    def ready(self) -> None:
        from accounts import rgpd
        from accounts.impact import impact_register
        from sharing.rgpd import HANDLER
        from sharing.selectors import impact_of_person
        from sharing.serializers import SharingImpactSerializer

        rgpd.register(HANDLER)
        # GET /me/impact: the person's loans and objects not bought.
        impact_register("sharing", impact_of_person, SharingImpactSerializer)
