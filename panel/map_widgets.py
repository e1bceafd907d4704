"""The maps of the association's admin: no resource from a CDN, and a background of their own.

Django's OSMWidget loads OpenLayers from a CDN; this one serves the vendored copy
(panel/static/vendor/ol-7.2.2, from the npm package ``ol``, BSD-2-Clause). Its background is the
street graph's vector tiles served by this server (``geo.tiles``), drawn by
``panel/static/panel/streets.js``; with ``MAP_TILE_URL`` set, that tile server's images instead.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.gis.forms.widgets import OSMWidget
from django.urls import reverse

from geo import tiles


def background_config() -> dict[str, Any]:
    """What a panel map needs to draw its background (read by streets.js)."""
    street_url = reverse("geo-street-tile", kwargs={"z": 0, "x": 0, "y": 0})
    return {
        "tile_url": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "streets_url": street_url.replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt"),
        "streets_attribution": tiles.ATTRIBUTION,
        "streets_min_zoom": int(settings.GEO_TILE_MIN_ZOOM),
        "streets_max_zoom": int(settings.GEO_TILE_MAX_ZOOM),
    }


class LocalMapWidget(OSMWidget):
    template_name = "gis/voisinage-map.html"
    default_lon = settings.MAP_DEFAULT_LON
    default_lat = settings.MAP_DEFAULT_LAT
    default_zoom = settings.MAP_DEFAULT_ZOOM

    class Media:
        extend = False
        css = {"all": ("vendor/ol-7.2.2/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol-7.2.2/ol.js", "panel/streets.js", "gis/js/OLMapWidget.js")

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["background"] = background_config()
        return context
