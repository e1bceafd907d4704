"""People, for the platform's operators (superusers). Association volunteers see the members of
their neighbourhoods through the memberships page, never the whole user table."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "display_name",
        "language",
        "is_staff",
        "is_superuser",
        "is_active",
        "is_assisted",
        "date_joined",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "is_assisted", "language", "groups"]
    search_fields = ["email", "display_name"]
    ordering = ["email"]
    filter_horizontal = ["groups", "user_permissions"]
    readonly_fields = ["date_joined", "last_login", "is_assisted"]
    fieldsets = [
        (None, {"fields": ["email", "display_name", "language", "home_address", "phone"]}),
        (
            _("Access"),
            {
                "fields": [
                    "is_active",
                    "is_assisted",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ]
            },
        ),
        (_("Dates"), {"fields": ["date_joined", "last_login"]}),
    ]
