from django.urls import path

from opendata import apis

urlpatterns = [
    path("open-data/", apis.CatalogueApi.as_view(), name="opendata-catalogue"),
    path(
        "open-data/schemas/figures.schema.json",
        apis.JsonSchemaApi.as_view(),
        name="opendata-json-schema",
    ),
    path(
        "open-data/schemas/figures.tableschema.json",
        apis.TableSchemaApi.as_view(),
        name="opendata-table-schema",
    ),
    path("open-data/<slug:slug>/", apis.DatasetApi.as_view(), name="opendata-dataset"),
    path(
        "open-data/<slug:slug>/figures.json",
        apis.FiguresJsonApi.as_view(),
        name="opendata-figures-json",
    ),
    path(
        "open-data/<slug:slug>/figures.csv",
        apis.FiguresCsvApi.as_view(),
        name="opendata-figures-csv",
    ),
]
