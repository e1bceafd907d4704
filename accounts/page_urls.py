"""Pages outside the API that mails link to (accounts/pages.py)."""

from django.urls import path

from accounts import pages

urlpatterns = [
    path("account/verify-email", pages.verify_email, name="page-verify-email"),
    path("account/reset-password", pages.reset_password, name="page-reset-password"),
    path("account/take-over", pages.take_over, name="page-take-over"),
    path("account/forgot-password", pages.forgot_password, name="page-forgot-password"),
    path("legal/terms", pages.legal, {"document": "terms"}, name="page-legal-terms"),
    path("legal/privacy", pages.legal, {"document": "privacy"}, name="page-legal-privacy"),
]
