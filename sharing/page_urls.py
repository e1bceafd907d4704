"""Pages outside the API that paper links to (sharing/pages.py)."""

from django.urls import path

from sharing import pages

urlpatterns = [
    path("i/<str:code>", pages.item_code_page, name="item-code-page"),
]
