"""The demo residents: who they are and where they live.

The demo street graph is central Helsinki, so the homes are points there (longitude 24.92–24.96,
latitude 60.160–60.175), on land, spread over a few neighbourhoods. The names are French because
the residents are; the password is shared and public: demo data, never production data.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "voisinage-demo"  # noqa: S105 - public on purpose, printed by `demo_login`
DEMO_EMAIL_DOMAIN = "demo.voisinage.fr"
DEMO_ADMIN_EMAIL = f"admin@{DEMO_EMAIL_DOMAIN}"
# A volunteer of the demo association: staff of its neighbourhood only, not a superuser (created
# by the sharing and pooling seeds, with the association).
DEMO_VOLUNTEER_EMAIL = f"benevole@{DEMO_EMAIL_DOMAIN}"
DEMO_VOLUNTEER_NAME = "Bénévole Kamppi"


@dataclass(frozen=True)
class DemoResident:
    first_name: str
    display_name: str
    language: str
    lon: float
    lat: float
    home_address: str

    @property
    def email(self) -> str:
        return f"{self.first_name.lower()}@{DEMO_EMAIL_DOMAIN}"


DEMO_RESIDENTS: tuple[DemoResident, ...] = (
    DemoResident("camille", "Camille Martin", "fr", 24.9320, 60.1690, "Kamppi, Helsinki"),
    DemoResident("lea", "Léa Bernard", "fr", 24.9395, 60.1655, "Punavuori, Helsinki"),
    DemoResident("hugo", "Hugo Dubois", "fr", 24.9460, 60.1670, "Kaartinkaupunki, Helsinki"),
    DemoResident("chloe", "Chloé Thomas", "fr", 24.9450, 60.1710, "Kluuvi, Helsinki"),
    DemoResident("lucas", "Lucas Robert", "en", 24.9490, 60.1660, "Kaartinkaupunki, Helsinki"),
    DemoResident("manon", "Manon Richard", "fr", 24.9370, 60.1662, "Punavuori, Helsinki"),
    DemoResident("louis", "Louis Petit", "fr", 24.9380, 60.1750, "Kamppi, Helsinki"),
    DemoResident("ines", "Inès Durand", "fr", 24.9550, 60.1720, "Kruununhaka, Helsinki"),
    DemoResident("jules", "Jules Leroy", "en", 24.9510, 60.1620, "Ullanlinna, Helsinki"),
    DemoResident("zoe", "Zoé Moreau", "fr", 24.9470, 60.1740, "Kaisaniemi, Helsinki"),
)
