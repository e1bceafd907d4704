from django.urls import path

from neighbourhoods import apis

urlpatterns = [
    path("neighbourhoods", apis.NeighbourhoodListApi.as_view(), name="neighbourhoods"),
    path(
        "neighbourhoods/<int:pk>/join",
        apis.NeighbourhoodJoinApi.as_view(),
        name="neighbourhood-join",
    ),
]
