"""Turn a postal address into a point, with geopy.

The Base Adresse Nationale (BAN, France's national address base) answers first; Nominatim
(OpenStreetMap) answers what BAN does not know. Domains, schemes, timeout and user agent come from
settings (``GEOCODER_*``), so tests point them at a local server and production at the real
services.

Two outcomes besides a point, both :class:`~backend.errors.DomainError`:

- :class:`AddressNotFoundError` (400 ``address_not_found``): every geocoder answered, none knew the
  address;
- :class:`GeocoderUnavailableError` (503 ``geocoder_unavailable``): no geocoder found it and at
  least one could not answer (down, timed out, server error, unreadable reply). We cannot say the
  address does not exist, so the client is told to try again later.

geopy is imported inside the functions: importing this module opens no connection and needs
nothing from the network.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy as _

from backend.errors import DomainError, UnavailableError

if TYPE_CHECKING:
    from geopy.geocoders.base import Geocoder
    from geopy.location import Location

logger = logging.getLogger(__name__)

# BAN answers almost any query with its closest match and a relevance score in [0, 1]; below this
# score the match is some other address (a street of the same name in another town), not a hit.
BAN_MIN_SCORE = 0.5
ADDRESS_MIN_LENGTH = 3  # BAN refuses shorter queries with a 400
ADDRESS_MAX_LENGTH = 200  # and longer ones


class AddressNotFoundError(DomainError):
    status_code = 400
    code = "address_not_found"
    default_message = _("This address could not be found.")


class GeocoderUnavailableError(UnavailableError):
    code = "geocoder_unavailable"
    default_message = _("The address service is unavailable; try again later.")


@dataclass(frozen=True)
class GeocodedAddress:
    label: str
    point: Point
    source: str  # "ban" or "nominatim"


def geocode_address(address: str) -> GeocodedAddress:
    """The point of ``address``: BAN first, then Nominatim.

    Raises :class:`AddressNotFoundError` or :class:`GeocoderUnavailableError`.
    """
    query = " ".join(address.split())
    if not ADDRESS_MIN_LENGTH <= len(query) <= ADDRESS_MAX_LENGTH:
        raise AddressNotFoundError()

    unavailable = False
    for source, build in (("ban", _ban), ("nominatim", _nominatim)):
        try:
            found = _ask(source, build, query)
        except _Unavailable:
            unavailable = True
            continue
        if found is not None:
            return found
    if unavailable:
        raise GeocoderUnavailableError()
    raise AddressNotFoundError()


class _Unavailable(Exception):
    pass


def _ban() -> Geocoder:
    from geopy.geocoders import BANFrance

    return BANFrance(
        domain=settings.GEOCODER_BAN_DOMAIN,
        scheme=settings.GEOCODER_BAN_SCHEME,
        timeout=settings.GEOCODER_TIMEOUT,
        user_agent=settings.GEOCODER_USER_AGENT,
    )


def _nominatim() -> Geocoder:
    from geopy.geocoders import Nominatim

    return Nominatim(
        domain=settings.GEOCODER_NOMINATIM_DOMAIN,
        scheme=settings.GEOCODER_NOMINATIM_SCHEME,
        timeout=settings.GEOCODER_TIMEOUT,
        user_agent=settings.GEOCODER_USER_AGENT,
    )


def _ask(source: str, build: Callable[[], Geocoder], query: str) -> GeocodedAddress | None:
    """One geocoder's answer: a hit, ``None`` for "unknown here", or :class:`_Unavailable`."""
    from geopy.exc import GeocoderQueryError, GeopyError

    try:
        with build() as geocoder:
            # The best candidate only (for BAN, its score then decides whether it is a hit).
            location = geocoder.geocode(query, exactly_one=True, limit=1)
    except GeocoderQueryError:
        # The service refused this query as malformed: it does not know this address.
        logger.info("geocoder %s refused the query", source)
        return None
    except GeopyError as error:
        # Down, timed out, 5xx, rate limited, unreadable body, misconfigured.
        logger.warning("geocoder %s unavailable: %s", source, type(error).__name__)
        raise _Unavailable from error
    except (KeyError, IndexError, TypeError, ValueError) as error:
        # geopy's parsers index into the reply: a reply of an unexpected shape lands here.
        logger.warning("geocoder %s sent an unexpected reply: %s", source, type(error).__name__)
        raise _Unavailable from error
    if location is None:
        return None
    return _to_address(source, location)


def _to_address(source: str, location: Location) -> GeocodedAddress | None:
    if source == "ban":
        score = (location.raw.get("properties") or {}).get("score")
        if isinstance(score, int | float) and score < BAN_MIN_SCORE:
            return None
    lat, lon = location.latitude, location.longitude
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        logger.warning("geocoder %s returned coordinates out of range", source)
        raise _Unavailable
    label = (location.address or "").strip()[:300]
    return GeocodedAddress(
        label=label, point=Point(lon, lat, srid=settings.GEO_SRID), source=source
    )
