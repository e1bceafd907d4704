from django.urls import path

from geo import apis

urlpatterns = [
    path("route", apis.RouteApi.as_view(), name="geo-route"),
    path("isochrone", apis.IsochroneApi.as_view(), name="geo-isochrone"),
    path("matrix", apis.MatrixApi.as_view(), name="geo-matrix"),
    path(
        "tiles/streets/<int:z>/<int:x>/<int:y>.mvt",
        apis.StreetTileApi.as_view(),
        name="geo-street-tile",
    ),
]
