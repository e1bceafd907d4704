"""The map widget of the association's admin: no resource from a CDN.

Django's OSMWidget loads OpenLayers from a CDN; this one serves the vendored copy
(panel/static/vendor/ol-7.2.2, from the npm package ``ol``, BSD-2-Clause) and takes its tiles
from ``MAP_TILE_URL``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.gis.forms.widgets import OSMWidget


class LocalMapWidget(OSMWidget):
    template_name = "gis/voisinage-map.html"
    default_lon = settings.MAP_DEFAULT_LON
    default_lat = settings.MAP_DEFAULT_LAT
    default_zoom = settings.MAP_DEFAULT_ZOOM

    class Media:
        extend = False
        css = {"all": ("vendor/ol-7.2.2/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol-7.2.2/ol.js", "gis/js/OLMapWidget.js")

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["tile_url"] = settings.MAP_TILE_URL
        context["tile_attribution"] = settings.MAP_TILE_ATTRIBUTION
        return context
