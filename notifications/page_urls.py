"""Pages outside the API (``/email/...``), opened from links in mails."""

from django.urls import path

from notifications import pages

urlpatterns = [
    path("unsubscribe", pages.email_unsubscribe_page, name="email-unsubscribe"),
]
