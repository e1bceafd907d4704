from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NeighbourhoodsConfig(AppConfig):
    name = "neighbourhoods"
    verbose_name = _("Neighbourhoods")

    def ready(self) -> None:
        from accounts.roles import role_register
        from neighbourhoods.selectors import active_neighbourhood_ids, staff_neighbourhood_ids

        # GET /me's roles: a member of a neighbourhood; staff of an association (or superuser).
        role_register("resident", lambda user: bool(active_neighbourhood_ids(user)))
        role_register("association_staff", lambda user: staff_neighbourhood_ids(user) != [])

        from accounts import rgpd
        from neighbourhoods.rgpd import HANDLER

        rgpd.register(HANDLER)
