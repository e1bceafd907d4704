from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PanelConfig(AppConfig):
    default = True
    name = "panel"
    label = "panel"
    verbose_name = _("Association panel")

    def ready(self) -> None:
        # Permissions exist once every app has migrated: the group is (re)built after migrate,
        # and after a test flush, from the rows Django creates for each model.
        post_migrate.connect(_staff_group_after_migrate, sender=self)


class VoisinageAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with the association's site as the default one."""

    default = False
    default_site = "panel.site.VoisinageAdminSite"


def _staff_group_after_migrate(using: str = "default", **kwargs: Any) -> None:
    from panel.staff import staff_group_sync

    staff_group_sync(using=using)
