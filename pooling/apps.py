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

        from accounts.roles import role_register
        from pooling.models import Courier

        # GET /me's roles: someone the association registered as a courier.
        role_register(
            "courier", lambda user: Courier.objects.filter(user=user, is_active=True).exists()
        )

        from accounts.impact import impact_register
        from pooling.selectors import impact_of_resident
        from pooling.serializers.batches import PoolingImpactSerializer

        # GET /me/impact: the person's pooled parcels and their share of the km and CO2 saved.
        impact_register("pooling", impact_of_resident, PoolingImpactSerializer)

        rgpd.register(HANDLER)
