from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoolingConfig(AppConfig):
    name = "pooling"
    verbose_name = _("Parcel pooling")

    def ready(self) -> None:
        from accounts import rgpd
        from notifications.services import position_received
        from pooling.rgpd import HANDLER
        from pooling.services.couriers import position_from_socket

        # Positions couriers send on their socket move their rounds' ETAs.
        position_received.connect(position_from_socket, dispatch_uid="pooling.position")
        rgpd.register(HANDLER)
